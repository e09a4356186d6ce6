// Loading: neutron's --config-file list (+ environment) -> a frozen AgentConfig.
//
// Precedence per option, highest first: its environment variable, the last
// file that sets it, the schema default. Then `$var` substitution (oslo), then
// parsing by the option's format. Unknown sections and options are ignored:
// neutron.conf holds hundreds of options that are not ours. Every bad value
// is reported, in one AgentConfigError.
import { readFile } from 'node:fs/promises';
import {
  AgentConfigError,
  AgentConfigFileNotFoundError,
  AgentConfigFileUnreadableError,
  AgentConfigSyntaxError,
  type ConfigProblem,
  type ValueSource,
} from './errors.js';
import { formats, OptionValueError } from './formats.js';
import { substitute, SubstitutionError } from './interpolate.js';
import { IniSyntaxError, parseOsloIni, type IniFile } from './oslo-ini.js';
import { freezeConfig } from './redact.js';
import { convictConfig, optionEntries, type AgentConfig, type OptionSpec } from './schema.js';

export interface LoadConfigOptions {
  /** --config-file paths, in command-line order (later files win). */
  readonly files: readonly string[];
  /** Environment for OVNMETA_* overrides; defaults to process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** A config file's name (for messages) and text. */
export interface ConfigText {
  readonly name: string;
  readonly text: string;
}

export async function loadConfig(options: LoadConfigOptions): Promise<AgentConfig> {
  const texts = await Promise.all(options.files.map(readConfigFile));
  return parseConfig(texts, options.env ?? process.env);
}

async function readConfigFile(file: string): Promise<ConfigText> {
  try {
    return { name: file, text: await readFile(file, 'utf8') };
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT')
      throw new AgentConfigFileNotFoundError(file, { cause });
    throw new AgentConfigFileUnreadableError(file, { cause });
  }
}

/** One raw value and where it came from. */
interface Raw {
  readonly text: string;
  readonly source: ValueSource;
}

const key = (section: string, option: string): string => `${section}\u0000${option}`;

/** Layers files (later wins per option); keeps unknown options for `$var`. */
function layerFiles(texts: readonly ConfigText[]): Map<string, Raw> {
  const raw = new Map<string, Raw>();
  for (const { name, text } of texts) {
    let ini: IniFile;
    try {
      ini = parseOsloIni(text);
    } catch (cause) {
      if (cause instanceof IniSyntaxError)
        throw new AgentConfigSyntaxError(name, cause.line, cause.reason, { cause });
      throw cause;
    }
    for (const [section, options] of ini) {
      for (const [option, { value, line }] of options) {
        raw.set(key(section, option), { text: value, source: { kind: 'file', file: name, line } });
      }
    }
  }
  return raw;
}

const specs = new Map<string, OptionSpec<unknown>>(
  optionEntries.map((e) => [key(e.section, e.option), e.spec]),
);

/**
 * Pure core of loadConfig: the same rules over texts already read. The demo
 * and tests use it without files.
 */
export function parseConfig(
  texts: readonly ConfigText[],
  env: Readonly<Record<string, string | undefined>> = {},
): AgentConfig {
  const raw = layerFiles(texts);
  for (const { section, option, spec } of optionEntries) {
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined)
      raw.set(key(section, option), { text: fromEnv, source: { kind: 'env', name: spec.env } });
  }

  // Substituted text of any option, memoised; `active` catches cycles.
  const substituted = new Map<string, string>();
  const active: string[] = [];
  const textOf = (section: string, option: string): string | undefined => {
    const k = key(section, option);
    const done = substituted.get(k);
    if (done !== undefined) return done;
    const spec = specs.get(k);
    const input = raw.get(k)?.text ?? (spec && formats[spec.format].display(spec.default));
    if (input === undefined) return undefined;
    if (active.includes(k)) {
      const loop = [...active.slice(active.indexOf(k)), k].map((a) => a.split('\u0000')[1]).join(' -> ');
      throw new SubstitutionError(`refers to itself through $ references (${loop})`);
    }
    active.push(k);
    try {
      const out = substitute(input, section, textOf);
      substituted.set(k, out);
      return out;
    } finally {
      active.pop();
    }
  };

  const problems: ConfigProblem[] = [];
  const values: Record<string, Record<string, unknown>> = {};
  const sources = new Map<string, ValueSource>();
  for (const { section, option, spec } of optionEntries) {
    const given = raw.get(key(section, option));
    const source: ValueSource = given?.source ?? { kind: 'default' };
    sources.set(key(section, option), source);
    let value: unknown = spec.default;
    // A default is typed already; only text (a file, env, or a `$` default)
    // goes through substitution and parsing.
    const needsParse =
      given !== undefined || (typeof spec.default === 'string' && spec.default.includes('$'));
    if (needsParse) {
      try {
        value = formats[spec.format].parse(textOf(section, option) as string, spec);
      } catch (err) {
        if (!(err instanceof OptionValueError || err instanceof SubstitutionError)) throw err;
        problems.push({
          section,
          option,
          source,
          // A secret's message must not carry its `$name` either.
          expected:
            spec.sensitive && err instanceof SubstitutionError
              ? 'has a $ reference to no option'
              : err.expected,
          raw: spec.sensitive ? undefined : (given?.text ?? String(spec.default)),
        });
      }
    }
    (values[section] ??= {})[option] = value;
  }
  if (problems.length > 0) throw new AgentConfigError(problems);

  // convict re-validates the typed result: a guard against a format that
  // parses into something its own validate refuses (a bug, not bad input).
  convictConfig()
    .load(values as Partial<AgentConfig>)
    .validate({ allowed: 'strict' });

  return freezeConfig(values as AgentConfig, sources);
}
