/**
 * What the replica holds and reports (docs/architecture.md "src/ovsdb").
 */
import type { RowValue } from '../wire/datum.js';

/** A decoded row: `_uuid` plus one row value per monitored column. */
export interface Row {
  readonly _uuid: string;
  readonly [column: string]: RowValue;
}

export type RowEventType = 'insert' | 'update' | 'delete';

/**
 * One row change. `insert`: `new`. `delete`: `old`, the whole row as it was.
 * `update`: `new`, the whole row now, and `old`, only `_uuid` and the columns
 * that changed, with their previous values.
 */
export interface RowEvent {
  readonly table: string;
  readonly type: RowEventType;
  readonly uuid: string;
  readonly new?: Row;
  readonly old?: Row;
}

/**
 * The tables a replica monitors: names (every column), or the same shape as
 * a monitor request, `{ Table: { columns?: [...] } }` (extra members such as
 * `where` are ignored). `_uuid` is always present; without `columns`, every
 * column except `_uuid` is monitored, `_version` included (as ovsdb-server does).
 */
export type MonitoredTables =
  readonly string[] | { readonly [table: string]: { readonly columns?: readonly string[] } | undefined };
