/**
 * Per-table decoding plans, built once from the schema and the monitored
 * columns, so that applying updates never re-derives a column's type: each
 * column carries its specialised decoder and default (wire/datum.ts), and
 * the table has row constructors specialised to its columns.
 */
import { OvsdbUnknownColumnError, OvsdbUnknownTableError } from '../errors.js';
import { columnCodec, type ColumnCodec, type RowValue } from '../wire/datum.js';
import type { DatabaseSchema } from '../wire/schema.js';
import type { MonitoredTables, Row } from './types.js';

export type MutableRow = { _uuid: string; [column: string]: RowValue };

export interface TablePlan {
  readonly table: string;
  /** The monitored columns, `_uuid` excluded, in a fixed order (rows share one shape). */
  readonly columns: readonly ColumnCodec[];
  readonly byName: ReadonlyMap<string, ColumnCodec>;
  /** A new row with every column at its default. */
  readonly create: (uuid: string) => MutableRow;
  /** A shallow copy of a row of this table (for changes: rows are never mutated). */
  readonly copy: (row: Row) => MutableRow;
}

export type TablePlans = ReadonlyMap<string, TablePlan>;

/** Throws OVSDB_UNKNOWN_TABLE / OVSDB_UNKNOWN_COLUMN for names the schema lacks. */
export function planTables(schema: DatabaseSchema, monitored: MonitoredTables): TablePlans {
  const entries: [string, readonly string[] | undefined][] = Array.isArray(monitored)
    ? (monitored as readonly string[]).map((t) => [t, undefined])
    : Object.entries(monitored as Record<string, { columns?: readonly string[] } | undefined>).map(
        ([t, req]) => [t, req?.columns],
      );
  const plans = new Map<string, TablePlan>();
  for (const [table, wanted] of entries) {
    const t = schema.tables.get(table);
    if (t === undefined) throw new OvsdbUnknownTableError(table, `schema ${schema.name}`);
    const names = wanted ?? [...t.columns.keys()];
    const columns: ColumnCodec[] = [];
    for (const name of new Set(names)) {
      if (name === '_uuid') continue;
      const type = t.columns.get(name);
      if (type === undefined) throw new OvsdbUnknownColumnError(table, name, `schema ${schema.name}`);
      columns.push(columnCodec(table, name, type));
    }
    const { create, copy } = rowConstructors(columns);
    plans.set(
      table,
      Object.freeze({ table, columns, byName: new Map(columns.map((c) => [c.name, c])), create, copy }),
    );
  }
  return plans;
}

/**
 * Row constructors built from an object literal naming every column, so V8
 * allocates each row once, at its final size, with in-object (fast)
 * properties shared by every row of the table. Building rows property by
 * property instead leaves them in dictionary mode and was 10x slower on the
 * 50k-row initial dump; `{...row}` copies were slower still.
 *
 * The literal's keys are JSON-quoted column names (schema names are <id>s,
 * RFC 7047 §3.1, and quoting makes any string safe), and values come from
 * arguments, never from source text. Where code generation is disallowed
 * (--disallow-code-generation-from-strings), plain loops are used.
 */
export function rowConstructors(
  columns: readonly ColumnCodec[],
  generate = true,
): Pick<TablePlan, 'create' | 'copy'> {
  const defaults = columns.map((c) => c.defaultValue);
  try {
    if (!generate) throw new EvalError('code generation not wanted');
    const keys = columns.map((c) => JSON.stringify(c.name));
    const fromDefaults = new Function(
      'd',
      'u',
      `return {"_uuid": u, ${keys.map((k, i) => `${k}: d[${i}]`).join(', ')}};`,
    ) as (d: readonly RowValue[], u: string) => MutableRow;
    const copy = new Function(
      'r',
      `return {"_uuid": r._uuid, ${keys.map((k) => `${k}: r[${k}]`).join(', ')}};`,
    ) as (r: Row) => MutableRow;
    return { create: (uuid) => fromDefaults(defaults, uuid), copy };
  } catch {
    return {
      create: (uuid) => {
        const row: MutableRow = { _uuid: uuid };
        for (let i = 0; i < columns.length; i++) row[columns[i]!.name] = defaults[i];
        return row;
      },
      copy: (row) => ({ ...row }),
    };
  }
}
