/**
 * The one local Southbound session of this chassis, shared by the agent and
 * `ovnmeta verify`: which SB to reach (config, else ovn-controller's
 * ovn-remote) and with which SSL files, the OvsdbClient monitoring it with
 * this chassis' conditions (sb-monitor.ts), the replica indexes and the
 * SbView over them, our Chassis row's uuid, and the monitor conditions kept
 * in step (monitor-conditions.ts).
 *
 *   start()  connect, load the replica (indexed from the first 'connected'
 *            on, before the initial load), read our Chassis row
 *   settle() widen the conditions until they stop changing: the Chassis row
 *            names our uuid, local ports name their datapaths, datapaths
 *            name the networks, networks bring their metadata ports
 *
 * A Port_Binding or Datapath_Binding change, and every resync (reconnect),
 * brings the conditions up to date (coalesced, never inside the listener).
 * Replica changes reach `onEvents` after the session has read a new
 * Chassis row (`onChassis`), so a handler always sees the current uuid.
 */
import {
  OvsdbClient,
  type OvsdbClientOptions,
  type OvsdbError,
  type RowEvent,
  type SslOptions,
} from '../ovsdb/index.js';
import { optionSource, type AgentConfig } from './config/index.js';
import { knownPortBindingColumns, MonitorConditions } from './monitor-conditions.js';
import type { LocalChassis } from './ovs-local.js';
import type { SbMonitorMode } from './sb-monitor.js';
import { SbView, sbIndexes, type MalformedReporter } from './sb-view.js';

/** The agent's rule: `[ovn] ovn_sb_connection` when set in a file, else ovn-controller's ovn-remote. */
export function sbRemote(config: AgentConfig, local: Pick<LocalChassis, 'ovnRemote'>): string {
  return optionSource(config, 'ovn', 'ovn_sb_connection').kind === 'default' && local.ovnRemote
    ? local.ovnRemote
    : config.ovn.ovn_sb_connection;
}

/** The SSL files of `[ovn] ovn_sb_*`, when a private key is configured. */
export function sbSsl(config: Pick<AgentConfig, 'ovn'>): SslOptions | undefined {
  const o = config.ovn;
  return sslFiles(o.ovn_sb_private_key, o.ovn_sb_certificate, o.ovn_sb_ca_cert);
}

/** The SSL files of `[ovs] ssl_*` for the local OVS db, when a key file is configured. */
export function ovsSsl(config: Pick<AgentConfig, 'ovs'>): SslOptions | undefined {
  const o = config.ovs;
  return sslFiles(o.ssl_key_file, o.ssl_cert_file, o.ssl_ca_cert_file);
}

function sslFiles(privateKey: string, certificate: string, caCert: string): SslOptions | undefined {
  return privateKey ? { privateKey, certificate, caCert } : undefined;
}

/** Opens an OVSDB client; tests pass one over an in-memory server. */
export type OpenClient = (options: OvsdbClientOptions) => OvsdbClient;
export const openOvsdbClient: OpenClient = (options) => new OvsdbClient(options);

export interface SbSessionOptions {
  readonly remote: string;
  readonly ssl?: SslOptions | undefined;
  /** Open_vSwitch external_ids:system-id: the name of our Chassis row. */
  readonly systemId: string;
  /** `[ovnmeta] sb_monitor` (default conditional, docs/scale.md). */
  readonly mode?: SbMonitorMode;
  /** The rest of the client's options (probe, backoff, timeouts, logger, transport, clock). */
  readonly client?: Omit<OvsdbClientOptions, 'remote' | 'database' | 'ssl'>;
  readonly openClient?: OpenClient;
  readonly onMalformed?: MalformedReporter;
  /** Rows the replica skipped (never thrown). */
  readonly onProblems?: (problems: readonly OvsdbError[]) => void;
  /** Our Chassis row's uuid changed (found, gone, recreated). */
  readonly onChassis?: (uuid: string | undefined) => void;
  /** Replica changes, in the replica's change listener: map rows to work and return. */
  readonly onEvents?: (events: readonly RowEvent[]) => void;
  /** A handler above threw; the session keeps going (the client must not see it). */
  readonly onHandlerError?: (err: unknown) => void;
  /** Networks whose metadata port has just become monitored. */
  readonly onMonitored?: (networks: readonly string[]) => void;
  /** A background monitor_cond_change failed; the next change or reconnect retries. */
  readonly onConditionsError?: (err: unknown) => void;
}

