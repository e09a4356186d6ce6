// Value formats of the agent's options, parsed the way oslo.config parses
// them (oslo_config/types.py), so a file neutron accepts means the same here.
//
// Each format turns the raw text of an ini value (already `$var`-substituted)
// into a typed value, or throws OptionValueError whose message completes the
// sentence "<option> = <value> in <file>: ..." ("must be a port number
// (1-65535)"). `validate` re-checks a typed value; convict runs it over the
// defaults and over the loaded values as a last guard.

import { formatHostPort } from '../../common/address.js';

/** Thrown by a format; `expected` completes "…: " in the caller's message. */
export class OptionValueError extends Error {
  constructor(readonly expected: string) {
    super(expected);
    this.name = 'OptionValueError';
  }
}

/** The constraints an option may put on its format. */
export interface Constraints {
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly (string | number)[];
}

export interface OptionFormat<T> {
  readonly name: FormatName;
  /** What a valid value looks like, for errors and docs ("must be …"). */
  expected(c: Constraints): string;
  parse(raw: string, c: Constraints): T;
  validate(value: unknown, c: Constraints): void;
  /** How the docs print a value of this format. */
  display(value: T): string;
}

export type FormatName =
  | 'oslo-string'
  | 'oslo-bool'
  | 'oslo-int'
  | 'oslo-optional-int'
  | 'oslo-port'
  | 'oslo-choice'
  | 'oslo-int-list'
  | 'oslo-string-list'
  | 'seconds'
  | 'host-port';

/** `host:port`, `[v6]:port`; `null` when the option is empty (disabled). */
export type HostPort = { readonly host: string; readonly port: number } | null;

// oslo_config/types.py Boolean: case-insensitive, surrounding space ignored.
const TRUE = new Set(['true', '1', 'on', 'yes']);
const FALSE = new Set(['false', '0', 'off', 'no']);

// oslo Integer calls int(value.strip()): optional sign, decimal digits. We do
// not take Python's `1_000` form, which no one writes in a config file.
const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)$/;

function rangeText(c: Constraints): string {
  if (c.min !== undefined && c.max !== undefined) return ` (${c.min}-${c.max})`;
  if (c.min !== undefined) return ` >= ${c.min}`;
  if (c.max !== undefined) return ` <= ${c.max}`;
  return '';
}

function checkInteger(value: unknown, c: Constraints, expected: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new OptionValueError(expected);
  if ((c.min !== undefined && value < c.min) || (c.max !== undefined && value > c.max)) {
    throw new OptionValueError(expected);
  }
  return value;
}

function parseInteger(raw: string, c: Constraints, expected: string): number {
  const text = raw.trim();
  if (!INTEGER.test(text)) throw new OptionValueError(expected);
  return checkInteger(Number(text), c, expected);
}

const string: OptionFormat<string> = {
  name: 'oslo-string',
  expected: () => 'must be a string',
  // oslo String keeps the value as written; the ini parser already trimmed it.
  parse: (raw) => raw,
  validate(value) {
    if (typeof value !== 'string') throw new OptionValueError('must be a string');
  },
  display: (v) => v,
};

const bool: OptionFormat<boolean> = {
  name: 'oslo-bool',
  expected: () => 'must be a boolean (true/false, yes/no, on/off, 1/0)',
  parse(raw, c) {
    const word = raw.trim().toLowerCase();
    if (TRUE.has(word)) return true;
    if (FALSE.has(word)) return false;
    throw new OptionValueError(bool.expected(c));
  },
  validate(value, c) {
    if (typeof value !== 'boolean') throw new OptionValueError(bool.expected(c));
  },
  display: (v) => String(v),
};

const int: OptionFormat<number> = {
  name: 'oslo-int',
  expected: (c) => `must be an integer${rangeText(c)}`,
  parse: (raw, c) => parseInteger(raw, c, int.expected(c)),
  validate: (value, c) => void checkInteger(value, c, int.expected(c)),
  display: (v) => String(v),
};

/** An integer that may be left empty (oslo: an IntOpt whose default is None). */
const optionalInt: OptionFormat<number | null> = {
  name: 'oslo-optional-int',
  expected: (c) => `must be an integer${rangeText(c)} or empty`,
  parse: (raw, c) => (raw.trim() === '' ? null : parseInteger(raw, c, optionalInt.expected(c))),
  validate(value, c) {
    if (value !== null) checkInteger(value, c, optionalInt.expected(c));
  },
  display: (v) => (v === null ? '' : String(v)),
};

