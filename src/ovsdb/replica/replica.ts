/**
 * The replica: the monitored tables of one database, decoded, indexed, and
 * kept in step with monitor replies and update notifications.
 *
 * Invariants:
 * - `table(t)` holds exactly the rows the server has sent for `t`, as
 *   immutable Row objects; a change replaces the object, never mutates it.
 * - Every declared index reflects the committed rows at all times.
 * - 'change' is emitted once per applyUpdates/resync, after the tables and
 *   indexes are consistent; listeners run synchronously and must only note
 *   what changed (e.g. enqueue keys), never block.
 * - Malformed updates never throw: they are emitted as 'problems' (before
 *   'change'), and every well-formed row of the same update is applied. An
 *   OVSDB_UNKNOWN_ROW problem means the replica diverged: resync.
 *
 * No I/O: the client feeds it; tests build it from literal snapshots.
 */
import {
  OvsdbDuplicateIndexError,
  OvsdbNotMonitoredError,
  OvsdbUnknownIndexError,
  OvsdbUnknownTableError,
  type OvsdbError,
} from '../errors.js';
import type { DatabaseSchema } from '../wire/schema.js';
import type { UpdateVersion } from '../wire/updates.js';
import {
  applyRowUpdate,
  applyTableUpdates,
  diffRows,
  type ApplyResult,
  type RowsOf,
} from './apply-update.js';
import { Emitter } from './emitter.js';
import { RowIndex, type IndexKeyFn } from './row-index.js';
import { planTables, type TablePlans } from './table-plan.js';
import type { MonitoredTables, Row, RowEvent } from './types.js';

export interface ReplicaEvents {
  /** The committed changes of one update, in the order received. */
  change: (events: readonly RowEvent[]) => void;
  /** Row updates that could not be applied (coded OvsdbErrors). */
  problems: (problems: readonly OvsdbError[]) => void;
  /** The replica holds the server's state (`resumed`: kept across a reconnect via monitor_cond_since). */
  synced: (info: { readonly resumed: boolean }) => void;
}

export class Replica extends Emitter<ReplicaEvents> {
  readonly schema: DatabaseSchema;
  private readonly plans: TablePlans;
  private readonly rows = new Map<string, Map<string, Row>>();
  private readonly indexes = new Map<string, Map<string, RowIndex>>();
  private readonly currentRows: RowsOf = (table) => this.rows.get(table);
  private synced = false;

  /**
   * `tables`: the monitored tables (and columns); unknown names throw
   * OVSDB_UNKNOWN_TABLE/OVSDB_UNKNOWN_COLUMN. `snapshot`: optional initial
   * <table-updates2> content (as a monitor_cond reply), e.g. in tests.
   */
  constructor(schema: DatabaseSchema, tables: MonitoredTables, snapshot?: unknown) {
    super();
    this.schema = schema;
    this.plans = planTables(schema, tables);
    for (const table of this.plans.keys()) {
      this.rows.set(table, new Map());
      this.indexes.set(table, new Map());
    }
    if (snapshot !== undefined) this.resync(snapshot);
  }

  /** The monitored table names. */
  get tableNames(): readonly string[] {
    return [...this.plans.keys()];
  }

  /** The monitored columns of `table` (`_uuid` excluded), in row order. */
  columns(table: string): readonly string[] {
    const plan = this.plans.get(table);
    if (plan === undefined) throw new OvsdbNotMonitoredError(table);
    return plan.columns.map((c) => c.name);
  }

  /** Whether markSynced ran since construction or the last clear(). */
  get isSynced(): boolean {
    return this.synced;
  }

  /** The rows of a monitored table by UUID: a live read-only view. */
  table(name: string): ReadonlyMap<string, Row> {
    const rows = this.rows.get(name);
    if (rows === undefined) throw new OvsdbNotMonitoredError(name);
    return rows;
  }

  get(table: string, uuid: string): Row | undefined {
    return this.table(table).get(uuid);
  }

  /** Rows per table, for metrics. */
  size(table: string): number {
    return this.table(table).size;
  }

