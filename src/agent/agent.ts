/**
 * The agent: joins the OVSDB clients, the namespace plumbing and the proxy.
 *
 *   OVS db ──> who we are (system-id, bridge, datapath type) ──┐
 *   SB db  ──> replica (conditions: only this chassis' rows)  ─┼─> events ─> keys ─> WorkQueue ─> Reconciler
 *                    │                                          │
 *                    └─> identity index (proxy), registration   ┘
 *
 * Event listeners only map rows to keys and return; reconciles reread the
 * replica and the host. Start-up: sync the OVS db, wait for system-id, sync
 * the SB until the monitor conditions are stable, then enqueue every network
 * that has local ports or a namespace on the host, and start the workers.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { listNamespaces, NAMESPACE_PREFIX, OVS_INDEXES, vethNames } from '../namespace/index.js';
import { OvsdbClient, type Replica } from '../ovsdb/index.js';
import { IdentityIndex, createMetadataProxy, type MetadataProxy } from '../proxy/index.js';
import { CHASSIS_PRIVATE_KEYS, decideRole, type RoleDecision } from './agent-role.js';
import { agentIdFor } from './chassis-id.js';
import { optionSource, redactedConfig, type AgentConfig } from './config/index.js';
import { AgentMetrics } from './metrics.js';
import { startAdminServer } from './admin-server.js';
import { IdentityFeed } from './identity-feed.js';
import { localChassis, needsChecksumFill, OVS_MONITOR, type LocalChassis } from './ovs-local.js';
import { createHostPlumbing, createOvsPorts } from './host.js';
import { Reconciler, type Listeners } from './reconciler.js';
import { Registration } from './registration.js';
import { MonitorConditions } from './monitor-conditions.js';
import { SbView, sbIndexes } from './sb-view.js';
import { bridgeEventMatters, networksTouched, type RowEventLike } from './triggers.js';
import { WorkQueue } from './work-queue.js';
import { proxyOptions } from './proxy-options.js';
import { explainListenFailure } from './listen-failure.js';

export interface AgentOptions {
  readonly config: AgentConfig;
  readonly logger: Logger;
  /** Override the admin endpoint (tests use port 0); null disables it. */
  readonly admin?: { host: string; port: number } | null;
}

export class Agent {
  readonly #config: AgentConfig;
  readonly #log: Logger;
  readonly metrics: AgentMetrics;
  readonly identity = new IdentityIndex();
  /** Which neutron agent this one registers as, and why (agent-role.ts). */
  readonly roleDecision: RoleDecision;
  #warnedShadowed = false;
  #ovs!: OvsdbClient;
  #sb!: OvsdbClient;
  #local!: LocalChassis & { systemId: string };
  #view!: SbView;
  #feed!: IdentityFeed;
  #proxy!: MetadataProxy;
  #queue!: WorkQueue<string>;
  #registration!: Registration;
  #reconciler!: Reconciler;
  #chassis: string | undefined;
  #served = new Map<string, string>(); // vethRoot -> network, for OVS events
  #conditions!: MonitorConditions;
  #firstPassDone = false;
  #sbSynced = false;
  #resyncTimer: NodeJS.Timeout | undefined;
  #admin: { port: number; close(): Promise<void> } | undefined;
  #malformedSaid = new Set<string>();

