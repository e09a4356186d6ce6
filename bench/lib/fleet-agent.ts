// The simulated agents of bench/fleet.ts.
//
// FleetAgent is one chassis' SB session made of the agent's own pieces,
// joined as src/agent/agent.ts joins them: the OvsdbClient with the
// monitor spec and conditions of MonitorConditions, the SbView and its
// indexes, Registration (register, nb_cfg heartbeat with neutron's random
// delay). No namespaces, proxy or reconciler: only what the SB sees.
//
// ThinAgent is for `sb_monitor = all` at fleet scale, where a replica of the
// whole Port_Binding table per agent (tens of MB each) does not fit a
// thousand times in one machine: it sends the same monitor request
// (sbMonitorSpec of the same mode), registers and heartbeats with the same
// Registration class, and counts the bytes it is sent without keeping rows.
// The server does the same work for it as for a FleetAgent.
import { createConnection, type Socket } from 'node:net';
import { knownPortBindingColumns, MonitorConditions } from '../../src/agent/monitor-conditions.js';
import { Registration } from '../../src/agent/registration.js';
import { sbMonitorSpec, type ConditionShape, type SbMonitorMode } from '../../src/agent/sb-monitor.js';
import { SbView, sbIndexes } from '../../src/agent/sb-view.js';
import type { RowEventLike } from '../../src/agent/triggers.js';
import { OvsdbClient, connectTransport, type TransportFactory } from '../../src/ovsdb/index.js';

export interface FleetAgentOptions {
  readonly remote: string;
  readonly systemId: string;
  readonly mode: SbMonitorMode;
  readonly shape?: ConditionShape;
  /** Neutron's agent_down_time (the heartbeat delay is at most a third of it, 3..10 s). */
  readonly agentDownTimeSeconds: number;
  readonly onHeartbeat: (at: number) => void;
}

export interface SessionCounters {
  bytes: number;
  registered: boolean;
}

export class FleetAgent {
  readonly counters: SessionCounters = { bytes: 0, registered: false };
  readonly client: OvsdbClient;
  readonly view: SbView;
  readonly conditions: MonitorConditions;
  readonly registration: Registration;
  #chassis: string | undefined;

  constructor(readonly o: FleetAgentOptions) {
    const transport: TransportFactory = (r, handlers, options) =>
      connectTransport(
        r,
        {
          data: (chunk) => {
            this.counters.bytes += chunk.length;
            handlers.data(chunk);
          },
          closed: handlers.closed,
        },
        options,
      );
    this.client = new OvsdbClient({
      remote: o.remote,
      database: 'OVN_Southbound',
      probeIntervalMs: 60_000,
      maxBackoffMs: 5_000,
      transport,
    });
    this.view = new SbView({
      table: (name) => this.client.replica.table(name),
      byIndex: (table, index, key) => this.client.replica.byIndex(table, index, key),
    });
    this.conditions = new MonitorConditions({
      client: this.client,
      mode: o.mode,
      shape: o.shape,
      systemId: o.systemId,
      reader: this.view,
      portBindingColumns: () => knownPortBindingColumns(this.client),
      onMonitored: () => {},
      onError: () => {},
    });
    this.registration = new Registration({
      agentId: `fleet-${o.systemId}`,
      bridge: 'br-int',
      agentDownTimeSeconds: o.agentDownTimeSeconds,
      transact: (ops) => this.client.transact(ops),
      onWritten: (what) => {
        if (what === 'register') this.counters.registered = true;
        else o.onHeartbeat(Date.now());
      },
    });
  }

