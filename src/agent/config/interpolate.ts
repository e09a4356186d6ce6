// oslo.config's `$var` substitution (ConfigOpts._substitute, StrSubWrapper):
// every value, defaults included, is a Python string.Template read with
// safe_substitute before it is converted to its type.
//   - `$name` and `${name}`: names match [_a-z][._a-z0-9]* (case-insensitive);
//     `$group.opt` reads another section, `$opt` reads the option's own
//     section and then [DEFAULT];
//   - `$$` is a literal `$`; oslo also reads `\$` as `$$`;
//   - a `$` not followed by a name is left as written;
//   - a name that matches no option is an error (oslo raises NoSuchOptError).

/** Why a substitution failed; `expected` completes "<option> = … : ". */
export class SubstitutionError extends Error {
  constructor(readonly expected: string) {
    super(expected);
    this.name = 'SubstitutionError';
  }
}

/**
 * Returns the substituted text of another option, or undefined when no such
 * option exists. It substitutes recursively, through `substitute` itself.
 */
export type Lookup = (section: string, option: string) => string | undefined;

// string.Template.pattern with oslo's idpattern; flags re.IGNORECASE.
const TEMPLATE = /\$(?:(\$)|([_a-z][._a-z0-9]*)|\{([_a-z][._a-z0-9]*)\})/gi;

/** Resolves a reference the way StrSubWrapper.__getitem__ does. */
function resolve(name: string, section: string, lookup: Lookup): string | undefined {
  const dot = name.indexOf('.');
  const own = dot < 0 ? lookup(section, name) : lookup(name.slice(0, dot), name.slice(dot + 1));
  return own ?? lookup('DEFAULT', name);
}

/** Substitutes `text`, the value of an option of `section`. */
export function substitute(text: string, section: string, lookup: Lookup): string {
  if (!text.includes('$')) return text;
  const template = text.replaceAll('\\$', '$$$$');
  return template.replace(TEMPLATE, (_whole: string, dollar?: string, bare?: string, braced?: string) => {
    if (dollar !== undefined) return '$';
    const name = (bare ?? braced) as string;
    const value = resolve(name, section, lookup);
    if (value === undefined) throw new SubstitutionError(`$${name} does not name an option`);
    return value;
  });
}