export class SbSession {
  readonly client: OvsdbClient;
  readonly view: SbView;
  readonly systemId: string;
  readonly #o: SbSessionOptions;
  readonly #conditions: MonitorConditions;
  #chassis: string | undefined;

  constructor(o: SbSessionOptions) {
    this.#o = o;
    this.systemId = o.systemId;
    this.client = (o.openClient ?? openOvsdbClient)({
      ...o.client,
      remote: o.remote,
      database: 'OVN_Southbound',
      ...(o.ssl ? { ssl: o.ssl } : {}),
    });
    // The view reads whatever replica the client holds (it exists from the first connection on).
    this.view = new SbView(
      {
        table: (name) => this.client.replica.table(name),
        byIndex: (table, index, key) => this.client.replica.byIndex(table, index, key),
      },
      o.onMalformed,
    );
    this.#conditions = new MonitorConditions({
      client: this.client,
      ...(o.mode ? { mode: o.mode } : {}),
      systemId: o.systemId,
      reader: this.view,
      portBindingColumns: () => knownPortBindingColumns(this.client),
      onMonitored: (networks) => o.onMonitored?.(networks),
      onError: (err) => o.onConditionsError?.(err),
    });
    let attached = false;
    this.client.on('status', (s) => {
      // The replica exists from the first 'connected' on: index it and
      // listen before the initial load is applied.
      if (s.type === 'connected' && !attached) {
        attached = true;
        this.#attach();
      }
      // A resync may have missed row events: walk the local ports again.
      if (s.type === 'synced') this.#rescan();
    });
    this.client.monitor(this.#conditions.monitorSpec());
  }

  /** Our Chassis row's uuid, once ovn-controller has registered this chassis. */
  get chassis(): string | undefined {
    return this.#chassis;
  }

  /** Connects and resolves at the first synced replica, with our Chassis row read. */
  async start(): Promise<void> {
    await this.client.start();
    this.#readChassis();
  }

  /**
   * Updates the conditions until they stop changing (a few round trips);
   * each monitor_cond_change reply follows the rows it selects
   * (ovsdb-server(7) §4.1.13), so the replica holds them when this resolves.
   */
  settle(): Promise<void> {
    return this.#conditions.settle();
  }

  /** Whether the monitor already selects this network's metadata port. */
  monitors(networkId: string): boolean {
    return this.#conditions.monitors(networkId);
  }

  /**
   * Datapaths with VM ports bound here and their networks: a walk of the
   * local Port_Binding rows (the conditions keep only those), never for the
   * event path.
   */
  scanLocalNetworks(): { datapaths: Set<string>; networks: Set<string> } {
    return this.view.scanLocalNetworks(this.#chassis);
  }

  close(): Promise<void> {
    return this.client.close();
  }

  #attach(): void {
    const replica = this.client.replica;
    for (const [table, indexes] of Object.entries(sbIndexes)) {
      for (const [name, fn] of Object.entries(indexes)) replica.addIndex(table, name, fn);
    }
    replica.on('change', (events) => {
      try {
        if (events.some((ev) => ev.table === 'Chassis')) this.#readChassis();
        // A port or datapath came, changed or went: the conditions may widen
        // or narrow (kept from the events themselves, O(events)).
        this.#conditions.onEvents(events);
        this.#o.onEvents?.(events);
      } catch (err) {
        this.#o.onHandlerError?.(err);
      }
    });
    if (this.#o.onProblems) replica.on('problems', this.#o.onProblems);
  }

  /** Re-reads our Chassis row; a new uuid re-targets the conditions. */
  #readChassis(): void {
    const uuid = this.view.chassisUuid(this.systemId);
    if (uuid === this.#chassis) return;
    this.#chassis = uuid;
    this.#rescan();
    this.#o.onChassis?.(uuid);
  }

  /**
   * The conditions' local interest rebuilt from a walk of the local ports
   * (start-up, resync, our Chassis row changed): queued, never run inside
   * the replica's change listener.
   */
  #rescan(): void {
    queueMicrotask(() => {
      try {
        this.#conditions.rescan(this.#chassis);
      } catch (err) {
        this.#o.onHandlerError?.(err);
      }
    });
  }
}
