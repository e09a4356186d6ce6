// OvsdbClient: a long-lived OVSDB client that keeps a replica of the
// monitored tables in step with a server or a Raft cluster.
//
// One reconnect loop per client (single flight). Each turn picks the next
// member (shuffled once), connects, checks the member through `_Server`
// (ovsdb-server(7) "_Server"), reads the schema and monitors: with
// monitor_cond_since (ovsdb-server(7) §4.1.15) a reconnect that finds our
// last transaction receives deltas only and keeps the replica; otherwise the
// replica swaps in the new snapshot and emits only real differences. Older
// servers get monitor_cond, then monitor. Update notifications that arrive
// while the monitor request is in flight are held and applied after its
// reply, in order. Errors never escape to the process: they end the
// connection (reconnect) or are logged and skipped.
import { EventEmitter } from 'node:events';
import {
  OvsdbClientClosedError,
  OvsdbClientStateError,
  OvsdbDisconnectedError,
  OvsdbError,
  OvsdbMalformedMessageError,
  OvsdbRpcError,
  OvsdbTransactTimeoutError,
} from '../errors.js';
import { Replica } from '../replica/index.js';
import { parseRemotes, type Remote } from '../transport.js';
import {
  pairTransactResult,
  parseSchema,
  validateConditions,
  type DatabaseSchema,
  type OperationResult,
  type WireCondition,
  type WireOperation,
} from '../wire/index.js';
import { backoffDelay, shuffled } from './backoff.js';
import { Connection } from './connection.js';
import { MonitorReply, monitorReplyOptions } from './monitor-reply.js';
import {
  MONITOR_METHODS,
  monitorParams,
  planMonitor,
  type MonitorMethod,
  type MonitorPlan,
} from './monitor-request.js';
import {
  resolveOptions,
  type ConditionsUpdate,
  type MonitorSpec,
  type OvsdbClientOptions,
  type TableMonitorSpec,
  type ResolvedOptions,
} from './options.js';
import { SERVER_DATABASE, SERVER_MONITOR_ID, SERVER_MONITOR_REQUEST, ServerWatch } from './server-db.js';
import type { ClientEvents, ClientStats, ClientStatus } from './status.js';

/** After this many consecutive failures, further ones are logged at debug. */
const LOUD_FAILURES = 5;

export class OvsdbClient extends EventEmitter<ClientEvents> {
  readonly #o: ResolvedOptions;
  readonly #remotes: Remote[];
  readonly #monitorId: string;
  #spec: MonitorSpec = {};
  /** setConditions() overrides, kept for reconnects. */
  readonly #conditions = new Map<string, readonly WireCondition[]>();

  #schema: DatabaseSchema | undefined;
  #replica: Replica | undefined;
  #conn: Connection | undefined;
  /** Monitor method the current connection settled on. */
  #method: MonitorMethod | undefined;
  #synced = false;
  /** Update notifications held while the monitor request is in flight. */
  #deferred: ['update3' | 'update2' | 'update', readonly unknown[]][] | undefined;
  /** ovsdb-server(7) §4.1.15 last-txn-id, for resuming after a reconnect. */
  #lastTxnId: string | undefined;
  readonly #server: ServerWatch;
  /** Tables actually monitored on this server (spec minus missing ones). */
  #monitoredTables = new Set<string>();
  /** setConditions() ran while a monitor request was in flight. */
  #conditionsDirty = false;

  #loop: Promise<void> | undefined;
  #closed = false;
  #wake: (() => void) | undefined;
  #firstSync: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void };
  #status: ClientStatus | undefined;
  #stats = { syncs: 0, resumes: 0, resyncs: 0, disconnects: 0 };
  #failures = 0;

