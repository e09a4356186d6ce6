/**
 * Datums (RFC 7047 §5.1 <value>) <-> row values, guided by the column type.
 *
 * Row values (docs/architecture.md): integer -> number (bigint beyond 2^53),
 * real -> number, boolean, string, uuid -> its string; a column with min 1
 * max 1 holds the atom, min 0 max 1 the atom or undefined, other sets a
 * readonly array, maps a ReadonlyMap.
 *
 * Decoding is a hot path (a replica's initial dump decodes every column of
 * every row), so `columnCodec` picks a specialised decoder once per column,
 * and empty sets and maps share one frozen instance. A codec's string and
 * UUID atoms go through adaptive interners (intern.ts), so that a replica
 * keeps one copy of each repeated string.
 */
import { OvsdbDecodeError } from '../errors.js';
import type { AtomicType, BaseType, ColumnType } from './schema.js';
import { Interner, KeyedInterner } from './intern.js';
import { isUuid, type WireAtom, type WireValue } from './notation.js';

export type Atom = string | number | bigint | boolean;
export type RowValue = Atom | undefined | readonly Atom[] | ReadonlyMap<Atom, Atom>;

/**
 * How a column's values are represented, decided by min/max/value:
 * - `scalar`: min 1 max 1, no value -> the atom
 * - `optional`: min 0 max 1, no value -> the atom or undefined
 * - `set`: max > 1, no value -> readonly Atom[]
 * - `map`: has a value type -> ReadonlyMap<Atom, Atom>
 */
export type ColumnKind = 'scalar' | 'optional' | 'set' | 'map';

export type ValueDecoder = (wire: unknown) => RowValue;

/** Everything the replica needs to decode and default one column, built once. */
export interface ColumnCodec {
  readonly name: string;
  readonly type: ColumnType;
  readonly kind: ColumnKind;
  /** A full <value> (insert, initial, RFC 7047 `new`), cardinality checked. */
  readonly decode: ValueDecoder;
  /**
   * An update2 `modify` difference (ovsdb-server(7) §4.1.14): for scalar and
   * optional columns the new value; for sets the elements to toggle; for maps
   * the pairs to add, remove or change. No cardinality check.
   */
  readonly decodeDiff: ValueDecoder;
  /** The value of a column omitted from an update2 row (it holds its default). */
  readonly defaultValue: RowValue;
}

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
export const EMPTY_SET: readonly Atom[] = Object.freeze([]);

/**
 * A Map whose writers throw, shared by every empty map column. A plain Map
 * instance (not a subclass), so it compares equal to `new Map()` everywhere.
 */
function frozenMap<K, V>(entries: readonly (readonly [K, V])[] = []): ReadonlyMap<K, V> {
  const m = new Map<K, V>(entries);
  const refuse = (): never => {
    throw new TypeError('this map is shared and read-only');
  };
  for (const method of ['set', 'delete', 'clear'])
    Object.defineProperty(m, method, { value: refuse, enumerable: false });
  return Object.freeze(m);
}
export const EMPTY_MAP: ReadonlyMap<Atom, Atom> = frozenMap();

export function columnKind(type: ColumnType): ColumnKind {
  if (type.value !== undefined) return 'map';
  if (type.max === 1) return type.min === 1 ? 'scalar' : 'optional';
  return 'set';
}

export function columnCodec(table: string, name: string, type: ColumnType): ColumnCodec {
  const where = `${table}.${name}`;
  const kind = columnKind(type);
  const interners = columnInterners(type);
  const decode = valueDecoder(type, kind, where, true, interners);
  return Object.freeze({
    name,
    type,
    kind,
    decode,
    decodeDiff: kind === 'set' || kind === 'map' ? valueDecoder(type, kind, where, false, interners) : decode,
    defaultValue: defaultValue(type),
  });
}

/** Decodes one <value> for a column; `where` names it in errors ("Table.column"). */
export function decodeValue(wire: unknown, type: ColumnType, where: string): RowValue {
  return valueDecoder(type, columnKind(type), where, true, NO_INTERNERS)(wire);
}

/** The default of a column type (RFC 7047 §5.2.1, used by insert and update2). */
export function defaultValue(type: ColumnType): RowValue {
  const kind = columnKind(type);
  if (kind === 'scalar') return defaultAtom(type.key.type);
  if (kind === 'optional') return undefined;
  if (type.min === 0) return kind === 'map' ? EMPTY_MAP : EMPTY_SET;
  return kind === 'map'
    ? frozenMap([[defaultAtom(type.key.type), defaultAtom(type.value!.type)]])
    : Object.freeze([defaultAtom(type.key.type)]);
}