  /** Resolves once synced, the conditions settled and the chassis registered. */
  async start(): Promise<void> {
    let attached = false;
    this.client.on('status', (s) => {
      if (s.type === 'connected' && !attached) {
        attached = true;
        for (const [table, indexes] of Object.entries(sbIndexes))
          for (const [name, fn] of Object.entries(indexes)) this.client.replica.addIndex(table, name, fn);
        this.client.replica.on('change', (events) => this.#route(events as readonly RowEventLike[]));
      }
      if (s.type === 'synced') this.conditions.rescan(this.#chassis);
    });
    this.client.monitor(this.conditions.monitorSpec());
    await this.client.start();
    this.#refreshChassis();
    await this.conditions.settle();
    while (!this.counters.registered) await new Promise((r) => setTimeout(r, 20));
  }

  /** The logical ports of the VM ports bound here, as the replica has them. */
  localPorts(): string[] {
    return this.#chassis === undefined
      ? []
      : [...this.view.localPorts(this.#chassis)].map((p) => p.logicalPort);
  }

  /** Rows held: Port_Binding and Datapath_Binding. */
  held(): { ports: number; datapaths: number } {
    return {
      ports: this.client.replica.size('Port_Binding'),
      datapaths: this.client.replica.size('Datapath_Binding'),
    };
  }

  /** The metadata ports (logical_port) the replica holds. */
  metadataPorts(): string[] {
    const out: string[] = [];
    for (const row of this.client.replica.table('Port_Binding').values())
      if (row.type === 'localport') out.push(String(row.logical_port));
    return out;
  }

  async close(): Promise<void> {
    this.registration.close();
    await this.client.close();
  }

  #refreshChassis(): void {
    const uuid = this.view.chassisUuid(this.o.systemId);
    if (uuid === this.#chassis) return;
    this.#chassis = uuid;
    this.conditions.rescan(uuid);
  }

  // As agent.ts #routeSbEvents, without the reconcile side.
  #route(events: readonly RowEventLike[]): void {
    let chassisChanged = false;
    for (const ev of events) {
      if (ev.table === 'Chassis') chassisChanged = true;
      else if (ev.table === 'Chassis_Private')
        this.registration.chassisPrivate(this.view.chassisPrivate(this.o.systemId));
      else if (ev.table === 'SB_Global') {
        const nbCfg = this.view.sbGlobalNbCfg();
        if (nbCfg !== undefined) this.registration.sbGlobal(nbCfg);
      }
    }
    if (chassisChanged) this.#refreshChassis();
    this.conditions.onEvents(events);
  }
}

export interface ThinAgentOptions extends FleetAgentOptions {
  /** Its Chassis_Private row and the nb_cfg there (known from the fill). */
  readonly chassisPrivateUuid: string;
  readonly nbCfg: number;
}

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

export class ThinAgent {
  readonly counters: SessionCounters = { bytes: 0, registered: false };
  readonly registration: Registration;
  #socket: Socket | undefined;
  readonly #scanner = new FrameScanner(256 * 1024);
  #nextId = 1;
  readonly #calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(readonly o: ThinAgentOptions) {
    this.registration = new Registration({
      agentId: `fleet-${o.systemId}`,
      bridge: 'br-int',
      agentDownTimeSeconds: o.agentDownTimeSeconds,
      transact: (ops) => this.#call('transact', ['OVN_Southbound', ...ops]),
      onWritten: (what) => {
        if (what === 'register') this.counters.registered = true;
        else o.onHeartbeat(Date.now());
      },
    });
  }

  async start(): Promise<void> {
    const path = this.o.remote.replace(/^unix:/, '');
    // A thousand sessions at once overflow the relay's listen backlog
    // (EAGAIN on a unix socket): retry as OvsdbClient's reconnect does.
    for (let attempt = 0; ; attempt++) {
      const socket = createConnection(path);
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('error', reject);
        });
        this.#socket = socket;
        break;
      } catch (err) {
        socket.destroy();
        // A relay busy sending initial dumps accepts nothing for minutes.
        if (attempt > 100_000) throw err;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * Math.min(2000, 50 * 2 ** attempt)));
      }
    }
    this.#socket.on('data', (chunk: Buffer) => {
      this.counters.bytes += chunk.length;
      this.#scanner.push(
        chunk,
        (text) => this.#frame(text),
        () => this.#settle(1, {}),
      );
    });
    const spec = sbMonitorSpec(
      { systemId: this.o.systemId, chassis: undefined, datapaths: [], networks: [], additionalChassis: true },
      this.o.mode,
    );
    const requests = Object.fromEntries(
      Object.entries(spec).map(([table, t]) => [
        table,
        [{ columns: [...t.columns], ...(t.where && { where: t.where }) }],
      ]),
    );
    await this.#call('monitor_cond_since', ['OVN_Southbound', 'fleet', requests, ZERO_UUID]);
    this.registration.chassisPrivate({ uuid: this.o.chassisPrivateUuid, nbCfg: this.o.nbCfg });
    this.registration.sbGlobal(this.o.nbCfg);
    while (!this.counters.registered) await new Promise((r) => setTimeout(r, 20));
  }

  close(): Promise<void> {
    this.registration.close();
    this.#socket?.destroy();
    return Promise.resolve();
  }

  #call(method: string, params: unknown[]): Promise<unknown> {
    const id = this.#nextId++;
    this.#socket!.write(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => this.#calls.set(id, { resolve, reject }));
  }

  #frame(text: string): void {
    const msg = JSON.parse(text) as {
      id?: number | string | null;
      method?: string;
      params?: unknown[];
      result?: unknown;
      error?: unknown;
    };
    if (msg.method === 'echo') {
      this.#socket!.write(JSON.stringify({ id: msg.id, result: msg.params, error: null }));
      return;
    }
    if (msg.method === 'update3' || msg.method === 'update2') {
      const tables = msg.params?.[msg.method === 'update3' ? 2 : 1] as Record<string, unknown> | undefined;
      const sbGlobal = tables?.SB_Global as Record<string, { modify?: { nb_cfg?: number } }> | undefined;
      for (const row of Object.values(sbGlobal ?? {}))
        if (typeof row.modify?.nb_cfg === 'number') this.registration.sbGlobal(row.modify.nb_cfg);
      return;
    }
    if (typeof msg.id === 'number') {
      const failed =
        Array.isArray(msg.result) && msg.result.some((r) => r && typeof r === 'object' && 'error' in r);
      if (msg.error || failed)
        this.#calls.get(msg.id)?.reject(new Error(JSON.stringify(msg.error ?? msg.result)));
      else this.#settle(msg.id, msg.result);
    }
  }

  #settle(id: number, result: unknown): void {
    this.#calls.get(id)?.resolve(result);
    this.#calls.delete(id);
  }
}

