/**
 * Keeps the SB monitor's conditions (sb-monitor.ts) in step with what this
 * chassis needs: a local port brings its datapath, the datapath names the
 * network, the network brings its metadata port. Each change is one
 * monitor_cond_change; changes are coalesced (one in flight, the latest
 * interest wins) and never made from inside a replica listener.
 *
 * What the chassis needs is kept incrementally (`LocalInterest`): a row
 * event costs O(rows in it), whatever the number of local ports and
 * networks; the clause lists are built only when the datapaths or networks
 * changed (and are then sent whole: monitor_cond_change replaces a table's
 * condition). One walk of the local ports at start-up, on a reconnect and
 * when the Chassis row changes (`rescan`).
 *
 * Mode `all`: Port_Binding and Datapath_Binding are monitored without
 * conditions, so there is nothing to change and every network's metadata
 * port is in the replica.
 */
import type { ConditionsUpdate, OvsdbClient } from '../ovsdb/index.js';
import {
  sbConditions,
  sbMonitorSpec,
  type ConditionShape,
  type SbInterest,
  type SbMonitorMode,
} from './sb-monitor.js';
import {
  decodeDatapathBinding,
  decodePortBinding,
  isVifPort,
  isWantedAt,
  type PortBinding,
} from './sb-rows.js';
import { oldRow, type RowEventLike } from './triggers.js';

/** What the tracker reads of the replica (SbView has both). */
export interface LocalPortsReader {
  /** A walk of the local VM ports (rescan only). */
  localPorts(chassis: string): Iterable<PortBinding>;
  /** An index lookup. */
  networkOfDatapath(datapath: string): string | undefined;
}

/** A table's columns as the client's schema has them (only membership is read). */
export interface ColumnSet {
  has(column: string): boolean;
}

/** The server's Port_Binding columns once its schema is known, else undefined. */
export function knownPortBindingColumns(client: OvsdbClient): ColumnSet | undefined {
  const status = client.status;
  if (status === undefined || status.type === 'connecting') return undefined;
  return client.schema.tables.get('Port_Binding')?.columns ?? new Set<string>();
}

/**
 * Which optional Port_Binding clauses the server can take. Until the schema
 * is known additional_chassis is assumed (OVN >= 22.06 is the common case,
 * and the first monitor request drops columns the server lacks) and the
 * requested-chassis ones are not.
 */
function schemaFlags(columns: ColumnSet | undefined): Pick<SbInterest, 'additionalChassis'> & {
  requestedChassis: { main: boolean; additional: boolean };
} {
  return {
    additionalChassis: columns?.has('additional_chassis') ?? true,
    requestedChassis: {
      main: columns?.has('requested_chassis') ?? false,
      additional: columns?.has('requested_additional_chassis') ?? false,
    },
  };
}

/** Port_Binding columns whose change can make a port local or not, or move it. */
const LOCALITY_COLUMNS = [
  'chassis',
  'additional_chassis',
  'requested_chassis',
  'requested_additional_chassis',
  'type',
  'datapath',
] as const;

/**
 * The datapaths with VM ports wanted on this chassis (bound or requested
 * here: isWantedAt) and the networks they
 * name, kept from row events. Pure; idempotent per row (an event applied
 * twice, or after a rescan that already saw it, changes nothing).
 */
export class LocalInterest {
  readonly #reader: LocalPortsReader;
  #chassis: string | undefined;
  /** datapath -> the local VM ports on it (Port_Binding uuids). */
  readonly #ports = new Map<string, Set<string>>();
  /** datapath -> its network, once the replica has the datapath. */
  readonly #networkOf = new Map<string, string>();
  /** network -> how many local datapaths name it (one, unless the SB is odd). */
  readonly #networks = new Map<string, number>();
  /** Bumped whenever the datapaths or the networks change. */
  #version = 0;

  constructor(reader: LocalPortsReader) {
    this.#reader = reader;
  }

  get version(): number {
    return this.#version;
  }

  get chassis(): string | undefined {
    return this.#chassis;
  }

  datapaths(): Iterable<string> {
    return this.#ports.keys();
  }

  networks(): Iterable<string> {
    return this.#networks.keys();
  }

  hasNetwork(network: string): boolean {
    return this.#networks.has(network);
  }