function defaultAtom(type: AtomicType): Atom {
  switch (type) {
    case 'integer':
    case 'real':
      return 0;
    case 'boolean':
      return false;
    case 'string':
      return '';
    case 'uuid':
      return ZERO_UUID;
  }
}

/** One column's interners: its keys (or atoms), and its map values (per key when both are strings). */
interface ColumnInterners {
  readonly key: Interner | undefined;
  readonly value: Interner | undefined;
  readonly valueByKey: KeyedInterner | undefined;
}

/** For one-off decoding (decodeValue), where a table would not pay off. */
const NO_INTERNERS: ColumnInterners = { key: undefined, value: undefined, valueByKey: undefined };

const internable = (t: AtomicType): boolean => t === 'string' || t === 'uuid';

function columnInterners(type: ColumnType): ColumnInterners {
  const key = internable(type.key.type) ? new Interner() : undefined;
  const v = type.value?.type;
  const byKey = v === 'string' && type.key.type === 'string';
  return {
    key,
    value: v !== undefined && internable(v) && !byKey ? new Interner() : undefined,
    valueByKey: byKey ? new KeyedInterner() : undefined,
  };
}

function valueDecoder(
  type: ColumnType,
  kind: ColumnKind,
  where: string,
  full: boolean,
  interners: ColumnInterners,
): ValueDecoder {
  const atom = atomDecoder(type.key, where, interners.key);
  const max = full && type.max !== 'unlimited' ? type.max : Infinity;
  const min = full ? type.min : 0;
  switch (kind) {
    case 'scalar':
      return (w) => (isSetForm(w, where) ? onlyAtom(w, atom, where, false) : atom(w));
    case 'optional':
      return (w) => (isSetForm(w, where) ? onlyAtom(w, atom, where, true) : atom(w));
    case 'set':
      return (w) => {
        if (!isSetForm(w, where)) return [atom(w)]; // a one-element set may be the bare atom (§5.1)
        const elems = w[1];
        const n = elems.length;
        if (n < min || n > max) throw cardinality(where, n, type);
        if (n === 0) return EMPTY_SET;
        const out = new Array<Atom>(n);
        for (let i = 0; i < n; i++) out[i] = atom(elems[i]);
        return out;
      };
    case 'map': {
      const value = atomDecoder(type.value!, where, interners.value);
      const byKey = interners.valueByKey;
      return (w) => {
        if (!Array.isArray(w) || w.length !== 2 || w[0] !== 'map' || !Array.isArray(w[1]))
          throw bad(where, 'a map ["map", [[key, value], ...]]', w);
        const pairs = w[1] as unknown[];
        const n = pairs.length;
        if (n < min || n > max) throw cardinality(where, n, type);
        if (n === 0) return EMPTY_MAP;
        const out = new Map<Atom, Atom>();
        for (let i = 0; i < n; i++) {
          const pair = pairs[i];
          if (!Array.isArray(pair) || pair.length !== 2) throw bad(where, 'a [key, value] pair', pair);
          const k = atom(pair[0]);
          const v = value(pair[1]);
          // byKey is set only for string -> string maps.
          out.set(k, byKey === undefined ? v : byKey.intern(k as string, v as string));
        }
        if (out.size !== n) throw new OvsdbDecodeError(where, 'duplicate key in map');
        return out;
      };
    }
  }
}

function isSetForm(w: unknown, where: string): w is ['set', unknown[]] {
  if (!Array.isArray(w) || w[0] !== 'set') return false;
  if (w.length !== 2 || !Array.isArray(w[1])) throw bad(where, '["set", [atoms]]', w);
  return true;
}

