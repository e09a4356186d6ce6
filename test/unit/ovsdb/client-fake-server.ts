// An in-memory OVSDB server and fake clock for OvsdbClient unit tests (no
// sockets): a TransportFactory whose connections answer get_schema, the
// `_Server` monitor, the three monitor methods, transact and echo from a
// tiny scripted state; tests override any method, refuse connections, drop
// them, push notifications or raw bytes.
//
// Given a schema (`new FakeOvsdbServer(clock, schemaJson)`), it serves that
// database instead: rows of any table (`put`), monitor_cond(_since) with
// `columns` and `where` (a table's clauses OR-ed, ovsdb-server(7)),
// monitor_cond_change sending the rows a new condition selects or drops
// before its reply, and changes sent as update2/update3 row diffs (sets as
// symmetric differences, maps per ovsdb-server(7) <row-update2>). Used by
// the agent's wiring tests with the real SB and Open_vSwitch schemas.
import { OvsdbConnectError } from '../../../src/ovsdb/errors.js';
import type { Clock } from '../../../src/ovsdb/index.js';
import type { Remote, Transport, TransportFactory, TransportHandlers } from '../../../src/ovsdb/transport.js';

export const TEST_SCHEMA = {
  name: 'Test',
  version: '1.0.0',
  tables: {
    T: {
      columns: {
        name: { type: 'string' },
        n: { type: 'integer' },
        tags: { type: { key: 'string', min: 0, max: 'unlimited' } },
      },
    },
    U: { columns: { x: { type: 'string' } } },
  },
};

