/**
 * Database schemas (RFC 7047 §3.2), parsed from a `get_schema` reply into
 * typed, immutable data. Parsing checks every part and names the failing
 * table and column; the decoders in datum.ts and the replica rely on the
 * result being well formed.
 */
import { OvsdbSchemaError } from '../errors.js';
import { ID_PATTERN, isUuid } from './notation.js';

export type AtomicType = 'integer' | 'real' | 'boolean' | 'string' | 'uuid';

/** <base-type> (RFC 7047 §3.2). Constraints absent from the schema are absent here. */
export interface BaseType {
  readonly type: AtomicType;
  /** The allowed atoms, from the <enum> <value> (a set or a bare atom). */
  readonly enum?: readonly (string | number | boolean)[];
  readonly minInteger?: number;
  readonly maxInteger?: number;
  readonly minReal?: number;
  readonly maxReal?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly refTable?: string;
  /** Only with refTable; RFC 7047 §3.2 default "strong". */
  readonly refType?: 'strong' | 'weak';
}

/** <type> (RFC 7047 §3.2): a set of `key` atoms, or a map when `value` is set. */
export interface ColumnType {
  readonly key: BaseType;
  readonly value?: BaseType;
  readonly min: number;
  readonly max: number | 'unlimited';
}

export interface TableSchema {
  readonly name: string;
  /** Includes the implicit `_uuid` and `_version` columns (RFC 7047 §3.2). */
  readonly columns: ReadonlyMap<string, ColumnType>;
  readonly isRoot: boolean;
  readonly maxRows?: number;
  readonly indexes: readonly (readonly string[])[];
}

export interface DatabaseSchema {
  readonly name: string;
  readonly version: string;
  readonly cksum?: string;
  readonly tables: ReadonlyMap<string, TableSchema>;
}

const ATOMIC_TYPES: ReadonlySet<string> = new Set(['integer', 'real', 'boolean', 'string', 'uuid']);
const VERSION_PATTERN = /^\d+\.\d+\.\d+$/;

const UUID_COLUMN: ColumnType = Object.freeze({
  key: Object.freeze({ type: 'uuid' as const }),
  min: 1,
  max: 1,
});

/** Parses a <database-schema>. Throws OVSDB_BAD_SCHEMA naming the bad part. */
export function parseSchema(json: unknown): DatabaseSchema {
  const db = object(json, 'database');
  const name = db.name;
  if (typeof name !== 'string' || !ID_PATTERN.test(name))
    throw new OvsdbSchemaError('database', 'bad "name"');
  // "version" is required by RFC 7047 §3.2; very old servers omit it.
  const version = db.version ?? '0.0.0';
  if (typeof version !== 'string' || !VERSION_PATTERN.test(version))
    throw new OvsdbSchemaError(name, `bad "version" ${JSON.stringify(version)}`);
  if (db.cksum !== undefined && typeof db.cksum !== 'string') throw new OvsdbSchemaError(name, 'bad "cksum"');

  const tablesJson = object(db.tables, `${name} "tables"`);
  const tables = new Map<string, TableSchema>();
  let anyRoot = false;
  for (const [tableName, tableJson] of Object.entries(tablesJson)) {
    const table = parseTable(tableName, tableJson);
    anyRoot ||= table.isRoot;
    tables.set(tableName, table);
  }
  // RFC 7047 §3.2 "isRoot": schemas that predate it name no root table;
  // ovsdb-server then treats every table as root (ovsdb/ovsdb.c).
  if (!anyRoot) for (const [n, t] of tables) tables.set(n, Object.freeze({ ...t, isRoot: true }));
  for (const table of tables.values()) checkReferences(table, tables);

  return Object.freeze({
    name,
    version,
    ...(db.cksum !== undefined ? { cksum: db.cksum } : {}),
    tables,
  });
}

/** The columns of `wanted` that `table` has, in `wanted` order (for older servers). */
export function columnsPresent(schema: DatabaseSchema, table: string, wanted: readonly string[]): string[] {
  const columns = schema.tables.get(table)?.columns;
  return columns === undefined ? [] : wanted.filter((c) => columns.has(c));
}

function parseTable(name: string, json: unknown): TableSchema {
  if (!ID_PATTERN.test(name) || name.startsWith('_')) throw new OvsdbSchemaError(name, 'bad table name');
  const t = object(json, name);
  const columnsJson = object(t.columns, `${name} "columns"`);
  const columns = new Map<string, ColumnType>([
    ['_uuid', UUID_COLUMN],
    ['_version', UUID_COLUMN],
  ]);
  for (const [col, colJson] of Object.entries(columnsJson)) {
    const where = `${name}.${col}`;
    if (!ID_PATTERN.test(col) || col.startsWith('_')) throw new OvsdbSchemaError(where, 'bad column name');
    const c = object(colJson, where);
    for (const flag of ['ephemeral', 'mutable'] as const)
      if (c[flag] !== undefined && typeof c[flag] !== 'boolean')
        throw new OvsdbSchemaError(where, `"${flag}" is not a boolean`);
    columns.set(col, parseColumnType(c.type, where));
  }

  const isRoot = t.isRoot ?? false;
  if (typeof isRoot !== 'boolean') throw new OvsdbSchemaError(name, '"isRoot" is not a boolean');
  const maxRows = t.maxRows;
  if (maxRows !== undefined && !(Number.isInteger(maxRows) && (maxRows as number) >= 1))
    throw new OvsdbSchemaError(name, '"maxRows" is not a positive integer');

  const indexesJson = t.indexes ?? [];
  if (!Array.isArray(indexesJson)) throw new OvsdbSchemaError(name, '"indexes" is not an array');
  const indexes = indexesJson.map((index: unknown) => {
    if (!Array.isArray(index) || index.length === 0)
      throw new OvsdbSchemaError(name, '"indexes" entry is not a non-empty array');
    for (const col of index)
      if (typeof col !== 'string' || !columns.has(col))
        throw new OvsdbSchemaError(name, `index names unknown column ${JSON.stringify(col)}`);
    return Object.freeze([...(index as string[])]);
  });

  return Object.freeze({
    name,
    columns,
    isRoot,
    ...(maxRows !== undefined ? { maxRows: maxRows as number } : {}),
    indexes: Object.freeze(indexes),
  });
}

