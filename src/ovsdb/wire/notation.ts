/**
 * RFC 7047 §5.1 JSON notation: the wire form of atoms, sets and maps, used in
 * conditions, mutations and operations. Values here are plain JSON data; the
 * schema-aware decoding into row values lives in datum.ts.
 */
import { OvsdbDecodeError } from '../errors.js';

/** `["uuid", "<uuid>"]`: a reference to an existing row (RFC 7047 §5.1). */
export type WireUuid = readonly ['uuid', string];
/** `["named-uuid", "<id>"]`: a row inserted earlier in the same transaction. */
export type WireNamedUuid = readonly ['named-uuid', string];
/** An <atom>. Integers beyond 2^53 travel as `bigint` (see json.ts). */
export type WireAtom = string | number | bigint | boolean | WireUuid | WireNamedUuid;
/** A <set>; a one-element set may also be written as the bare atom. */
export type WireSet = readonly ['set', readonly WireAtom[]];
/** A <map>: `["map", [[key, value], ...]]`. */
export type WireMap = readonly ['map', readonly (readonly [WireAtom, WireAtom])[]];
/** A <value>: an atom, a set or a map. */
export type WireValue = WireAtom | WireSet | WireMap;
/** A <row>: column name -> <value>. */
export type WireRow = { readonly [column: string]: WireValue };

/** The RFC 4122 text form, as ovsdb-server writes it (RFC 7047 §3.1 <uuid>). */
export const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** <id>: the form of a uuid-name and of table and column names (RFC 7047 §3.1). */
export const ID_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function isUuid(s: unknown): s is string {
  return typeof s === 'string' && s.length === 36 && UUID_PATTERN.test(s);
}

/** `["uuid", s]`; throws OVSDB_BAD_DATUM unless `s` is a UUID. */
export function uuid(s: string): WireUuid {
  if (!isUuid(s)) throw new OvsdbDecodeError('uuid()', `not a UUID: ${JSON.stringify(s)}`);
  return ['uuid', s];
}

/** `["named-uuid", name]`; throws OVSDB_BAD_DATUM unless `name` is an <id>. */
export function namedUuid(name: string): WireNamedUuid {
  if (!ID_PATTERN.test(name))
    throw new OvsdbDecodeError('namedUuid()', `not an <id>: ${JSON.stringify(name)}`);
  return ['named-uuid', name];
}

/** `["set", atoms]`. Always the set form, even for one element (unambiguous). */
export function set(atoms: Iterable<WireAtom>): WireSet {
  return ['set', Array.isArray(atoms) ? (atoms as WireAtom[]) : [...atoms]];
}

/** `["map", pairs]` from pairs, a Map, or a Record of string keys. */
export function map(
  entries:
    | Iterable<readonly [WireAtom, WireAtom]>
    | ReadonlyMap<WireAtom, WireAtom>
    | { readonly [key: string]: WireAtom },
): WireMap {
  if (Array.isArray(entries)) return ['map', entries as (readonly [WireAtom, WireAtom])[]];
  if (isIterable(entries)) return ['map', [...entries]];
  return ['map', Object.entries(entries)];
}

function isIterable(x: object): x is Iterable<readonly [WireAtom, WireAtom]> {
  return typeof (x as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}