export const uuidOf = (n: number): string => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
export const txnOf = (n: number): string => `11111111-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

type Msg = { id?: unknown; method?: string; params?: unknown[]; result?: unknown; error?: unknown };
type Handler = (conn: FakeConn, params: unknown[]) => unknown;

export class RpcFailure {
  constructor(readonly error: string) {}
}

export interface ServerDb {
  model: 'standalone' | 'clustered';
  connected: boolean;
  leader: boolean;
  index?: number;
}

type WireRow = Record<string, unknown>;
type SchemaJson = { name: string; tables: Record<string, { columns: Record<string, { type: unknown }> }> };
type TableRequest = { columns?: string[]; where?: unknown[] };

export class FakeConn implements Transport {
  readonly received: Msg[] = [];
  open = true;
  /** Monitor method this connection used for the main monitor. */
  monitorMethod: string | undefined;
  /** Schema mode: the main monitor's id and its current requests per table. */
  monitor: { id: unknown; requests: Record<string, TableRequest> } | undefined;

  constructor(
    readonly remote: string,
    readonly server: FakeOvsdbServer,
    private readonly handlers: TransportHandlers,
  ) {}

  write(text: string): void {
    if (!this.open) return;
    // The client writes exactly one message per write.
    const msg = JSON.parse(text) as Msg;
    this.received.push(msg);
    queueMicrotask(() => this.server.handle(this, msg));
  }

  close(): void {
    this.open = false;
  }

  /** Sends raw bytes to the client. */
  sendRaw(text: string | Buffer): void {
    if (!this.open) return;
    const buf = typeof text === 'string' ? Buffer.from(text) : text;
    // Cut into chunks of server.chunkBytes, as a socket would deliver a large message.
    const size = this.server.chunkBytes ?? buf.length;
    for (let at = 0; at < buf.length; at += size) {
      const chunk = buf.subarray(at, at + size);
      queueMicrotask(() => this.open && this.handlers.data(chunk));
    }
  }

  send(...msgs: object[]): void {
    this.sendRaw(msgs.map((m) => JSON.stringify(m)).join(''));
  }

  /** The server side drops the connection. */
  drop(): void {
    if (!this.open) return;
    this.open = false;
    queueMicrotask(() => this.handlers.closed(undefined));
  }

  calls(method: string): Msg[] {
    return this.received.filter((m) => m.method === method);
  }
}

export class FakeOvsdbServer {
  readonly conns: FakeConn[] = [];
  readonly handlers = new Map<string, Handler>();
  /** Remotes that refuse connections. */
  readonly refuse = new Set<string>();
  /** `_Server` Database row per remote (default standalone). */
  readonly serverDb = new Map<string, ServerDb>();
  /** Current rows of table T (wire form, without _uuid). */
  readonly rows = new Map<string, Record<string, unknown>>();
  txn = 1;
  /** Largest chunk handed to the client (default: each message in one chunk). */
  chunkBytes: number | undefined;
  /** monitor_cond_since finds a txn id only when this is on (a clustered db). */
  resumable = true;
  /** Times of connection attempts (fake clock). */
  readonly attempts: { remote: string; at: number }[] = [];

  /** Schema mode: table -> uuid -> row (wire form, without _uuid). */
  readonly tables = new Map<string, Map<string, WireRow>>();
  readonly #schema: SchemaJson;
  readonly #schemaMode: boolean;

  constructor(
    readonly clock?: FakeClock,
    schema?: unknown,
  ) {
    this.#schemaMode = schema !== undefined;
    this.#schema = (schema ?? TEST_SCHEMA) as SchemaJson;
  }

  /** The database this server holds. */
  get database(): string {
    return this.#schema.name;
  }

  /** Schema mode: the current rows of `table`. */
  table(name: string): Map<string, WireRow> {
    let t = this.tables.get(name);
    if (!t) this.tables.set(name, (t = new Map()));
    return t;
  }

  /**
   * Schema mode: commits one row (undefined deletes it) and sends each
   * monitoring connection what its conditions make of it.
   */
  put(table: string, uuid: string, row: WireRow | undefined): void {
    const rows = this.table(table);
    const old = rows.get(uuid);
    if (row === undefined) rows.delete(uuid);
    else rows.set(uuid, row);
    this.txn++;
    for (const conn of this.conns) {
      const req = conn.open ? conn.monitor?.requests[table] : undefined;
      if (!req) continue;
      const was = old !== undefined && this.#selects(table, uuid, old, req.where);
      const now = row !== undefined && this.#selects(table, uuid, row, req.where);
      let update: unknown;
      if (was && now) {
        const diff = this.#diff(table, project(old, req.columns), project(row, req.columns));
        if (Object.keys(diff).length > 0) update = { modify: diff };
      } else if (now) update = { insert: project(row, req.columns) };
      else if (was) update = { delete: null };
      if (update !== undefined) this.#notify(conn, { [table]: { [uuid]: update } });
    }
  }

  #notify(conn: FakeConn, updates: Record<string, unknown>): void {
    const id = conn.monitor!.id;
    if (conn.monitorMethod === 'monitor_cond_since')
      conn.send({ id: null, method: 'update3', params: [id, txnOf(this.txn), updates] });
    else conn.send({ id: null, method: 'update2', params: [id, updates] });
  }

  /** monitor_cond_change: the rows the new conditions select or drop go out before the reply. */
  #condChange(conn: FakeConn, changes: Record<string, { where?: unknown[] }[]>): void {
    const updates: Record<string, Record<string, unknown>> = {};
    for (const [table, [change]] of Object.entries(changes)) {
      const req = conn.monitor?.requests[table];
      if (!req || !change) continue;
      const before = req.where;
      req.where = change.where;
      for (const [uuid, row] of this.table(table)) {
        const was = this.#selects(table, uuid, row, before);
        const now = this.#selects(table, uuid, row, req.where);
        if (was === now) continue;
        (updates[table] ??= {})[uuid] = now ? { insert: project(row, req.columns) } : { delete: null };
      }
    }
    if (Object.keys(updates).length > 0) this.#notify(conn, updates);
  }

  #schemaSnapshot(requests: Record<string, TableRequest>): Record<string, unknown> {
    const out: Record<string, Record<string, unknown>> = {};
    for (const [table, req] of Object.entries(requests)) {
      const rows: Record<string, unknown> = {};
      for (const [uuid, row] of this.table(table))
        if (this.#selects(table, uuid, row, req.where)) rows[uuid] = { initial: project(row, req.columns) };
      out[table] = rows;
    }
    return out;
  }

  /** ovsdb-server(7) monitor_cond: no `where` selects every row; clauses are OR-ed. */
  #selects(table: string, uuid: string, row: WireRow, where: unknown[] | undefined): boolean {
    if (where === undefined) return true;
    return where.some((clause) => {
      if (typeof clause === 'boolean') return clause;
      const [column, fn, value] = clause as [string, string, unknown];
      const have = atoms(column === '_uuid' ? ['uuid', uuid] : (row[column] ?? this.#empty(table, column)));
      const want = atoms(value);
      const has = (a: string) => have.includes(a);
      switch (fn) {
        case '==':
          return have.length === want.length && want.every(has);
        case '!=':
          return !(have.length === want.length && want.every(has));
        case 'includes':
          return want.every(has);
        case 'excludes':
          return !want.some(has);
        default:
          throw new Error(`fake server: condition function ${fn} not supported`);
      }
    });
  }

  #columnType(table: string, column: string): { set: boolean; map: boolean } {
    const type = this.#schema.tables[table]?.columns[column]?.type;
    if (typeof type !== 'object' || type === null) return { set: false, map: false };
    const t = type as { value?: unknown; min?: number; max?: number | string };
    return { map: t.value !== undefined, set: (t.min ?? 1) !== 1 || (t.max ?? 1) !== 1 };
  }

  #empty(table: string, column: string): unknown {
    const { set, map } = this.#columnType(table, column);
    return map ? ['map', []] : set ? ['set', []] : '';
  }

  /** <row-update2> `modify`: changed columns; sets as symmetric differences, maps per key. */
  #diff(table: string, old: WireRow, row: WireRow): WireRow {
    const out: WireRow = {};
    for (const column of new Set([...Object.keys(old), ...Object.keys(row)])) {
      const a = old[column] ?? this.#empty(table, column);
      const b = row[column] ?? this.#empty(table, column);
      if (JSON.stringify(a) === JSON.stringify(b)) continue;
      const { set, map } = this.#columnType(table, column);
      if (map) {
        const before = new Map(
          ((a as [string, [unknown, unknown][]])[1] ?? []).map(([k, v]) => [JSON.stringify(k), [k, v]]),
        );
        const after = new Map(
          ((b as [string, [unknown, unknown][]])[1] ?? []).map(([k, v]) => [JSON.stringify(k), [k, v]]),
        );
        const pairs: unknown[] = [];
        for (const [k, kv] of before) if (!after.has(k)) pairs.push(kv);
        for (const [k, kv] of after) {
          const was = before.get(k);
          if (was === undefined || JSON.stringify(was[1]) !== JSON.stringify(kv[1])) pairs.push(kv);
        }
        out[column] = ['map', pairs];
      } else if (set) {
        const before = atoms(a);
        const after = atoms(b);
        out[column] = [
          'set',
          [...before.filter((x) => !after.includes(x)), ...after.filter((x) => !before.includes(x))].map(
            (x) => JSON.parse(x) as unknown,
          ),
        ];
      } else out[column] = b;
    }
    return out;
  }

  get last(): FakeConn {
    return this.conns.at(-1)!;
  }

  readonly factory: TransportFactory = async (remote: Remote, handlers: TransportHandlers) => {
    this.attempts.push({ remote: remote.text, at: this.clock?.now() ?? 0 });
    await Promise.resolve();
    if (this.refuse.has(remote.text)) throw new OvsdbConnectError(remote.text, 'connection refused');
    const conn = new FakeConn(remote.text, this, handlers);
    this.conns.push(conn);
    return conn;
  };

  handle(conn: FakeConn, msg: Msg): void {
    if (!conn.open || msg.method === undefined) return;
    if (msg.id === null || msg.id === undefined) return;
    const custom = this.handlers.get(msg.method);
    let result: unknown;
    try {
      result = custom ? custom(conn, msg.params ?? []) : this.default(conn, msg.method, msg.params ?? []);
    } catch (e) {
      result = new RpcFailure(String(e));
    }
    if (result === NO_REPLY) return;
    if (result instanceof RpcFailure) conn.send({ id: msg.id, result: null, error: { error: result.error } });
    else conn.send({ id: msg.id, result, error: null });
  }

  default(conn: FakeConn, method: string, params: unknown[]): unknown {
    switch (method) {
      case 'get_schema':
        return this.#schema;
      case 'set_db_change_aware':
        return {};
      case 'echo':
        return params;
      case 'monitor':
        if (params[0] === '_Server') {
          const db = this.serverDb.get(conn.remote) ?? { model: 'standalone', connected: true, leader: true };
          return { Database: { [uuidOf(999)]: { new: serverRow(db, this.database) } } };
        }
        conn.monitorMethod = 'monitor';
        return this.snapshot(1);
      case 'monitor_cond':
        conn.monitorMethod = 'monitor_cond';
        if (this.#schemaMode) return this.#startMonitor(conn, params);
        return this.snapshot(2);
      case 'monitor_cond_since': {
        conn.monitorMethod = 'monitor_cond_since';
        const found = this.resumable && params[3] === txnOf(this.txn);
        if (this.#schemaMode) {
          const snapshot = this.#startMonitor(conn, params);
          return [found, txnOf(this.txn), found ? {} : snapshot];
        }
        return [found, txnOf(this.txn), found ? {} : this.snapshot(2)];
      }
      case 'monitor_cond_change':
        if (this.#schemaMode) this.#condChange(conn, params[2] as Record<string, { where?: unknown[] }[]>);
        return {};
      case 'transact':
        return (params.slice(1) as { op: string }[]).map((o) =>
          o.op === 'insert' ? { uuid: ['uuid', uuidOf(500)] } : { count: 1 },
        );
      default:
        return new RpcFailure('unknown method');
    }
  }

  #startMonitor(conn: FakeConn, params: unknown[]): Record<string, unknown> {
    const requests = structuredClone(params[2]) as Record<string, TableRequest>;
    conn.monitor = { id: params[1], requests };
    return this.#schemaSnapshot(requests);
  }

  snapshot(version: 1 | 2): Record<string, unknown> {
    const t: Record<string, unknown> = {};
    for (const [uuid, row] of this.rows) t[uuid] = version === 1 ? { new: row } : { initial: row };
    return { T: t };
  }

  /** Commits a change to T and notifies every monitoring connection in its own dialect. */
  change(uuid: string, row: Record<string, unknown> | undefined, modify?: Record<string, unknown>): void {
    const old = this.rows.get(uuid);
    if (row === undefined) this.rows.delete(uuid);
    else this.rows.set(uuid, row);
    this.txn++;
    for (const conn of this.conns) {
      if (!conn.open || !conn.monitorMethod) continue;
      const id = 'Test';
      if (conn.monitorMethod === 'monitor') {
        conn.send({ id: null, method: 'update', params: [id, { T: { [uuid]: { old, new: row } } }] });
        continue;
      }
      const ru2 =
        row === undefined
          ? { delete: null }
          : old === undefined
            ? { insert: row }
            : { modify: modify ?? row };
      if (conn.monitorMethod === 'monitor_cond') {
        conn.send({ id: null, method: 'update2', params: [id, { T: { [uuid]: ru2 } }] });
      } else {
        conn.send({ id: null, method: 'update3', params: [id, txnOf(this.txn), { T: { [uuid]: ru2 } }] });
      }
    }
  }
}

export const NO_REPLY = Symbol('no reply');

/** A wire value as a list of its atoms (a map as its [key, value] pairs), each as JSON. */
function atoms(v: unknown): string[] {
  if (Array.isArray(v) && (v[0] === 'set' || v[0] === 'map'))
    return (v[1] as unknown[]).map((a) => JSON.stringify(a));
  return [JSON.stringify(v)];
}

function project(row: WireRow, columns: string[] | undefined): WireRow {
  if (columns === undefined) return { ...row };
  return Object.fromEntries(Object.entries(row).filter(([c]) => columns.includes(c)));
}

function serverRow(db: ServerDb, name: string): Record<string, unknown> {
  return {
    name,
    model: db.model,
    connected: db.connected,
    leader: db.leader,
    index: db.index === undefined ? ['set', []] : db.index,
  };
}

/** A manual clock: timers run only when the test advances time. */
export class FakeClock implements Clock {
  #now = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();
  #next = 1;

  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  get pending(): number {
    return this.#timers.size;
  }
  /** Advances time, running due timers in order and letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    for (;;) {
      await settle();
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers)
        if (entry[1].at <= until && (!due || entry[1].at < due[1].at)) due = entry;
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = due[1].at;
      due[1].fn();
    }
    this.#now = until;
    await settle();
  }
}

/** Lets queued microtasks and promise chains run (no timers involved). */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}
