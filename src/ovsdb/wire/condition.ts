/**
 * Conditions (RFC 7047 §5.1 <condition>; the boolean forms are from
 * ovsdb-server(7) §4.1.12): `[column, function, value]`, `true` or `false`.
 * Builders for callers, and a schema check so that a bad condition fails here,
 * named, rather than as an opaque server error or an empty monitor.
 */
import { OvsdbConditionError, OvsdbUnknownColumnError, OvsdbUnknownTableError } from '../errors.js';
import { columnKind } from './datum.js';
import { isUuid, ID_PATTERN, type WireValue } from './notation.js';
import type { AtomicType, ColumnType, DatabaseSchema } from './schema.js';

export type ConditionFunction = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'includes' | 'excludes';
export type WireCondition = readonly [column: string, fn: ConditionFunction, value: WireValue] | boolean;

export const CONDITION_FUNCTIONS: ReadonlySet<string> = new Set<ConditionFunction>([
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'includes',
  'excludes',
]);
const ORDERING: ReadonlySet<string> = new Set(['<', '<=', '>', '>=']);

/** `[column, fn, value]`, checking that `fn` is an RFC 7047 §5.1 function. */
export function condition(column: string, fn: ConditionFunction, value: WireValue): WireCondition {
  if (!CONDITION_FUNCTIONS.has(fn))
    throw new OvsdbConditionError(column, `unknown function ${JSON.stringify(fn)}`);
  return [column, fn, value];
}

export const eq = (column: string, value: WireValue): WireCondition => [column, '==', value];
export const ne = (column: string, value: WireValue): WireCondition => [column, '!=', value];
export const lt = (column: string, value: WireValue): WireCondition => [column, '<', value];
export const le = (column: string, value: WireValue): WireCondition => [column, '<=', value];
export const gt = (column: string, value: WireValue): WireCondition => [column, '>', value];
export const ge = (column: string, value: WireValue): WireCondition => [column, '>=', value];
export const includes = (column: string, value: WireValue): WireCondition => [column, 'includes', value];
export const excludes = (column: string, value: WireValue): WireCondition => [column, 'excludes', value];
/** The conditions that every row, and no row, satisfies. */
export const ALL_ROWS: WireCondition = true;
export const NO_ROWS: WireCondition = false;

/**
 * Checks `where` against the table's schema (RFC 7047 §5.1): the column
 * exists, the function suits its type (ordering only on scalar integer and
 * real columns), and the value's atoms have the column's types (a
 * `named-uuid` is allowed, as inside a transaction). Throws
 * OVSDB_UNKNOWN_TABLE, OVSDB_UNKNOWN_COLUMN or OVSDB_BAD_CONDITION.
 */
export function validateConditions(
  schema: DatabaseSchema,
  table: string,
  where: readonly WireCondition[],
): void {
  const t = schema.tables.get(table);
  if (t === undefined) throw new OvsdbUnknownTableError(table);
  for (const cond of where) {
    if (typeof cond === 'boolean') continue;
    if (!Array.isArray(cond) || cond.length !== 3 || typeof cond[0] !== 'string')
      throw new OvsdbConditionError(table, `not [column, function, value]: ${JSON.stringify(cond)}`);
    const [column, fn, value] = cond;
    const type = t.columns.get(column);
    if (type === undefined) throw new OvsdbUnknownColumnError(table, column);
    const where = `${table}.${column}`;
    if (!CONDITION_FUNCTIONS.has(fn))
      throw new OvsdbConditionError(where, `unknown function ${JSON.stringify(fn)}`);
    if (
      ORDERING.has(fn) &&
      !(columnKind(type) === 'scalar' && (type.key.type === 'integer' || type.key.type === 'real'))
    )
      throw new OvsdbConditionError(where, `"${fn}" applies only to scalar integer and real columns`);
    checkValue(value, type, where);
  }
}

function checkValue(value: unknown, type: ColumnType, where: string): void {
  if (type.value !== undefined) {
    if (!Array.isArray(value) || value[0] !== 'map' || !Array.isArray(value[1]))
      throw new OvsdbConditionError(where, 'value must be a map ["map", [[key, value], ...]]');
    for (const pair of value[1] as unknown[]) {
      if (!Array.isArray(pair) || pair.length !== 2)
        throw new OvsdbConditionError(where, 'map entry is not a pair');
      checkAtom(pair[0], type.key.type, where);
      checkAtom(pair[1], type.value.type, where);
    }
    return;
  }
  if (Array.isArray(value) && value[0] === 'set') {
    if (!Array.isArray(value[1])) throw new OvsdbConditionError(where, 'set must be ["set", [atoms]]');
    for (const a of value[1] as unknown[]) checkAtom(a, type.key.type, where);
    return;
  }
  checkAtom(value, type.key.type, where);
}

function checkAtom(a: unknown, type: AtomicType, where: string): void {
  let ok: boolean;
  switch (type) {
    case 'integer':
      ok = (typeof a === 'number' && Number.isInteger(a)) || typeof a === 'bigint';
      break;
    case 'real':
      ok = typeof a === 'number' || typeof a === 'bigint';
      break;
    case 'boolean':
    case 'string':
      ok = typeof a === type;
      break;
    case 'uuid':
      ok =
        Array.isArray(a) &&
        a.length === 2 &&
        ((a[0] === 'uuid' && isUuid(a[1])) ||
          (a[0] === 'named-uuid' && typeof a[1] === 'string' && ID_PATTERN.test(a[1])));
      break;
  }
  if (!ok) throw new OvsdbConditionError(where, `value ${JSON.stringify(a, bigintSafe)} is not a ${type}`);
}

function bigintSafe(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}` : v;
}
