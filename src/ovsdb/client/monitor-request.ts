// Builds monitor requests for the three monitor methods (pure).
//
//   monitor_cond_since  ovsdb-server(7) §4.1.15  params [db, id, requests, last-txn-id]
//   monitor_cond        ovsdb-server(7) §4.1.12  params [db, id, requests]
//   monitor             RFC 7047 §4.1.5          params [db, id, requests]  (no `where`)
//
// Each newer method is tried first and the next older one used when the
// server answers "unknown method". Tables and columns the server's schema
// lacks are dropped (an older server), and reported so the caller can log.
import {
  columnsPresent,
  validateConditions,
  type DatabaseSchema,
  type WireCondition,
} from '../wire/index.js';
import type { MonitorSpec } from './options.js';

export const MONITOR_METHODS = ['monitor_cond_since', 'monitor_cond', 'monitor'] as const;
export type MonitorMethod = (typeof MONITOR_METHODS)[number];

/** The notification each monitor method's updates arrive in. */
export const UPDATE_METHOD = {
  monitor_cond_since: 'update3',
  monitor_cond: 'update2',
  monitor: 'update',
} as const satisfies Record<MonitorMethod, string>;

/** The UpdateVersion of each monitor method's reply and notifications. */
export const UPDATE_VERSION = { monitor_cond_since: 3, monitor_cond: 2, monitor: 1 } as const;

/** ovsdb-server(7) §4.1.15: "no transaction seen yet". */
export const ZERO_TXN_ID = '00000000-0000-0000-0000-000000000000';

export interface MonitorPlan {
  /** Table -> <monitor-request> (or <monitor-cond-request>). */
  readonly requests: Record<string, { columns?: string[]; where?: WireCondition[] }>;
  /** Tables that will be in the replica. */
  readonly tables: string[];
  readonly missingTables: string[];
  /** `table.column` entries dropped for this server. */
  readonly missingColumns: string[];
}

/**
 * Plans the requests for `spec` against the server's schema; `conditions`
 * (from setConditions) override each table's `where`. Throws the wire
 * layer's coded errors on conditions that do not fit the schema.
 */
export function planMonitor(
  spec: MonitorSpec,
  conditions: ReadonlyMap<string, readonly WireCondition[]>,
  schema: DatabaseSchema,
  withWhere: boolean,
): MonitorPlan {
  const requests: MonitorPlan['requests'] = {};
  const tables: string[] = [];
  const missingTables: string[] = [];
  const missingColumns: string[] = [];
  for (const [table, t] of Object.entries(spec)) {
    if (!schema.tables.has(table)) {
      missingTables.push(table);
      continue;
    }
    tables.push(table);
    const request: { columns?: string[]; where?: WireCondition[] } = {};
    if (t.columns !== undefined) {
      const present = columnsPresent(schema, table, t.columns);
      for (const c of t.columns) if (!present.includes(c)) missingColumns.push(`${table}.${c}`);
      if (present.length > 0) request.columns = present;
    }
    const where = conditions.get(table) ?? t.where;
    if (withWhere && where !== undefined) {
      validateConditions(schema, table, where);
      request.where = [...where];
    }
    requests[table] = request;
  }
  return { requests, tables, missingTables, missingColumns };
}

export function monitorParams(
  method: MonitorMethod,
  database: string,
  monitorId: string,
  requests: MonitorPlan['requests'],
  lastTxnId: string | undefined,
): unknown[] {
  const params: unknown[] = [database, monitorId, requests];
  if (method === 'monitor_cond_since') params.push(lastTxnId ?? ZERO_TXN_ID);
  return params;
}
