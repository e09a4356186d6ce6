/**
 * The agent: joins the OVSDB clients, the namespace plumbing and the proxy.
 * Composition only: what it talks to comes in through AgentOptions
 * (agent-options.ts), the SB session is sb-session.ts, event routing is
 * triggers.ts, the work is the Reconciler's.
 *
 *   OVS db ──> who we are (system-id, bridge, datapath type) ──┐
 *   SB db  ──> session (conditions: only this chassis' rows)  ─┼─> events ─> keys ─> WorkQueue ─> Reconciler
 *                    │                                          │
 *                    └─> identity index (proxy), registration   ┘
 *
 * Event listeners only map rows to keys and return; reconciles reread the
 * replica and the host. Start-up: sync the OVS db, wait for system-id, sync
 * the SB and read our Chassis row, settle the monitor conditions, then
 * enqueue every network that has local ports or a namespace on the host and
 * start the workers. Ready once the SB is settled and that first pass is done.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { OVS_INDEXES, vethNames } from '../namespace/index.js';
import type { OvsdbClient, Replica } from '../ovsdb/index.js';
import { IdentityIndex } from '../proxy/index.js';
import { agentDeps, type AgentDeps, type AgentOptions, type AgentProxy } from './agent-options.js';
import {
  CHASSIS_PRIVATE_KEYS,
  decideRole,
  shadowedByOvnNeutronAgent,
  type RoleDecision,
} from './agent-role.js';
import { agentIdFor } from './chassis-id.js';
import { redactedConfig, type AgentConfig } from './config/index.js';
import { AgentMetrics } from './metrics.js';
import { startAdminServer } from './admin-server.js';
import { IdentityFeed } from './identity-feed.js';
import {
  localChassis,
  needsChecksumFill,
  OVS_MONITOR,
  waitForSystemId,
  type LocalChassis,
} from './ovs-local.js';
import { createOvsPorts } from './host.js';
import { Reconciler, type Listeners } from './reconciler.js';
import { Registration } from './registration.js';
import { SbSession, ovsSsl, sbRemote, sbSsl } from './sb-session.js';
import { routeOvsEvents, routeSbEvents, type RowEventLike } from './triggers.js';
import { WorkQueue } from './work-queue.js';
import { explainListenFailure } from './listen-failure.js';

export type { AgentHost, AgentOptions, AgentProxy } from './agent-options.js';

export class Agent {
  readonly #d: AgentDeps;
  readonly #config: AgentConfig;
  readonly #log: Logger;
  readonly metrics: AgentMetrics;
  readonly identity = new IdentityIndex();
  /** Which neutron agent this one registers as, and why (agent-role.ts). */
  readonly roleDecision: RoleDecision;
  #warnedShadowed = false;
  #ovs!: OvsdbClient;
  #sb!: SbSession;
  #local!: LocalChassis & { systemId: string };
  #feed!: IdentityFeed;
  #proxy!: AgentProxy;
  #queue!: WorkQueue<string>;
  #registration!: Registration;
  #reconciler!: Reconciler;
  #served = new Map<string, string>(); // vethRoot -> network, for OVS events
  #firstPassDone = false;
  #sbSynced = false;
  #resyncTimer: unknown;
  #stopped = false;
  #admin: { port: number; close(): Promise<void> } | undefined;
  #malformedSaid = new Set<string>();

  private constructor(opts: AgentOptions) {
    this.#d = agentDeps(opts);
    this.#config = opts.config;
    this.#log = opts.logger;
    this.roleDecision = decideRole(opts.config);
    this.metrics = new AgentMetrics(() => this.#replicaSizes());
  }

  static async start(opts: AgentOptions): Promise<Agent> {
    const agent = new Agent(opts);
    await agent.#start();
    return agent;
  }

  get adminPort(): number | undefined {
    return this.#admin?.port;
  }

  /** Why the agent is not ready yet (SB not synced, first pass not done), or undefined. */
  notReady(): string | undefined {
    if (!this.#sbSynced) return 'Southbound database not synced';
    if (!this.#firstPassDone) return 'first reconcile pass not done';
    return undefined;
  }

  async #start(): Promise<void> {
    const config = this.#config;
    const { clock, openClient } = this.#d;
    this.#log.info({ config: redactedConfig(config) }, 'ovnmeta agent starting');
    this.#log.info(
      {
        role: this.roleDecision.role.name,
        agent_type: this.roleDecision.role.agentType,
        reason: this.roleDecision.reason,
      },
      `registering as neutron's ${this.roleDecision.role.binary} (${this.roleDecision.role.agentType})`,
    );
    if (this.roleDecision.ignoredExtensions.length > 0)
      this.#log.warn(
        { extensions: this.roleDecision.ignoredExtensions },
        'ovnmeta implements only the metadata extension; run neutron-ovn-agent for these (docs/deploy.md, migration)',
      );

    const adminBind = this.#d.admin;
    if (adminBind) {
      this.#admin = await startAdminServer({
        host: adminBind.host,
        port: adminBind.port,
        registry: this.metrics.registry,
        notReady: () => this.notReady(),
      });
      this.#log.info({ port: this.#admin.port, host: adminBind.host }, 'admin endpoint listening');
    }

    // 1. The local OVS database: who we are.
    this.#ovs = openClient({
      remote: config.ovs.ovsdb_connection,
      database: 'Open_vSwitch',
      ssl: ovsSsl(config),
      probeIntervalMs: 0,
      transactTimeoutMs: config.ovs.ovsdb_connection_timeout * 1000,
      logger: this.#log.child({ db: 'Open_vSwitch' }),
      clock,
    });
    this.#watchStatus(this.#ovs, 'Open_vSwitch', (replica) => {
      for (const [table, indexes] of Object.entries(OVS_INDEXES)) {
        for (const [name, fn] of Object.entries(indexes)) replica.addIndex(table, name, fn);
      }
      replica.on('change', (events) => this.#onOvsEvents(events as readonly RowEventLike[]));
    });
    this.#ovs.monitor(OVS_MONITOR);
    await this.#ovs.start();
    this.#local = await waitForSystemId(this.#ovs.replica, () =>
      this.#log.warn(
        'Open_vSwitch external_ids:system-id is not set: ovn-controller is not set up yet; waiting',
      ),
    );
    this.#log.info(
      { chassis: this.#local.systemId, bridge: this.#local.bridge, datapathType: this.#local.datapathType },
      'chassis identity from the local OVS database',
    );

    // 2. The Southbound session, monitored with this chassis' conditions.
    this.#sb = new SbSession({
      remote: sbRemote(config, this.#local),
      ssl: sbSsl(config),
      systemId: this.#local.systemId,
      mode: config.ovnmeta.sb_monitor,
      client: {
        probeIntervalMs: config.ovn.ovsdb_probe_interval,
        maxBackoffMs: config.ovn.ovsdb_retry_max_interval * 1000,
        transactTimeoutMs: config.ovn.ovsdb_connection_timeout * 1000,
        logger: this.#log.child({ db: 'OVN_Southbound' }),
        clock,
      },
      openClient,
      onMalformed: (table, uuid, reason) => this.#malformed(table, uuid, reason),
      onProblems: (problems) =>
        this.#log.error(
          { problems: problems.map((p) => ({ code: p.code, message: p.message })) },
          'Southbound rows skipped',
        ),
      onChassis: (uuid) => this.#onChassis(uuid),
      onEvents: (events) => this.#onSbEvents(events as readonly RowEventLike[]),
      // A bug in a handler must not throw into the OVSDB client (that would
      // drop the session): it is logged and the periodic resync heals it.
      onHandlerError: (err) =>
        this.#log.error({ err }, 'Southbound event handling failed; a resync will repair'),
      onMonitored: (networks) => networks.forEach((net) => this.#queue?.add(net)),
      onConditionsError: (err) =>
        this.#log.warn({ err }, 'monitor_cond_change failed; the next change or reconnect retries'),
    });
    this.#watchStatus(this.#sb.client, 'OVN_Southbound');
    const view = this.#sb.view;

    // 3. The pieces that act.
    this.#feed = new IdentityFeed(
      this.identity,
      view,
      () => this.#sb.chassis,
      (port, err) => this.#log.warn({ port, err }, 'port skipped by the identity index'),
    );
    this.#proxy = await this.#d.proxy(this.identity, this.metrics);
    await this.#listenUnixSocket();
    const role = this.roleDecision.role;
    this.#registration = new Registration({
      role,
      agentId: agentIdFor(role, this.#local.systemId),
      bridge: this.#local.bridge,
      agentDownTimeSeconds: config.DEFAULT.agent_down_time,
      clock,
      transact: (ops) => this.#sb.client.transact(ops),
      onError: (what, err) => this.#log.warn({ err }, `Chassis_Private ${what} failed; will retry`),
      onWritten: (what, value) =>
        what === 'register'
          ? this.#log.info(
              { chassis: this.#local.systemId, sbCfg: value, role: role.name, key: role.sbCfgKey },
              'registered in Chassis_Private',
            )
          : this.#log.debug({ sbCfg: value, key: role.sbCfgKey }, 'heartbeat written'),
      onOverwritten: (what, detail) =>
        this.#log.warn(
          { chassis: this.#local.systemId, what, detail },
          what === 'removed'
            ? 'another writer removed our Chassis_Private keys; registering again'
            : 'another writer set our heartbeat back; writing the newest again',
        ),
    });
    const listeners: Listeners = {
      ensure: (net) =>
        this.#proxy
          .ensureListener({
            network: net.networkId,
            namespace: net.namespace,
            ipv6Device: net.ipv6 ? net.vethInside : undefined,
          })
          .catch(async (err: unknown) => Promise.reject(await explainListenFailure(err, net.namespace))),
      remove: (networkId) => this.#proxy.removeListener(networkId),
    };
    this.#reconciler = new Reconciler({
      view,
      chassis: () => this.#sb.chassis,
      monitored: (networkId) => this.#sb.monitors(networkId),
      checksumFill: () => needsChecksumFill(localChassis(this.#ovs.replica)),
      host: this.#d.host.plumbing,
      ovs: createOvsPorts(this.#ovs, () => localChassis(this.#ovs.replica).bridge),
      listeners,
      log: this.#log,
    });
    this.#queue = new WorkQueue<string>({
      concurrency: config.ovnmeta.reconcile_workers,
      clock,
      handler: async (networkId) => {
        const report = await this.#reconciler.reconcile(networkId);
        const veth = vethNames(networkId).root;
        if (report.intent === 'serve') this.#served.set(veth, networkId);
        else this.#served.delete(veth);
        this.metrics.networksServed.set(this.#proxy.listenerCount());
      },
      onResult: (networkId, outcome, ms, err) => {
        this.metrics.reconcileSeconds.observe({ outcome }, ms / 1000);
        if (outcome === 'retry' || outcome === 'terminal') {
          this.metrics.reconcileFailures.inc({ kind: outcome });
          this.#log.warn({ network: networkId, err, outcome }, 'reconcile failed');
        }
      },
    });

    // Our Chassis row is in the replica once the session has started: the
    // conditions need its uuid, and settle before anything is reconciled.
    await this.#sb.start();
    await this.#sb.settle();
    this.#sbSynced = true;

    // 4. First pass: every network with local ports or a namespace here.
    for (const net of await this.#allKeys()) this.#queue.add(net);
    this.#queue.start();
    const t0 = clock.now();
    void this.#queue.idle().then(() => {
      this.#firstPassDone = true;
      this.#log.info(
        { networks: this.#proxy.listenerCount(), ms: Math.round(clock.now() - t0) },
        'first reconcile pass done',
      );
    });
    this.#scheduleResync();
  }

  /** The periodic full pass, every resync_interval seconds (0: never). */
  #scheduleResync(): void {
    const every = this.#config.ovnmeta.resync_interval * 1000;
    if (every <= 0 || this.#stopped) return;
    this.#resyncTimer = this.#d.clock.setTimeout(() => {
      void this.resync();
      this.#scheduleResync();
    }, every);
    (this.#resyncTimer as { unref?: () => void } | undefined)?.unref?.();
  }

  /** Enqueue every network known to the SB or the host (periodic full pass). */
  async resync(): Promise<void> {
    // Low priority: a network an event names meanwhile goes first.
    for (const net of await this.#allKeys()) this.#queue.add(net, 'low');
  }

  /** Resolves when no reconcile is queued or running. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#resyncTimer !== undefined) this.#d.clock.clearTimeout(this.#resyncTimer);
    await this.#queue?.stop();
    this.#registration?.close();
    // Listeners close; namespaces stay so a restart does not cut metadata.
    await this.#proxy?.close();
    await Promise.allSettled([this.#sb?.close(), this.#ovs?.close(), this.#admin?.close()]);
    this.#log.info('ovnmeta agent stopped; namespaces left in place');
  }

  /** Every network with VM ports bound here or a namespace on the host (a scan: never in a handler). */
  async #allKeys(): Promise<Set<string>> {
    const keys = new Set(this.#sb.scanLocalNetworks().networks);
    for (const net of await this.#d.host.networksWithNamespace()) keys.add(net);
    return keys;
  }

  /**
   * neutron's `metadata_proxy_socket`, for operators who front us with their
   * own haproxy: it trusts X-OVN-Network-ID and X-Forwarded-For. A failure
   * here is reported and does not stop the namespace listeners.
   */
  async #listenUnixSocket(): Promise<void> {
    const path = this.#config.DEFAULT.metadata_proxy_socket;
    if (path === '') return;
    try {
      await mkdir(dirname(path), { recursive: true });
      const d = this.#config.DEFAULT;
      await this.#proxy.listenUnixSocket(path, d.metadata_proxy_socket_mode, {
        user: d.metadata_proxy_user,
        group: d.metadata_proxy_group,
      });
      this.#log.info({ path }, 'metadata proxy listening on the unix socket');
    } catch (err) {
      this.#log.error(
        { err, path },
        'cannot listen on metadata_proxy_socket; namespace listeners are not affected',
      );
    }
  }

  /**
   * Our Chassis row appeared, went or was recreated (the session has
   * re-targeted the conditions). Feeding the identity index again walks the
   * local ports, so it runs after the change listener returns, never in it.
   */
  #onChassis(uuid: string | undefined): void {
    this.#log.info({ chassis: this.#local.systemId, uuid }, uuid ? 'Chassis row found' : 'Chassis row gone');
    queueMicrotask(() => {
      try {
        this.#feed.refeed(this.#sb.scanLocalNetworks().datapaths);
        if (this.#sbSynced) void this.resync();
      } catch (err) {
        this.#log.error({ err }, 'identity refeed after a Chassis change failed; a resync will repair');
      }
    });
  }

  /** Said once: neutron-server does not list us (agent-role.ts shadowedByOvnNeutronAgent). */
  #warnIfShadowed(ids: ReadonlyMap<string, string> | undefined): void {
    if (this.#warnedShadowed || !shadowedByOvnNeutronAgent(this.roleDecision.role, ids)) return;
    this.#warnedShadowed = true;
    this.#log.warn(
      { chassis: this.#local.systemId, key: CHASSIS_PRIVATE_KEYS.neutronAgentId },
      'this chassis has an OVN Neutron agent (neutron-ovn-agent): neutron-server lists it, not the OVN Metadata agent, ' +
        'and its start-up removes our neutron:ovn-metadata-* keys; set [agent] extensions = metadata ' +
        'so that ovnmeta registers as the OVN Neutron agent (docs/deploy.md, migration)',
    );
  }

  /** SB replica change listener: maps rows to keys and work, and returns. */
  #onSbEvents(events: readonly RowEventLike[]): void {
    const view = this.#sb.view;
    const route = routeSbEvents(events, {
      chassis: this.#sb.chassis,
      networkOfDatapath: view.networkOfDatapath,
    });
    if (route.chassisPrivate !== 'none') {
      const row = view.chassisPrivate(this.#local.systemId);
      this.#registration?.chassisPrivate(row);
      this.#warnIfShadowed(row?.externalIds);
      // Recreated: a full sync, as neutron does; deferred, it walks the local ports.
      if (route.chassisPrivate === 'inserted' && this.#sbSynced) queueMicrotask(() => void this.resync());
    }
    if (route.sbGlobal) {
      const nbCfg = view.sbGlobalNbCfg();
      if (nbCfg !== undefined) this.#registration?.sbGlobal(nbCfg);
    }
    this.#feed?.onEvents(events);
    if (this.#queue) for (const net of route.networks) this.#queue.add(net);
  }

  /** OVS replica change listener: a port of ours or the bridge names served networks. */
  #onOvsEvents(events: readonly RowEventLike[]): void {
    if (!this.#queue) return;
    for (const net of routeOvsEvents(events, this.#served)) this.#queue.add(net);
  }

  /** Metrics and logs of a client's status; `attach` runs once, when its replica exists. */
  #watchStatus(client: OvsdbClient, db: string, attach?: (replica: Replica) => void): void {
    let attached = false;
    client.on('status', (s) => {
      if (s.type === 'connected' && !attached) {
        attached = true;
        attach?.(client.replica);
      }
      if (s.type === 'synced') {
        this.metrics.ovsdbConnected.set({ db }, 1);
        this.#log.info({ db, remote: s.remote, resumed: s.resumed }, 'OVSDB replica synced');
      } else if (s.type === 'disconnected') {
        this.metrics.ovsdbConnected.set({ db }, 0);
        this.metrics.ovsdbReconnects.inc({ db });
      }
    });
  }

  #malformed(table: string, uuid: string, reason: string): void {
    const key = `${table}/${uuid}/${reason}`;
    if (this.#malformedSaid.has(key)) return;
    this.#malformedSaid.add(key);
    this.#log.error({ table, uuid, reason }, 'malformed Southbound row skipped');
  }

  *#replicaSizes(): Iterable<{ db: string; table: string; rows: number }> {
    for (const [db, client] of [
      ['OVN_Southbound', this.#sb?.client],
      ['Open_vSwitch', this.#ovs],
    ] as const) {
      if (!client) continue;
      let sizes: Record<string, number>;
      try {
        sizes = client.replica.sizes();
      } catch {
        continue; // not connected yet
      }
      for (const [table, rows] of Object.entries(sizes)) yield { db, table, rows };
    }
  }
}