  private constructor(opts: AgentOptions) {
    this.#config = opts.config;
    this.#log = opts.logger;
    this.roleDecision = decideRole(opts.config);
    this.metrics = new AgentMetrics(() => this.#replicaSizes());
  }

  static async start(opts: AgentOptions): Promise<Agent> {
    const agent = new Agent(opts);
    await agent.#start(opts);
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

  async #start(opts: AgentOptions): Promise<void> {
    const config = this.#config;
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

    const adminBind = opts.admin === undefined ? config.ovnmeta.metrics_bind : opts.admin;
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
    this.#ovs = new OvsdbClient({
      remote: config.ovs.ovsdb_connection,
      database: 'Open_vSwitch',
      ssl: config.ovs.ssl_key_file
        ? {
            privateKey: config.ovs.ssl_key_file,
            certificate: config.ovs.ssl_cert_file,
            caCert: config.ovs.ssl_ca_cert_file,
          }
        : undefined,
      probeIntervalMs: 0,
      transactTimeoutMs: config.ovs.ovsdb_connection_timeout * 1000,
      logger: this.#log.child({ db: 'Open_vSwitch' }),
    });
    this.#watchStatus(this.#ovs, 'Open_vSwitch', (replica) => {
      for (const [table, indexes] of Object.entries(OVS_INDEXES)) {
        for (const [name, fn] of Object.entries(indexes)) replica.addIndex(table, name, fn);
      }
      replica.on('change', (events) => this.#onOvsEvents(events as readonly RowEventLike[]));
    });
    this.#ovs.monitor(OVS_MONITOR);
    await this.#ovs.start();
    this.#local = await this.#waitForSystemId();
    this.#log.info(
      { chassis: this.#local.systemId, bridge: this.#local.bridge, datapathType: this.#local.datapathType },
      'chassis identity from the local OVS database',
    );

    // 2. The Southbound, monitored with this chassis' conditions.
    const sbRemote =
      optionSource(config, 'ovn', 'ovn_sb_connection').kind === 'default' && this.#local.ovnRemote
        ? this.#local.ovnRemote
        : config.ovn.ovn_sb_connection;
    this.#sb = new OvsdbClient({
      remote: sbRemote,
      database: 'OVN_Southbound',
      ssl: config.ovn.ovn_sb_private_key
        ? {
            privateKey: config.ovn.ovn_sb_private_key,
            certificate: config.ovn.ovn_sb_certificate,
            caCert: config.ovn.ovn_sb_ca_cert,
          }
        : undefined,
      probeIntervalMs: config.ovn.ovsdb_probe_interval,
      maxBackoffMs: config.ovn.ovsdb_retry_max_interval * 1000,
      transactTimeoutMs: config.ovn.ovsdb_connection_timeout * 1000,
      logger: this.#log.child({ db: 'OVN_Southbound' }),
    });
    // The replica exists from the first 'connected' on: index it and listen
    // before the initial load is applied.
    this.#watchStatus(this.#sb, 'OVN_Southbound', (replica) => {
      for (const [table, indexes] of Object.entries(sbIndexes)) {
        for (const [name, fn] of Object.entries(indexes)) replica.addIndex(table, name, fn);
      }
      replica.on('change', (events) => this.#onSbEvents(events as readonly RowEventLike[]));
      replica.on('problems', (problems) =>
        this.#log.error(
          { problems: problems.map((p) => ({ code: p.code, message: p.message })) },
          'Southbound rows skipped',
        ),
      );
    });
    // The view reads whatever replica the client holds (it exists from the
    // first connection on); constructed now so every piece can hold it.
    this.#view = new SbView(
      {
        table: (name) => this.#sb.replica.table(name),
        byIndex: (table, index, key) => this.#sb.replica.byIndex(table, index, key),
      },
      (table, uuid, reason) => this.#malformed(table, uuid, reason),
    );
    this.#conditions = new MonitorConditions({
      client: this.#sb,
      mode: config.ovnmeta.sb_monitor,
      systemId: this.#local.systemId,
      reader: this.#view,
      additionalChassis: () => this.#hasAdditionalChassis(),
      onMonitored: (networks) => networks.forEach((net) => this.#queue?.add(net)),
      onError: (err) =>
        this.#log.warn({ err }, 'monitor_cond_change failed; the next change or reconnect retries'),
    });
    this.#sb.monitor(this.#conditions.monitorSpec());

    // 3. The pieces that act.
    this.#feed = new IdentityFeed(
      this.identity,
      this.#view,
      () => this.#chassis,
      (port, err) => this.#log.warn({ port, err }, 'port skipped by the identity index'),
    );
    this.#proxy = await createMetadataProxy(proxyOptions(config, this.identity, this.#log, this.metrics));
    await this.#listenUnixSocket();
    const role = this.roleDecision.role;
    this.#registration = new Registration({
      role,
      agentId: agentIdFor(role, this.#local.systemId),
      bridge: this.#local.bridge,
      agentDownTimeSeconds: config.DEFAULT.agent_down_time,
      transact: (ops) => this.#sb.transact(ops),
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
      view: this.#view,
      chassis: () => this.#chassis,
      monitored: (networkId) => this.#conditions.monitors(networkId),
      checksumFill: () => needsChecksumFill(localChassis(this.#ovs.replica)),
      host: createHostPlumbing(),
      ovs: createOvsPorts(this.#ovs, () => localChassis(this.#ovs.replica).bridge),
      listeners,
      log: this.#log,
    });
    this.#queue = new WorkQueue<string>({
      concurrency: config.ovnmeta.reconcile_workers,
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

    this.#sb.on('status', (s) => {
      if (s.type === 'synced') this.#conditions.rescan(this.#chassis);
    });

    await this.#sb.start();
    // Our Chassis row is in the replica now: the conditions need its uuid.
    this.#refreshChassis();
    await this.#conditions.settle();
    this.#sbSynced = true;

    // 4. First pass: every network with local ports or a namespace here.
    for (const net of await this.#allKeys()) this.#queue.add(net);
    this.#queue.start();
    const t0 = performance.now();
    void this.#queue.idle().then(() => {
      this.#firstPassDone = true;
      this.#log.info(
        { networks: this.#proxy.listenerCount(), ms: Math.round(performance.now() - t0) },
        'first reconcile pass done',
      );
    });
    const every = config.ovnmeta.resync_interval * 1000;
    if (every > 0) {
      this.#resyncTimer = setInterval(() => void this.resync(), every);
      this.#resyncTimer.unref();
    }
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
    if (this.#resyncTimer) clearInterval(this.#resyncTimer);
    await this.#queue?.stop();
    this.#registration?.close();
    // Listeners close; namespaces stay so a restart does not cut metadata.
    await this.#proxy?.close();
    await Promise.allSettled([this.#sb?.close(), this.#ovs?.close(), this.#admin?.close()]);
    this.#log.info('ovnmeta agent stopped; namespaces left in place');
  }

  async #allKeys(): Promise<Set<string>> {
    const keys = new Set(this.#view.scanLocalNetworks(this.#chassis).networks);
    for (const ns of await listNamespaces(NAMESPACE_PREFIX)) keys.add(ns.slice(NAMESPACE_PREFIX.length));
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

  async #waitForSystemId(): Promise<LocalChassis & { systemId: string }> {
    let said = false;
    for (;;) {
      const local = localChassis(this.#ovs.replica);
      if (local.systemId !== undefined) return local as LocalChassis & { systemId: string };
      if (!said) {
        this.#log.warn(
          'Open_vSwitch external_ids:system-id is not set: ovn-controller is not set up yet; waiting',
        );
        said = true;
      }
      await new Promise<void>((resolve) => this.#ovs.replica.once('change', () => resolve()));
    }
  }

  /** Port_Binding.additional_chassis exists since OVN 22.06; assume so until the schema is known. */
  #hasAdditionalChassis(): boolean {
    if (this.#sb?.status === undefined || this.#sb.status.type === 'connecting') return true;
    return this.#sb.schema.tables.get('Port_Binding')?.columns.has('additional_chassis') ?? false;
  }

  /** Re-reads our Chassis row; a new chassis uuid re-targets everything. */
  #refreshChassis(): void {
    const uuid = this.#view.chassisUuid(this.#local.systemId);
    if (uuid === this.#chassis) return;
    this.#chassis = uuid;
    this.#log.info({ chassis: this.#local.systemId, uuid }, uuid ? 'Chassis row found' : 'Chassis row gone');
    this.#conditions.rescan(uuid);
    const local = this.#view.scanLocalNetworks(uuid);
    this.#feed.refeed(local.datapaths);
    if (this.#sbSynced) void this.resync();
  }

  /**
   * Replica change listener: maps rows to keys and returns. It must not
   * throw into the OVSDB client (that would drop the session), so a bug here
   * is logged and the periodic resync heals what was missed.
   */
  /**
   * neutron-server lists only the OVN Neutron agent of a Chassis_Private that
   * has neutron:ovn-neutron-agent-id (ovsdb_monitor.py ChassisOVNAgentWriteEvent,
   * AgentCache.populate): as the metadata agent we are then invisible to it.
   */
  #warnIfShadowed(ids: ReadonlyMap<string, string> | undefined): void {
    if (this.#warnedShadowed || this.roleDecision.role.name !== 'metadata-agent') return;
    if (!ids?.has(CHASSIS_PRIVATE_KEYS.neutronAgentId)) return;
    this.#warnedShadowed = true;
    this.#log.warn(
      { chassis: this.#local.systemId, key: CHASSIS_PRIVATE_KEYS.neutronAgentId },
      'this chassis has an OVN Neutron agent (neutron-ovn-agent): neutron-server lists it, not the OVN Metadata agent, ' +
        'and its start-up removes our neutron:ovn-metadata-* keys; set [agent] extensions = metadata ' +
        'so that ovnmeta registers as the OVN Neutron agent (docs/deploy.md, migration)',
    );
  }

  #onSbEvents(events: readonly RowEventLike[]): void {
    try {
      this.#routeSbEvents(events);
    } catch (err) {
      this.#log.error({ err }, 'Southbound event handling failed; a resync will repair');
    }
  }

  #routeSbEvents(events: readonly RowEventLike[]): void {
    let chassisChanged = false;
    for (const ev of events) {
      if (ev.table === 'Chassis') chassisChanged = true;
      else if (ev.table === 'Chassis_Private' && this.#local) {
        const row = this.#view.chassisPrivate(this.#local.systemId);
        this.#registration?.chassisPrivate(row);
        this.#warnIfShadowed(row?.externalIds);
        if (ev.type === 'insert' && this.#sbSynced) void this.resync(); // recreated: full sync, as neutron
      } else if (ev.table === 'SB_Global') {
        const nbCfg = this.#view.sbGlobalNbCfg();
        if (nbCfg !== undefined) this.#registration?.sbGlobal(nbCfg);
      }
    }
    if (chassisChanged) this.#refreshChassis();
    this.#feed?.onEvents(events);
    const touched = networksTouched(events, {
      chassis: this.#chassis,
      networkOfDatapath: this.#view.networkOfDatapath,
    });
    if (this.#queue) for (const net of touched.networks) this.#queue.add(net);
    this.#conditions.onEvents(events);
  }

  #onOvsEvents(events: readonly RowEventLike[]): void {
    if (!this.#queue) return;
    for (const ev of events) {
      if (ev.table === 'Bridge') {
        // A datapath type change or a bridge recreated: check every network.
        if (bridgeEventMatters(ev)) for (const net of this.#served.values()) this.#queue.add(net);
        continue;
      }
      if (ev.table !== 'Port' && ev.table !== 'Interface') continue;
      for (const row of [ev.new, ev.old]) {
        const net = typeof row?.name === 'string' ? this.#served.get(row.name) : undefined;
        if (net) this.#queue.add(net);
      }
    }
  }

  /** Metrics and logs of a client's status; `attach` runs once, when its replica exists. */
  #watchStatus(client: OvsdbClient, db: string, attach: (replica: Replica) => void): void {
    let attached = false;
    client.on('status', (s) => {
      if (s.type === 'connected' && !attached) {
        attached = true;
        attach(client.replica);
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
      ['OVN_Southbound', this.#sb],
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