const PORT_RANGE = { min: 1, max: 65535 } as const;
const port: OptionFormat<number> = {
  name: 'oslo-port',
  expected: () => 'must be a port number (1-65535)',
  parse: (raw) => parseInteger(raw, PORT_RANGE, port.expected(PORT_RANGE)),
  validate: (value) => void checkInteger(value, PORT_RANGE, port.expected(PORT_RANGE)),
  display: (v) => String(v),
};

function choicesText(c: Constraints): string {
  return (c.choices ?? []).join(', ');
}

/** oslo StrOpt with `choices`: exact, case-sensitive match. */
const choice: OptionFormat<string> = {
  name: 'oslo-choice',
  expected: (c) => `must be one of: ${choicesText(c)}`,
  parse(raw, c) {
    const word = raw.trim();
    if (!(c.choices ?? []).includes(word)) throw new OptionValueError(choice.expected(c));
    return word;
  },
  validate(value, c) {
    if (typeof value !== 'string' || !(c.choices ?? []).includes(value)) {
      throw new OptionValueError(choice.expected(c));
    }
  },
  display: (v) => v,
};

/** oslo ListOpt(): comma-separated strings, each stripped; empty text is []. */
const stringList: OptionFormat<readonly string[]> = {
  name: 'oslo-string-list',
  expected: () => 'must be a comma-separated list',
  parse: (raw) =>
    raw.trim() === ''
      ? []
      : raw
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item !== ''),
  validate(value) {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
      throw new OptionValueError('must be a comma-separated list');
  },
  display: (v) => v.join(','),
};

/** oslo ListOpt(item_type=Integer(choices=…)): comma-separated, not empty. */
const intList: OptionFormat<readonly number[]> = {
  name: 'oslo-int-list',
  expected: (c) => `must be a comma-separated list of ${(c.choices ?? []).join(' and ')}`,
  parse(raw, c) {
    const expected = intList.expected(c);
    const items = raw.split(',').map((item) => item.trim());
    if (items.length === 0 || items.some((item) => !INTEGER.test(item))) throw new OptionValueError(expected);
    const values = [...new Set(items.map(Number))];
    intList.validate(values, c);
    return values;
  },
  validate(value, c) {
    const expected = intList.expected(c);
    if (!Array.isArray(value) || value.length === 0) throw new OptionValueError(expected);
    for (const item of value) {
      if (typeof item !== 'number' || !(c.choices ?? []).includes(item)) throw new OptionValueError(expected);
    }
  },
  display: (v) => v.join(','),
};

/** A duration in seconds, fractions allowed; strictly positive. */
const seconds: OptionFormat<number> = {
  name: 'seconds',
  expected: () => 'must be a number of seconds greater than 0',
  parse(raw, c) {
    const text = raw.trim();
    if (!DECIMAL.test(text)) throw new OptionValueError(seconds.expected(c));
    const value = Number(text);
    seconds.validate(value, c);
    return value;
  },
  validate(value, c) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new OptionValueError(seconds.expected(c));
    }
  },
  display: (v) => String(v),
};

// `host:port` or `[v6]:port`. The host is not resolved here: that is the
// listener's business, and a name that resolves later is still valid.
const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d+)$/;

const hostPort: OptionFormat<HostPort> = {
  name: 'host-port',
  expected: () => 'must be host:port or [ipv6]:port (port 1-65535), or empty to disable',
  parse(raw, c) {
    const text = raw.trim();
    if (text === '') return null;
    const match = HOST_PORT.exec(text);
    if (!match) throw new OptionValueError(hostPort.expected(c));
    const value = { host: (match[1] ?? match[2]) as string, port: Number(match[3]) };
    hostPort.validate(value, c);
    return value;
  },
  validate(value, c) {
    if (value === null) return;
    const v = value as { host?: unknown; port?: unknown };
    if (typeof v.host !== 'string' || v.host === '') throw new OptionValueError(hostPort.expected(c));
    checkInteger(v.port, PORT_RANGE, hostPort.expected(c));
  },
  display: (v) => (v === null ? '' : formatHostPort(v.host, v.port)),
};

export const formats: { readonly [N in FormatName]: OptionFormat<unknown> } = {
  'oslo-string': string,
  'oslo-bool': bool,
  'oslo-int': int,
  'oslo-optional-int': optionalInt,
  'oslo-port': port,
  'oslo-choice': choice,
  'oslo-int-list': intList,
  'oslo-string-list': stringList,
  seconds,
  'host-port': hostPort,
};
