// The ini dialect of oslo.config (oslo_config/iniparser.py), which is what
// neutron reads. We parse it ourselves rather than with the `ini` package
// because `ini` reads the same text differently, and silently:
//   - it cuts values at an unquoted `;` or `#` (oslo keeps them: a shared
//     secret `s3cr#t` would become `s3cr`, and nova would answer 403),
//   - it turns `true`/`false`/`null` into JSON values and `key[]` into arrays,
//   - it knows no `key: value`, no continuation lines, and nests `[a.b]`.
// The rules, as oslo has them:
//   - lines are right-trimmed; a blank line ends a multi-line value;
//   - `#` or `;` at column 0 starts a comment (anywhere else it is data);
//   - `[name]` opens a section; names other than DEFAULT are lower-cased
//     (oslo `_normalize_group_name`), so [OVN] is [ovn];
//   - `key = value` or `key: value`, split at whichever of `=`/`:` comes
//     first; key and value trimmed; one pair of matching quotes around the
//     whole value is removed (no escapes inside);
//   - a line starting with a space or tab continues the previous value,
//     joined with a newline;
//   - an assignment before the first section header is an error;
//   - a key repeated in a section: the last one wins (for the single-valued
//     options we have).

export interface IniValue {
  readonly value: string;
  /** 1-based line of the key. */
  readonly line: number;
}

/** section -> option -> value; sections and options in file order. */
export type IniFile = ReadonlyMap<string, ReadonlyMap<string, IniValue>>;

/** A line oslo would reject; the caller names the file. */
export class IniSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = 'IniSyntaxError';
  }
}

function normalizeSection(name: string): string {
  return name === 'DEFAULT' ? name : name.toLowerCase();
}

function splitAssignment(text: string, line: number): [string, string] {
  const equal = text.indexOf('=');
  const colon = text.indexOf(':');
  if (equal < 0 && colon < 0) throw new IniSyntaxError(line, "no '=' or ':' in an assignment");
  const at = colon < 0 || (equal >= 0 && equal < colon) ? equal : colon;
  const key = text.slice(0, at).trim();
  if (key === '') throw new IniSyntaxError(line, 'empty key');
  let value = text.slice(at + 1).trim();
  const first = value[0];
  if (value.length >= 2 && (first === '"' || first === "'") && value.endsWith(first))
    value = value.slice(1, -1);
  return [key, value];
}

/**
 * Parses one file's text. Throws IniSyntaxError for what oslo rejects
 * (assignment without separator or before any section, empty key,
 * continuation with no key, unterminated or empty section header). Error messages never quote the
 * offending line: it may hold a secret.
 */
export function parseOsloIni(text: string): IniFile {
  const sections = new Map<string, Map<string, IniValue>>();
  let current: Map<string, IniValue> | undefined;
  // The assignment being built; flushed at a blank line or the next key.
  let pending: { key: string; parts: string[]; line: number } | undefined;

  const flush = (): void => {
    if (pending === undefined) return;
    if (current === undefined) throw new IniSyntaxError(pending.line, 'assignment before any [section]');
    // delete first so a repeated key moves to its last position.
    current.delete(pending.key);
    current.set(pending.key, { value: pending.parts.join('\n'), line: pending.line });
    pending = undefined;
  };

  // A UTF-8 byte order mark (editors on other systems write one) is not text.
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = (lines[i] as string).trimEnd();
    if (line === '') {
      flush();
      continue;
    }
    const head = line[0];
    if (head === ' ' || head === '\t') {
      if (pending === undefined)
        throw new IniSyntaxError(lineNo, 'continuation line without a key before it');
      pending.parts.push(line.trimStart());
      continue;
    }
    flush();
    if (head === '[') {
      if (!line.endsWith(']')) throw new IniSyntaxError(lineNo, 'section header does not end with ]');
      if (line.length <= 2) throw new IniSyntaxError(lineNo, 'empty section name');
      const name = normalizeSection(line.slice(1, -1));
      current = sections.get(name);
      if (current === undefined) sections.set(name, (current = new Map()));
    } else if (head === '#' || head === ';') {
      continue;
    } else {
      const [key, value] = splitAssignment(line, lineNo);
      pending = { key, parts: [value], line: lineNo };
    }
  }
  flush();
  return sections;
}
