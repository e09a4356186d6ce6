// An in-memory OVSDB server and fake clock for OvsdbClient unit tests (no
// sockets): a TransportFactory whose connections answer get_schema, the
// `_Server` monitor, the three monitor methods, transact and echo from a
// tiny scripted state; tests override any method, refuse connections, drop
// them, push notifications or raw bytes.
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

export class FakeConn implements Transport {
  readonly received: Msg[] = [];
  open = true;
  /** Monitor method this connection used for the main monitor. */
  monitorMethod: string | undefined;

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

  constructor(readonly clock?: FakeClock) {}

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
        return TEST_SCHEMA;
      case 'set_db_change_aware':
        return {};
      case 'echo':
        return params;
      case 'monitor':
        if (params[0] === '_Server') {
          const db = this.serverDb.get(conn.remote) ?? { model: 'standalone', connected: true, leader: true };
          return { Database: { [uuidOf(999)]: { new: serverRow(db) } } };
        }
        conn.monitorMethod = 'monitor';
        return this.snapshot(1);
      case 'monitor_cond':
        conn.monitorMethod = 'monitor_cond';
        return this.snapshot(2);
      case 'monitor_cond_since': {
        conn.monitorMethod = 'monitor_cond_since';
        const found = this.resumable && params[3] === txnOf(this.txn);
        return [found, txnOf(this.txn), found ? {} : this.snapshot(2)];
      }
      case 'monitor_cond_change':
        return {};
      case 'transact':
        return (params.slice(1) as { op: string }[]).map((o) =>
          o.op === 'insert' ? { uuid: ['uuid', uuidOf(500)] } : { count: 1 },
        );
      default:
        return new RpcFailure('unknown method');
    }
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

function serverRow(db: ServerDb): Record<string, unknown> {
  return {
    name: 'Test',
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