  sizes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [table, rows] of this.rows) out[table] = rows.size;
    return out;
  }

  /**
   * Declares an index, built at once from the current rows and kept in step
   * after. `keyFn` must be quick and pure; if it throws for a row, the row is
   * left out of the index and an OVSDB_INDEX_KEY_FAILED problem is emitted.
   */
  addIndex(table: string, name: string, keyFn: IndexKeyFn): void {
    const indexes = this.indexes.get(table);
    if (indexes === undefined) throw new OvsdbNotMonitoredError(table);
    if (indexes.has(name)) throw new OvsdbDuplicateIndexError(table, name);
    const index = new RowIndex(table, name, keyFn);
    const problems: OvsdbError[] = [];
    for (const row of this.rows.get(table)!.values()) index.add(row, problems);
    indexes.set(name, index);
    if (problems.length > 0) this.emit('problems', problems);
  }

  /** The rows whose index key is `key`: a live read-only view (empty when none). */
  byIndex(table: string, name: string, key: string): ReadonlySet<Row> {
    const indexes = this.indexes.get(table);
    if (indexes === undefined) throw new OvsdbNotMonitoredError(table);
    const index = indexes.get(name);
    if (index === undefined) throw new OvsdbUnknownIndexError(table, name);
    return index.get(key);
  }

  /**
   * Applies an update notification or monitor reply: version 1 for
   * `update`/`monitor` (RFC 7047 §4.1.6), 2 and 3 for `update2`/`update3`
   * and `monitor_cond`/`monitor_cond_since` (ovsdb-server(7) §4.1.14-16).
   * Returns the events, also emitted as one 'change'.
   */
  applyUpdates(version: UpdateVersion, tableUpdates: unknown): RowEvent[] {
    const r = applyTableUpdates(version, tableUpdates, this.plans, this.currentRows);
    this.commit(r.events, r.previous, r.problems);
    return r.events;
  }

  /**
   * Replaces the whole content with a fresh snapshot (a monitor reply after
   * a reconnect that could not resume) and emits only the real differences:
   * rows that appeared, changed or vanished. Unchanged rows keep their
   * object identity, and no table is ever seen empty in between. A row the
   * snapshot holds in a form we cannot decode is reported and treated as
   * absent, as it would be after a fresh start.
   */
  resync(snapshot: unknown, version: UpdateVersion = 2): RowEvent[] {
    const fresh = applyTableUpdates(version === 1 ? 1 : 2, snapshot, this.plans, noRows);
    const incoming = new Map<string, Map<string, Row>>();
    for (const table of this.plans.keys()) incoming.set(table, new Map());
    for (const ev of fresh.events) incoming.get(ev.table)!.set(ev.uuid, ev.new!);
    return this.swapIn(incoming, fresh.problems);
  }

  /**
   * Starts a resync fed row by row (a monitor reply streamed as it
   * arrives, decoder.ts): each row is decoded when added, and
   * nothing changes until `commit()`, which then acts as resync().
   */
  beginResync(version: UpdateVersion = 2): SnapshotLoad {
    return new SnapshotLoad(this.plans, version === 1 ? 1 : 2, (incoming, problems) =>
      this.swapIn(incoming, problems),
    );
  }

  /** Replaces the content with `incoming`, emitting only the differences. */
  private swapIn(
    incoming: ReadonlyMap<string, ReadonlyMap<string, Row>>,
    problems: OvsdbError[],
  ): RowEvent[] {
    const events: RowEvent[] = [];
    const previous: (Row | undefined)[] = [];
    for (const [table, plan] of this.plans) {
      const current = this.rows.get(table)!;
      const next = incoming.get(table)!;
      for (const [uuid, row] of next) {
        const prev = current.get(uuid);
        if (prev === undefined) {
          events.push({ table, type: 'insert', uuid, new: row });
          previous.push(undefined);
          continue;
        }
        const old = diffRows(plan, prev, row);
        if (old === undefined) continue;
        events.push({ table, type: 'update', uuid, new: row, old });
        previous.push(prev);
      }
      for (const [uuid, prev] of current) {
        if (next.has(uuid)) continue;
        events.push({ table, type: 'delete', uuid, old: prev });
        previous.push(prev);
      }
    }
    this.commit(events, previous, problems);
    return events;
  }

  /** Drops every row (indexes stay declared, emptied) and the synced mark; emits nothing. */
  clear(): void {
    for (const rows of this.rows.values()) rows.clear();
    for (const indexes of this.indexes.values()) for (const index of indexes.values()) index.clear();
    this.synced = false;
  }

  /** Marks the replica as holding the server's state and emits 'synced'. */
  markSynced(resumed: boolean): void {
    this.synced = true;
    this.emit('synced', { resumed });
  }

  /** Stores the changes, updates the indexes, then tells the listeners. */
  private commit(
    events: readonly RowEvent[],
    previous: readonly (Row | undefined)[],
    problems: OvsdbError[],
  ): void {
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      const rows = this.rows.get(ev.table)!;
      const next = ev.new;
      if (next !== undefined) rows.set(ev.uuid, next);
      else rows.delete(ev.uuid);
      const indexes = this.indexes.get(ev.table)!;
      if (indexes.size === 0) continue;
      const prev = previous[i];
      for (const index of indexes.values()) {
        if (prev !== undefined) index.remove(prev);
        if (next !== undefined) index.add(next, problems);
      }
    }
    let failed = false;
    let error: unknown;
    if (problems.length > 0) {
      try {
        this.emit('problems', problems);
      } catch (err) {
        failed = true;
        error = err;
      }
    }
    if (events.length > 0) this.emit('change', events);
    if (failed) throw error;
  }
}

const noRows: RowsOf = () => undefined;

/**
 * A snapshot being loaded row by row (Replica.beginResync). Rows are
 * decoded as they are added, against an empty table as resync() does.
 */
export class SnapshotLoad {
  private readonly incoming = new Map<string, Map<string, Row>>();
  /** Collects each added row's outcome; the event is taken out at once. */
  private readonly out: ApplyResult = { events: [], previous: [], problems: [] };
  private readonly unknownTables = new Set<string>();

  constructor(
    private readonly plans: TablePlans,
    private readonly version: 1 | 2,
    private readonly swapIn: (
      incoming: ReadonlyMap<string, ReadonlyMap<string, Row>>,
      problems: OvsdbError[],
    ) => RowEvent[],
  ) {
    for (const table of plans.keys()) this.incoming.set(table, new Map());
  }

  /** One <row-update> (version 1) or <row-update2> of the snapshot. */
  add(table: string, uuid: string, rowUpdate: unknown): void {
    const plan = this.plans.get(table);
    if (plan === undefined) {
      if (!this.unknownTables.has(table)) {
        this.unknownTables.add(table);
        this.out.problems.push(new OvsdbUnknownTableError(table, 'the monitored tables'));
      }
      return;
    }
    const out = this.out;
    applyRowUpdate(this.version, plan, uuid, rowUpdate, undefined, out);
    if (out.events.length === 0) return;
    const row = out.events.pop()!.new;
    out.previous.pop();
    if (row !== undefined) this.incoming.get(table)!.set(uuid, row);
  }

  /** Swaps the loaded snapshot in, as resync() does; returns the events emitted. Call once. */
  commit(): RowEvent[] {
    return this.swapIn(this.incoming, this.out.problems);
  }
}