  /** Rebuilds from the replica: O(local ports); `walk` false only sets the chassis. */
  rescan(chassis: string | undefined, walk = true): void {
    const before = this.#signature();
    this.#chassis = chassis;
    this.#ports.clear();
    this.#networkOf.clear();
    this.#networks.clear();
    if (chassis !== undefined && walk)
      for (const pb of this.#reader.localPorts(chassis)) this.#add(pb.uuid, pb.datapath);
    if (this.#signature() !== before) this.#version++;
  }

  /** Applies Port_Binding and Datapath_Binding events: O(events). Returns whether the interest changed. */
  apply(events: readonly RowEventLike[]): boolean {
    const before = this.#version;
    for (const ev of events) {
      if (ev.table === 'Port_Binding') this.#port(ev);
      else if (ev.table === 'Datapath_Binding') this.#datapath(ev);
    }
    return this.#version !== before;
  }

  #port(ev: RowEventLike): void {
    if (this.#chassis === undefined) return;
    if (ev.type === 'update' && !LOCALITY_COLUMNS.some((c) => ev.old !== undefined && c in ev.old)) return;
    const was = this.#local(oldRow(ev));
    const is = ev.type === 'delete' ? undefined : this.#local(ev.new);
    if (was !== undefined && was !== is) this.#remove(ev.uuid, was);
    if (is !== undefined) this.#add(ev.uuid, is);
  }

  /** The datapath of a VM port bound here, or undefined. */
  #local(row: RowEventLike['new']): string | undefined {
    if (row === undefined || this.#chassis === undefined) return undefined;
    const pb = decodePortBinding(row);
    return pb.ok && isVifPort(pb.value) && isWantedAt(pb.value, this.#chassis)
      ? pb.value.datapath
      : undefined;
  }

  #datapath(ev: RowEventLike): void {
    if (!this.#ports.has(ev.uuid)) return;
    let network: string | undefined;
    if (ev.type !== 'delete' && ev.new !== undefined) {
      const dp = decodeDatapathBinding(ev.new);
      network = dp.ok ? dp.value.networkId : undefined;
    }
    this.#setNetwork(ev.uuid, network);
  }

  #add(port: string, datapath: string): void {
    const ports = this.#ports.get(datapath);
    if (ports) {
      ports.add(port);
      return;
    }
    this.#ports.set(datapath, new Set([port]));
    this.#version++;
    this.#setNetwork(datapath, this.#reader.networkOfDatapath(datapath));
  }

  #remove(port: string, datapath: string): void {
    const ports = this.#ports.get(datapath);
    if (!ports?.delete(port) || ports.size > 0) return;
    this.#ports.delete(datapath);
    this.#version++;
    this.#setNetwork(datapath, undefined);
  }

  #setNetwork(datapath: string, network: string | undefined): void {
    const old = this.#networkOf.get(datapath);
    if (old === network) return;
    if (old !== undefined) {
      const n = (this.#networks.get(old) ?? 1) - 1;
      if (n > 0) this.#networks.set(old, n);
      else this.#networks.delete(old);
      this.#networkOf.delete(datapath);
    }
    if (network !== undefined) {
      this.#networkOf.set(datapath, network);
      this.#networks.set(network, (this.#networks.get(network) ?? 0) + 1);
    }
    this.#version++;
  }

  /** Only for rescan (O(n)): whether a rebuild changed anything. */
  #signature(): string {
    return `${this.#chassis}|${[...this.#ports.keys()].sort().join()}|${[...this.#networks.keys()].sort().join()}`;
  }
}

export interface MonitorConditionsDeps {
  readonly client: Pick<OvsdbClient, 'setConditions'>;
  /** Default 'conditional'. */
  readonly mode?: SbMonitorMode;
  /**
   * Conditional mode's clause shape (sb-monitor.ts). Default 'static': it
   * cost the SB least per port-binding event at 1,000 chassis (bench/fleet.ts,
   * docs/scale.md); 'per-network' selects fewer rows but every network
   * coming or going is a monitor_cond_change, which ovsdb-server answers by
   * walking the whole table.
   */
  readonly shape?: ConditionShape;
  readonly systemId: string;
  readonly reader: LocalPortsReader;
  /**
   * The server's Port_Binding columns (knownPortBindingColumns), undefined
   * until its schema is known: the clauses on additional_chassis (OVN >=
   * 22.06), requested_chassis and requested_additional_chassis depend on them.
   */
  readonly portBindingColumns: () => ColumnSet | undefined;
  /** Networks whose metadata port has just become monitored. */
  readonly onMonitored: (networks: readonly string[]) => void;
  readonly onError: (err: unknown) => void;
}