/**
 * Cuts a JSON-RPC byte stream into top-level values by brace depth, keeping
 * the text of small ones only: a thin session must not hold a whole-table
 * reply (tens of MB) a thousand times over. A value larger than `keep` bytes
 * is the initial monitor reply (the only one), reported by `big` at its end.
 */
class FrameScanner {
  #depth = 0;
  #inString = false;
  #escape = false;
  #parts: Buffer[] = [];
  #size = 0;
  #big = false;

  constructor(private readonly keep: number) {}

  push(chunk: Buffer, small: (text: string) => void, big: () => void): void {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.#inString) {
        if (this.#escape) this.#escape = false;
        else if (c === 0x5c) this.#escape = true;
        else if (c === 0x22) this.#inString = false;
        continue;
      }
      if (c === 0x22) this.#inString = true;
      else if (c === 0x7b || c === 0x5b) this.#depth++;
      else if ((c === 0x7d || c === 0x5d) && --this.#depth === 0) {
        this.#take(chunk.subarray(start, i + 1));
        if (this.#big) big();
        else small(Buffer.concat(this.#parts).toString('utf8'));
        this.#parts = [];
        this.#size = 0;
        this.#big = false;
        start = i + 1;
      }
    }
    if (start < chunk.length && this.#depth > 0) this.#take(chunk.subarray(start));
  }

  #take(part: Buffer): void {
    if (this.#big) return;
    this.#size += part.length;
    if (this.#size > this.keep) {
      this.#big = true;
      this.#parts = [];
    } else this.#parts.push(Buffer.from(part));
  }
}