  constructor(options: OvsdbClientOptions) {
    super();
    this.#o = resolveOptions(options);
    this.#remotes = shuffled(parseRemotes(options.remote), this.#o.random);
    this.#monitorId = options.database;
    this.#server = new ServerWatch(options.database, this.#o.leaderOnly);
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => {}); // close() before start() must not be an unhandled rejection
    this.#firstSync = { promise, resolve, reject };
  }

  get database(): string {
    return this.#o.database;
  }

  /** The server's schema, after the first connection. */
  get schema(): DatabaseSchema {
    if (!this.#schema) throw new OvsdbClientStateError(this.database, 'schema is known only after start()');
    return this.#schema;
  }

  /**
   * The replica of the monitored tables. It exists from the first
   * 'connected' status on (attach 'change' listeners then to see the initial
   * load as inserts), and certainly once start() resolved.
   */
  get replica(): Replica {
    if (!this.#replica) throw new OvsdbClientStateError(this.database, 'replica exists only after start()');
    return this.#replica;
  }

  /** The last status emitted. */
  get status(): ClientStatus | undefined {
    return this.#status;
  }

  get stats(): ClientStats {
    return { ...this.#stats };
  }

  /** Declares the tables to monitor; call before start(). */
  monitor(spec: MonitorSpec): this {
    if (this.#loop) throw new OvsdbClientStateError(this.database, 'monitor() must be called before start()');
    this.#spec = { ...this.#spec, ...spec };
    return this;
  }

  /** Starts the connection loop; resolves at the first synced replica. */
  start(): Promise<void> {
    if (this.#closed) return Promise.reject(new OvsdbClientClosedError(this.database));
    this.#loop ??= this.#run();
    return this.#firstSync.promise;
  }

  /**
   * Replaces the conditions of the given tables (monitor_cond_change,
   * ovsdb-server(7) §4.1.13) and remembers them for reconnects. Resolves once
   * the server accepted them, or at once while disconnected (they are sent
   * with the next monitor request).
   */
  async setConditions(update: ConditionsUpdate): Promise<void> {
    if (this.#closed) throw new OvsdbClientClosedError(this.database);
    for (const table of Object.keys(update)) {
      if (!(table in this.#spec))
        throw new OvsdbClientStateError(this.database, `table ${table} is not monitored`);
    }
    if (this.#schema)
      for (const [t, where] of Object.entries(update)) validateConditions(this.#schema, t, where);
    for (const [t, where] of Object.entries(update)) this.#conditions.set(t, where);
    const conn = this.#conn;
    if (!conn) return; // the next monitor request carries them
    if (!this.#synced) {
      // A monitor request is in flight with the old conditions: send the
      // change once it is answered (#monitor checks this flag).
      this.#conditionsDirty = true;
      return;
    }
    await this.#sendConditions(conn, Object.keys(update));
  }

  async #sendConditions(conn: Connection, tables: readonly string[]): Promise<void> {
    // Plain `monitor` (very old servers) has no conditions: every row is seen already.
    if (this.#method === 'monitor') return;
    const requests: Record<string, { where: WireCondition[] }[]> = {};
    for (const t of tables) {
      const where = this.#conditions.get(t);
      if (where !== undefined && this.#monitoredTables.has(t)) requests[t] = [{ where: [...where] }];
    }
    if (Object.keys(requests).length === 0) return;
    await conn.call('monitor_cond_change', [this.#monitorId, this.#monitorId, requests]);
  }

  /**
   * Runs a transaction (RFC 7047 §4.1.3). Throws OVSDB_TXN_FAILED on a
   * failed operation or commit, OVSDB_DISCONNECTED (retryable) when not
   * connected or the connection drops before the reply — never resent.
   */
  async transact(operations: readonly WireOperation[]): Promise<OperationResult[]> {
    if (this.#closed) throw new OvsdbClientClosedError(this.database);
    const conn = this.#conn;
    if (!conn || !conn.isOpen) throw new OvsdbDisconnectedError(this.#status?.remote ?? this.#o.remote);
    const reply = await this.#withinTransactTimeout(conn.call('transact', [this.database, ...operations]));
    return pairTransactResult(operations, reply);
  }

  /** The reply, or OVSDB_TRANSACT_TIMEOUT after transactTimeoutMs (0: no limit). */
  #withinTransactTimeout<T>(reply: Promise<T>): Promise<T> {
    const { transactTimeoutMs: ms, clock } = this.#o;
    if (ms <= 0) return reply;
    return new Promise<T>((resolve, reject) => {
      const timer = clock.setTimeout(() => reject(new OvsdbTransactTimeoutError(this.database, ms)), ms);
      reply.then(
        (value) => {
          clock.clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clock.clearTimeout(timer);
          reject(error as Error);
        },
      );
    });
  }

  /** Stops the loop and closes the connection; pending calls fail. */
  async close(): Promise<void> {
    if (this.#closed) return this.#loop;
    this.#closed = true;
    const reason = new OvsdbClientClosedError(this.database);
    this.#firstSync.reject(reason);
    this.#conn?.close(reason);
    this.#wake?.();
    await this.#loop;
  }

  // ---- the reconnect loop --------------------------------------------------

  async #run(): Promise<void> {
    let next = 0;
    while (!this.#closed) {
      const remote = this.#remotes[next % this.#remotes.length]!;
      next++;
      const { synced, error } = await this.#session(remote);
      if (this.#closed) break;
      this.#stats.disconnects++;
      // A session that synced resets the backoff: its successor starts afresh.
      this.#failures = synced ? 0 : this.#failures + 1;
      this.#emit({ type: 'disconnected', remote: remote.text, error });
      this.#logFailure(remote, error, synced);
      if (this.#failures > 0 && this.#failures % this.#remotes.length === 0) this.#server.forgetIndex();
      const delay = synced
        ? 0
        : backoffDelay(this.#failures, this.#remotes.length, this.#o.maxBackoffMs, this.#o.random);
      if (delay > 0) await this.#sleep(delay);
    }
  }

  /** One connection from connect to its end. */
  async #session(remote: Remote): Promise<{ synced: boolean; error: OvsdbError }> {
    this.#emit({ type: 'connecting', remote: remote.text });
    let conn: Connection;
    try {
      conn = await Connection.open(remote, this.#o, {
        notification: (method, params) => {
          if (conn === this.#conn) this.#onNotification(conn, method, params);
        },
        problem: (error) => this.#onProblem(remote, error),
      });
    } catch (error) {
      return { synced: false, error: asOvsdbError(error, remote) };
    }
    if (this.#closed) {
      conn.close(new OvsdbClientClosedError(this.database));
      return { synced: false, error: await conn.ended };
    }
    this.#conn = conn;
    this.#synced = false;
    let synced = false;
    try {
      await Promise.race([this.#handshake(conn), conn.ended.then((e) => Promise.reject(e))]);
      synced = true;
      if (this.#failures > LOUD_FAILURES) {
        this.#o.logger.info({ remote: remote.text, failures: this.#failures }, 'ovsdb reconnected');
      }
      this.#failures = 0;
    } catch (error) {
      conn.close(asOvsdbError(error, remote));
    }
    const error = await conn.ended;
    this.#conn = undefined;
    this.#synced = false;
    this.#method = undefined;
    this.#deferred = undefined;
    return { synced, error };
  }

  async #handshake(conn: Connection): Promise<void> {
    const remote = conn.remote.text;
    const [schemaJson] = await Promise.all([
      conn.call('get_schema', [this.database]),
      this.#checkServer(conn),
      // Lets the server tell us (monitor_canceled) about schema conversions
      // instead of dropping the connection (ovsdb-server(7) §4.1.18).
      conn.call('set_db_change_aware', [true]).catch(() => undefined),
    ]);
    const schema = parseSchema(schemaJson);
    if (this.#schema && this.#schema.version !== schema.version) {
      this.#o.logger.warn(
        { remote, from: this.#schema.version, to: schema.version },
        'ovsdb schema version changed; resyncing the columns the replica knows',
      );
      this.#lastTxnId = undefined;
    }
    this.#schema = schema;
    // Created before 'connected' so that listeners attached then see the initial load.
    this.#replica ??= this.#newReplica(
      schema,
      planMonitor(this.#spec, this.#conditions, schema, false).requests,
    );
    this.#emit({ type: 'connected', remote });
    await this.#monitor(conn);
  }

  /** Monitors `_Server` and refuses a member that must not serve us. */
  async #checkServer(conn: Connection): Promise<void> {
    let initial: unknown;
    try {
      initial = await conn.call('monitor', [SERVER_DATABASE, SERVER_MONITOR_ID, SERVER_MONITOR_REQUEST]);
    } catch (error) {
      // Servers before OVS 2.9 have no _Server database: nothing to check.
      if (error instanceof OvsdbRpcError) return;
      throw error;
    }
    this.#server.reset(initial, conn.remote.text);
  }

  /** Sends the monitor request, newest method first, and applies its reply. */
  async #monitor(conn: Connection): Promise<void> {
    const schema = this.#schema!;
    for (const method of MONITOR_METHODS) {
      const plan = planMonitor(this.#specFor(schema), this.#conditions, schema, method !== 'monitor');
      if (plan.missingTables.length > 0 || plan.missingColumns.length > 0) {
        this.#o.logger.warn(
          { remote: conn.remote.text, tables: plan.missingTables, columns: plan.missingColumns },
          'ovsdb server schema lacks monitored tables/columns; not monitoring them',
        );
      }
      const replica = this.#replica!;
      this.#monitoredTables = new Set(plan.tables);
      this.#conditionsDirty = false;
      const lastTxnId = method === 'monitor_cond_since' ? this.#lastTxnId : undefined;
      this.#deferred = [];
      let reply: unknown;
      try {
        reply = await conn.call(
          method,
          monitorParams(method, this.database, this.#monitorId, plan.requests, lastTxnId),
          monitorReplyOptions(method, replica, lastTxnId),
        );
      } catch (error) {
        this.#deferred = undefined;
        if (error instanceof OvsdbRpcError && error.error === 'unknown method' && method !== 'monitor')
          continue;
        throw error;
      }
      // A result that is no monitor result (e.g. null) brought no rows.
      if (!(reply instanceof MonitorReply))
        throw new OvsdbMalformedMessageError(conn.remote.text, `${method} reply: no <table-updates>`);
      this.#method = method;
      const resumed = reply.resumed;
      this.#lastTxnId = reply.lastTxnId;
      reply.commit();
      // Notifications that raced the reply, in arrival order.
      const held = this.#deferred ?? [];
      this.#deferred = undefined;
      for (const [m, params] of held) this.#applyNotification(m, params);
      if (!conn.isOpen) throw await conn.ended; // the replica diverged while applying
      this.#synced = true;
      this.#stats.syncs++;
      if (resumed) this.#stats.resumes++;
      else this.#stats.resyncs++;
      replica.markSynced(resumed);
      this.#emit({ type: 'synced', remote: conn.remote.text, resumed });
      this.#firstSync.resolve();
      if (this.#conditionsDirty) {
        this.#conditionsDirty = false;
        await this.#sendConditions(conn, [...this.#conditions.keys()]);
      }
      return;
    }
  }

  /**
   * The monitor spec for this server. After an online schema conversion
   * (ovsdb-server(7) §4.1.18, e.g. an OVN upgrade) the replica keeps the
   * decoders planned from the first schema — listeners hold that replica —
   * so every table asks for exactly the columns the replica knows (those the
   * new schema dropped are then dropped from the request and logged).
   */
  #specFor(schema: DatabaseSchema): MonitorSpec {
    const replica = this.#replica;
    if (!replica || replica.schema.version === schema.version) return this.#spec;
    const spec: Record<string, TableMonitorSpec> = {};
    for (const [table, t] of Object.entries(this.#spec)) {
      const known = replica.tableNames.includes(table) ? replica.columns(table) : undefined;
      spec[table] = { ...t, columns: t.columns ?? known };
    }
    return spec;
  }

  #newReplica(schema: DatabaseSchema, tables: MonitorPlan['requests']): Replica {
    const replica = new Replica(schema, tables);
    replica.on('problems', (problems) => this.#onReplicaProblems(problems));
    return replica;
  }

  /**
   * Malformed rows are skipped (logged, summarised). A modify or delete of a
   * row we do not hold means the replica diverged from the server: forget
   * the transaction id and reconnect, which resyncs with a full snapshot.
   */
  #onReplicaProblems(problems: readonly OvsdbError[]): void {
    const conn = this.#conn;
    const remote = conn?.remote.text;
    const diverged = problems.some((p) => p.code === 'OVSDB_UNKNOWN_ROW');
    this.#o.logger.warn(
      { remote, count: problems.length, first: problems.slice(0, 3).map((p) => p.message), diverged },
      'ovsdb row updates skipped',
    );
    if (diverged && conn) {
      this.#lastTxnId = undefined;
      conn.close(
        new OvsdbDisconnectedError(
          conn.remote.text,
          problems.find((p) => p.code === 'OVSDB_UNKNOWN_ROW'),
        ),
      );
    }
  }

  // ---- notifications ----------------------------------------------------------

  #onNotification(conn: Connection, method: string, params: readonly unknown[]): void {
    if (params[0] === SERVER_MONITOR_ID && method === 'update') {
      try {
        this.#server.update(params[1], conn.remote.text);
      } catch (error) {
        conn.close(error as OvsdbError);
      }
      return;
    }
    if (params[0] !== this.#monitorId) return;
    if (method === 'monitor_canceled') {
      // ovsdb-server(7) §4.1.18: the database was converted or removed.
      // Reconnecting re-reads the schema and re-monitors.
      conn.close(new OvsdbDisconnectedError(conn.remote.text, new Error('monitor canceled by the server')));
      return;
    }
    if (method !== 'update3' && method !== 'update2' && method !== 'update') return;
    if (this.#deferred) this.#deferred.push([method, params]);
    else this.#applyNotification(method, params);
  }

  /** update3: [id, last-txn-id, table-updates2]; update2/update: [id, table-updates(2)]. */
  #applyNotification(method: 'update3' | 'update2' | 'update', params: readonly unknown[]): void {
    const replica = this.#replica;
    if (!replica) return;
    if (method === 'update3') {
      if (typeof params[1] === 'string') this.#lastTxnId = params[1];
      replica.applyUpdates(3, params[2]);
    } else {
      replica.applyUpdates(method === 'update2' ? 2 : 1, params[1]);
    }
  }

  #onProblem(remote: Remote, error: OvsdbMalformedMessageError): void {
    this.#o.logger.warn({ remote: remote.text, err: error }, 'ovsdb message skipped');
  }

  // ---- helpers -------------------------------------------------------------

  #emit(status: ClientStatus): void {
    this.#status = status;
    this.emit('status', status);
  }

  #logFailure(remote: Remote, error: OvsdbError, wasSynced: boolean): void {
    const fields = { remote: remote.text, code: error.code, err: error, failures: this.#failures };
    if (wasSynced || this.#failures <= LOUD_FAILURES) {
      this.#o.logger.warn(fields, 'ovsdb connection lost');
    } else {
      if (this.#failures === LOUD_FAILURES + 1) {
        this.#o.logger.warn(fields, 'ovsdb reconnect keeps failing; further failures logged at debug');
      }
      this.#o.logger.debug(fields, 'ovsdb reconnect failed');
    }
  }

  /** Backoff wait; close() cuts it short through #wake. */
  #sleep(ms: number): Promise<void> {
    const clock = this.#o.clock;
    return new Promise((resolve) => {
      const timer = clock.setTimeout(() => this.#wake?.(), ms);
      this.#wake = () => {
        clock.clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }
}

function asOvsdbError(error: unknown, remote: Remote): OvsdbError {
  return error instanceof OvsdbError ? error : new OvsdbDisconnectedError(remote.text, error);
}