/** <type>: an <atomic-type> string, or {key, value?, min?, max?} (RFC 7047 §3.2). */
export function parseColumnType(json: unknown, where: string): ColumnType {
  if (typeof json === 'string') return Object.freeze({ key: parseBaseType(json, where), min: 1, max: 1 });
  const t = object(json, `${where} type`);
  const key = parseBaseType(t.key, where);
  const value = t.value === undefined ? undefined : parseBaseType(t.value, where);
  const min = t.min ?? 1;
  const max = t.max ?? 1;
  if (min !== 0 && min !== 1)
    throw new OvsdbSchemaError(where, `"min" must be 0 or 1, not ${JSON.stringify(min)}`);
  if (max !== 'unlimited' && !(Number.isInteger(max) && (max as number) >= 1))
    throw new OvsdbSchemaError(where, `"max" must be a positive integer or "unlimited"`);
  if (max !== 'unlimited' && (max as number) < min)
    throw new OvsdbSchemaError(where, '"max" is less than "min"');
  return Object.freeze({ key, ...(value ? { value } : {}), min, max: max as number | 'unlimited' });
}

/** <base-type>: an <atomic-type> string or an object with constraints. */
function parseBaseType(json: unknown, where: string): BaseType {
  if (typeof json === 'string') {
    if (!ATOMIC_TYPES.has(json))
      throw new OvsdbSchemaError(where, `unknown atomic type ${JSON.stringify(json)}`);
    return Object.freeze({ type: json as AtomicType });
  }
  const b = object(json, `${where} base type`);
  const type = b.type;
  if (typeof type !== 'string' || !ATOMIC_TYPES.has(type))
    throw new OvsdbSchemaError(where, `unknown atomic type ${JSON.stringify(type)}`);
  const out: { -readonly [K in keyof BaseType]: BaseType[K] } = { type: type as AtomicType };
  if (b.enum !== undefined) out.enum = parseEnum(b.enum, type as AtomicType, where);
  for (const k of ['minInteger', 'maxInteger', 'minReal', 'maxReal', 'minLength', 'maxLength'] as const) {
    const v = b[k];
    if (v === undefined) continue;
    if (typeof v !== 'number') throw new OvsdbSchemaError(where, `"${k}" is not a number`);
    out[k] = v;
  }
  if (b.refTable !== undefined) {
    if (type !== 'uuid' || typeof b.refTable !== 'string')
      throw new OvsdbSchemaError(where, '"refTable" needs a uuid type and a table name');
    out.refTable = b.refTable;
    const refType = b.refType ?? 'strong';
    if (refType !== 'strong' && refType !== 'weak')
      throw new OvsdbSchemaError(where, `"refType" must be "strong" or "weak"`);
    out.refType = refType;
  }
  return Object.freeze(out);
}

/** <enum>: a <value> of the base type, i.e. ["set", [atoms]] or one bare atom. */
function parseEnum(json: unknown, type: AtomicType, where: string): readonly (string | number | boolean)[] {
  const atoms: unknown[] =
    Array.isArray(json) && json[0] === 'set' && Array.isArray(json[1]) ? json[1] : [json];
  return Object.freeze(
    atoms.map((a) => {
      if (type === 'uuid' && Array.isArray(a) && a[0] === 'uuid' && isUuid(a[1])) return a[1] as string;
      const ok = type === 'integer' ? Number.isInteger(a) : typeof a === (type === 'real' ? 'number' : type);
      if (!ok) throw new OvsdbSchemaError(where, `enum value ${JSON.stringify(a)} is not a ${type}`);
      return a as string | number | boolean;
    }),
  );
}

function checkReferences(table: TableSchema, tables: ReadonlyMap<string, TableSchema>): void {
  for (const [col, type] of table.columns) {
    for (const base of [type.key, type.value]) {
      if (base?.refTable !== undefined && !tables.has(base.refTable))
        throw new OvsdbSchemaError(`${table.name}.${col}`, `refTable ${base.refTable} is not in the schema`);
    }
  }
}

function object(json: unknown, where: string): Record<string, unknown> {
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new OvsdbSchemaError(where, 'is not a JSON object');
  return json as Record<string, unknown>;
}