export class MonitorConditions {
  readonly #deps: MonitorConditionsDeps;
  readonly #mode: SbMonitorMode;
  readonly #shape: ConditionShape;
  readonly #interest: LocalInterest;
  /** The interest version the server has (-1: none sent since the start). */
  #sent = -1;
  /** The schema columns the sent clauses were built for (columnsKey). */
  #columnsSent: string | undefined;
  #current: ReturnType<typeof sbConditions>;
  #monitored: ReadonlySet<string> = new Set();
  /** Updates run one after another: each compares against the last one's result. */
  #tail: Promise<unknown> = Promise.resolve();
  /** An update is queued and has not started: another schedule() adds nothing. */
  #queued = false;

  constructor(deps: MonitorConditionsDeps) {
    this.#deps = deps;
    this.#mode = deps.mode ?? 'conditional';
    this.#shape = deps.shape ?? 'static';
    this.#interest = new LocalInterest(deps.reader);
    this.#current = sbConditions(this.#snapshot());
    this.#sent = this.#interest.version;
    this.#columnsSent = this.#columnsKey();
  }

  get mode(): SbMonitorMode {
    return this.#mode;
  }

  /** The tables, columns and conditions to start the monitor with. */
  monitorSpec(): ReturnType<typeof sbMonitorSpec> {
    return sbMonitorSpec(this.#snapshot(), this.#mode);
  }

  /** The conditions to start the monitor with. */
  get initial(): ConditionsUpdate {
    return this.#current;
  }

  /** Whether the monitor selects this network's metadata port. */
  monitors(networkId: string): boolean {
    return this.#mode === 'all' || this.#shape === 'static' || this.#monitored.has(networkId);
  }

  /** Datapaths with VM ports wanted here and their networks (what the conditions select). */
  get local(): Pick<LocalInterest, 'datapaths' | 'networks' | 'version'> {
    return this.#interest;
  }

  /** Replica row events (any tables; only Port_Binding and Datapath_Binding count). O(events). */
  onEvents(events: readonly RowEventLike[]): void {
    if (this.#mode === 'all' || this.#shape === 'static') return;
    if (this.#interest.apply(events)) this.schedule();
  }

  /** Walks the local ports again (start-up, reconnect, Chassis row changed) and updates if needed. */
  rescan(chassis: string | undefined): void {
    if (this.#mode === 'all') return;
    this.#interest.rescan(chassis, this.#shape !== 'static');
    this.schedule();
  }

  /**
   * Start-up: update until the conditions stop changing (a few round trips).
   * Waits for any update already running, so it never ends while rows a
   * change selected are still on their way.
   */
  async settle(maxRounds = 8): Promise<void> {
    if (this.#mode === 'all') return;
    for (let i = 0; i < maxRounds; i++) if (!(await this.#enqueue())) return;
  }

  /** Asks for an update soon; coalesces with one already queued. */
  schedule(): void {
    if (this.#mode === 'all' || this.#queued) return;
    this.#queued = true;
    this.#enqueue().catch((err: unknown) => this.#deps.onError(err));
  }

  #enqueue(): Promise<boolean> {
    const run = this.#tail.then(() => {
      this.#queued = false;
      return this.#update();
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }

  #snapshot(): SbInterest {
    return {
      systemId: this.#deps.systemId,
      chassis: this.#interest.chassis,
      datapaths: this.#interest.datapaths(),
      networks: this.#interest.networks(),
      ...schemaFlags(this.#deps.portBindingColumns()),
      shape: this.#shape,
    };
  }

  #columnsKey(): string {
    const { additionalChassis, requestedChassis } = schemaFlags(this.#deps.portBindingColumns());
    return `${additionalChassis}|${requestedChassis.main}|${requestedChassis.additional}`;
  }

  /** Returns true when the conditions changed. Builds clauses only when the interest did. */
  async #update(): Promise<boolean> {
    const version = this.#interest.version;
    const columns = this.#columnsKey();
    if (version === this.#sent && columns === this.#columnsSent) return false;
    const want = sbConditions(this.#snapshot());
    const networks = new Set(this.#interest.networks());
    await this.#deps.client.setConditions(want);
    this.#current = want;
    this.#sent = version;
    this.#columnsSent = columns;
    // ovsdb-server sends the rows a condition change selects before its
    // reply (ovsdb_jsonrpc_monitor_cond_change): the metadata ports of newly
    // monitored networks are in the replica now.
    const added = [...networks].filter((n) => !this.#monitored.has(n));
    this.#monitored = networks;
    if (added.length > 0) this.#deps.onMonitored(added);
    return true;
  }
}
