// Keeping secrets out of logs. The loaded config is frozen, and each of its
// objects (root and sections) has a prototype whose toJSON, toString and
// util.inspect hook print sensitive options masked: JSON.stringify(config),
// pino, console.log and template strings never show the shared secret. Code
// that needs the secret reads the property itself. Spreading a section
// (`{ ...config.DEFAULT }`) drops the prototype: log `redactedConfig()`.
import { inspect } from 'node:util';
import type { ValueSource } from './errors.js';
import { optionEntries, type AgentConfig, type SectionName } from './schema.js';

/** Shown instead of a sensitive value that is set (empty stays empty: "no secret" is worth seeing). */
export const REDACTED = '***';

const sensitive = new Map<string, ReadonlySet<string>>();
for (const { section, option, spec } of optionEntries) {
  if (!spec.sensitive) continue;
  const set = (sensitive.get(section) as Set<string> | undefined) ?? new Set<string>();
  set.add(option);
  sensitive.set(section, set);
}

function redactSection(section: string, values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const masked = sensitive.get(section);
  const out: Record<string, unknown> = {};
  for (const [option, value] of Object.entries(values)) {
    out[option] = masked?.has(option) && value !== '' ? REDACTED : value;
  }
  return out;
}

/** A plain, JSON-safe copy of the config with sensitive options masked; for logs. */
export function redactedConfig(config: AgentConfig): Record<SectionName, Record<string, unknown>> {
  const out = {} as Record<SectionName, Record<string, unknown>>;
  for (const [section, values] of Object.entries(config) as [SectionName, Record<string, unknown>][]) {
    out[section] = redactSection(section, values);
  }
  return out;
}

function maskingPrototype(render: (self: object) => Record<string, unknown>): object {
  return Object.freeze({
    toJSON(this: object) {
      return render(this);
    },
    toString(this: object) {
      return JSON.stringify(render(this));
    },
    [inspect.custom](this: object, _depth: number, options: object) {
      return inspect(render(this), options);
    },
  });
}

const sectionPrototypes = new Map<string, object>();
const rootPrototype = maskingPrototype((self) => redactedConfig(self as AgentConfig));
const sources = new WeakMap<AgentConfig, ReadonlyMap<string, ValueSource>>();

/** Freezes loaded values into an AgentConfig that masks itself; records sources. */
export function freezeConfig(values: AgentConfig, origin: ReadonlyMap<string, ValueSource>): AgentConfig {
  const root = Object.create(rootPrototype) as Record<string, unknown>;
  for (const [section, options] of Object.entries(values)) {
    let proto = sectionPrototypes.get(section);
    if (proto === undefined) {
      proto = maskingPrototype((self) => redactSection(section, self as Record<string, unknown>));
      sectionPrototypes.set(section, proto);
    }
    for (const value of Object.values(options as object)) if (typeof value === 'object') Object.freeze(value);
    root[section] = Object.freeze(Object.assign(Object.create(proto) as object, options));
  }
  const config = Object.freeze(root) as unknown as AgentConfig;
  sources.set(config, origin);
  return config;
}

/**
 * Where an option's value came from: the default, a file and line, or an
 * environment variable. The agent uses it to tell "[ovn] ovn_sb_connection
 * left at its default" (then it may use ovn-remote from the OVS db) from a
 * value an operator wrote.
 */
export function optionSource<S extends SectionName>(
  config: AgentConfig,
  section: S,
  option: keyof AgentConfig[S] & string,
): ValueSource {
  const found = sources.get(config)?.get(`${section}\u0000${option}`);
  if (found === undefined) throw new Error(`[${section}] ${option} is not an option of this config`);
  return found;
}
