// The `_Server` database's `Database` table (ovsdb-server(7) "_Server"):
// one row per database a server holds, telling whether a cluster member is
// connected to its cluster, is the leader, and how far its Raft log goes.
// The client checks the row of its target database before trusting a member
// and keeps watching it (a plain `monitor`, RFC 7047 §4.1.5, whose `new`
// always holds every monitored column, so no diff logic is needed here).
import { OvsdbDatabaseUnavailableError } from '../errors.js';
import type { TableUpdates } from '../wire/index.js';

export const SERVER_DATABASE = '_Server';
export const SERVER_MONITOR_ID = '_Server';
export const SERVER_MONITOR_REQUEST = {
  Database: { columns: ['name', 'model', 'connected', 'leader', 'index'] },
} as const;

export interface ServerDatabaseRow {
  readonly name: string;
  readonly model: string;
  readonly connected: boolean;
  readonly leader: boolean;
  /** Raft log index; absent for standalone databases. */
  readonly index: number | undefined;
}

/** Applies a `_Server` TableUpdates to `rows` (uuid -> row) in place. */
export function applyServerUpdates(rows: Map<string, ServerDatabaseRow>, updates: unknown): void {
  const table = (updates as TableUpdates | null)?.Database;
  if (typeof table !== 'object' || table === null) return;
  for (const [uuid, change] of Object.entries(table)) {
    const row = change?.new;
    if (row === undefined || row === null) rows.delete(uuid);
    else rows.set(uuid, decodeRow(row as Record<string, unknown>));
  }
}

function decodeRow(r: Record<string, unknown>): ServerDatabaseRow {
  return {
    name: typeof r.name === 'string' ? r.name : '',
    model: typeof r.model === 'string' ? r.model : '',
    connected: r.connected === true,
    leader: r.leader === true,
    index: optionalInteger(r.index),
  };
}

// An optional integer is either the bare atom or ["set", []] (RFC 7047 §5.1).
function optionalInteger(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v) && v[0] === 'set' && Array.isArray(v[1]) && typeof v[1][0] === 'number')
    return v[1][0];
  return undefined;
}

/**
 * Why this member must not serve `database` now, or undefined when it may.
 * Mirrors libovsdb's checks: a clustered member must be connected to its
 * cluster, must be the leader when `leaderOnly`, and must not be behind a
 * Raft index the client has already seen elsewhere (a stale member would
 * hand us an older database).
 */
export function serverDatabaseProblem(
  rows: ReadonlyMap<string, ServerDatabaseRow>,
  database: string,
  leaderOnly: boolean,
  highestIndex: number | undefined,
): string | undefined {
  let row: ServerDatabaseRow | undefined;
  for (const r of rows.values()) if (r.name === database) row = r;
  if (row === undefined) return 'not served by this server';
  if (row.model !== 'clustered') return undefined;
  if (!row.connected) return 'cluster member is not connected to its cluster';
  if (leaderOnly && !row.leader) return 'cluster member is not the leader';
  if (highestIndex !== undefined && row.index !== undefined && row.index < highestIndex) {
    return `cluster member is stale (Raft index ${row.index} < ${highestIndex} seen before)`;
  }
  return undefined;
}

export function serverDatabaseIndex(
  rows: ReadonlyMap<string, ServerDatabaseRow>,
  database: string,
): number | undefined {
  for (const r of rows.values()) if (r.name === database) return r.index;
  return undefined;
}

/**
 * The client's view of `_Server` across connections: the current member's
 * Database rows, and the highest Raft index seen on any member.
 */
export class ServerWatch {
  #rows = new Map<string, ServerDatabaseRow>();
  #highestIndex: number | undefined;

  constructor(
    readonly database: string,
    readonly leaderOnly: boolean,
  ) {}

  /** A new connection's initial `_Server` monitor reply. Throws OVSDB_DB_UNAVAILABLE. */
  reset(initial: unknown, remote: string): void {
    this.#rows = new Map();
    this.update(initial, remote);
  }

  /** An `update` notification of the `_Server` monitor. Throws OVSDB_DB_UNAVAILABLE. */
  update(updates: unknown, remote: string): void {
    applyServerUpdates(this.#rows, updates);
    const problem = serverDatabaseProblem(this.#rows, this.database, this.leaderOnly, this.#highestIndex);
    if (problem) throw new OvsdbDatabaseUnavailableError(remote, this.database, problem);
    const index = serverDatabaseIndex(this.#rows, this.database);
    if (index !== undefined && (this.#highestIndex === undefined || index > this.#highestIndex)) {
      this.#highestIndex = index;
    }
  }

  /**
   * Forgets the highest index: after a whole round of failed members, since
   * a cluster restored from backup (or recreated) legitimately starts lower
   * and the stale-member check must not lock the client out for ever.
   */
  forgetIndex(): void {
    this.#highestIndex = undefined;
  }
}