function onlyAtom(
  w: ['set', unknown[]],
  atom: (w: unknown) => Atom,
  where: string,
  optional: boolean,
): Atom | undefined {
  const elems = w[1];
  if (elems.length === 1) return atom(elems[0]);
  if (elems.length === 0 && optional) return undefined;
  throw new OvsdbDecodeError(
    where,
    `expected ${optional ? 'at most' : 'exactly'} one element, got ${elems.length}`,
  );
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * One decoder per base type; the result is a primitive, so no allocation.
 * Strings and UUIDs go through `interner` when given.
 */
function atomDecoder(base: BaseType, where: string, interner?: Interner): (w: unknown) => Atom {
  switch (base.type) {
    case 'integer':
      return (w) => {
        if (typeof w === 'number' && Number.isInteger(w)) return w;
        // parseJsonExact yields bigint only beyond 2^53, but callers may not.
        if (typeof w === 'bigint') return w > MAX_SAFE || w < -MAX_SAFE ? w : Number(w);
        throw bad(where, 'an integer', w);
      };
    case 'real':
      return (w) => {
        if (typeof w === 'number') return w;
        if (typeof w === 'bigint') return Number(w);
        throw bad(where, 'a real', w);
      };
    case 'boolean':
      return (w) => {
        if (typeof w === 'boolean') return w;
        throw bad(where, 'a boolean', w);
      };
    case 'string':
      if (interner !== undefined)
        return (w) => {
          if (typeof w === 'string') return interner.intern(w);
          throw bad(where, 'a string', w);
        };
      return (w) => {
        if (typeof w === 'string') return w;
        throw bad(where, 'a string', w);
      };
    case 'uuid':
      return (w) => {
        if (Array.isArray(w) && w.length === 2 && w[0] === 'uuid' && isUuid(w[1]))
          return interner === undefined ? w[1] : interner.intern(w[1]);
        throw bad(where, 'a uuid ["uuid", "<uuid>"]', w);
      };
  }
}

/** Encodes a row value back to a <value> (RFC 7047 §5.1) for `type`. */
export function encodeValue(value: RowValue, type: ColumnType, where = 'value'): WireValue {
  const kind = columnKind(type);
  const key = type.key.type;
  switch (kind) {
    case 'scalar':
      return encodeAtom(value, key, where);
    case 'optional':
      return value === undefined ? ['set', []] : encodeAtom(value, key, where);
    case 'set': {
      if (!Array.isArray(value)) throw bad(where, 'an array for a set column', value);
      return ['set', (value as readonly Atom[]).map((a) => encodeAtom(a, key, where))];
    }
    case 'map': {
      if (!(value instanceof Map)) throw bad(where, 'a Map for a map column', value);
      const valueType = type.value!.type;
      const pairs: [WireAtom, WireAtom][] = [];
      for (const [k, v] of value as ReadonlyMap<Atom, Atom>)
        pairs.push([encodeAtom(k, key, where), encodeAtom(v, valueType, where)]);
      return ['map', pairs];
    }
  }
}

function encodeAtom(a: unknown, type: AtomicType, where: string): WireAtom {
  switch (type) {
    case 'integer':
      if ((typeof a === 'number' && Number.isInteger(a)) || typeof a === 'bigint') return a;
      break;
    case 'real':
      if (typeof a === 'number' && Number.isFinite(a)) return a;
      break;
    case 'boolean':
      if (typeof a === 'boolean') return a;
      break;
    case 'string':
      if (typeof a === 'string') return a;
      break;
    case 'uuid':
      if (isUuid(a)) return ['uuid', a];
      break;
  }
  throw bad(where, `a ${type}`, a);
}

/** Equality of row values: sets compare as sets (order-free), maps by entries. */
export function valuesEqual(a: RowValue, b: RowValue): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && setsEqual(a, b);
  if (a instanceof Map) return b instanceof Map && mapsEqual(a, b);
  return false;
}

function setsEqual(a: readonly Atom[], b: readonly Atom[]): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  let inOrder = true;
  for (let i = 0; i < n && inOrder; i++) inOrder = a[i] === b[i];
  if (inOrder) return true;
  // Sets hold no duplicates, so equal sizes plus inclusion means equality.
  if (n <= 8) return a.every((x) => b.includes(x));
  const seen = new Set(b);
  return a.every((x) => seen.has(x));
}

function mapsEqual(a: ReadonlyMap<Atom, Atom>, b: ReadonlyMap<Atom, Atom>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w !== v || (w === undefined && !b.has(k))) return false;
  }
  return true;
}

function cardinality(where: string, n: number, type: ColumnType): OvsdbDecodeError {
  return new OvsdbDecodeError(where, `${n} elements, outside min ${type.min} max ${type.max}`);
}

function bad(where: string, expected: string, got: unknown): OvsdbDecodeError {
  return new OvsdbDecodeError(where, `expected ${expected}, got ${preview(got)}`);
}

function preview(v: unknown): string {
  if (typeof v === 'bigint') return `${v}`;
  if (v === undefined) return 'nothing';
  let s: string;
  try {
    s = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}` : x)) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
