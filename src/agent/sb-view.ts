/**
 * The agent's read side of the SB replica: typed lookups through indexes,
 * never a table walk on the event or request path. The monitor conditions
 * (sb-monitor.ts) keep the replica to this chassis' rows, so the one walk
 * here, `scanLocalNetworks`, is over local ports only and runs at start-up,
 * from the periodic resync, the coalesced condition update, and a task
 * queued when our Chassis row changes (never in the change listener).
 */
import type { NetworkInputs } from './desired.js';
import {
  decodeDatapathBinding,
  decodePortBinding,
  isWantedAt,
  isMetadataPort,
  isVifPort,
  type DatapathBinding,
  type PortBinding,
  type SbRow,
} from './sb-rows.js';

/** What the agent needs of src/ovsdb's Replica (kept structural for tests). */
export interface ReplicaReader {
  table(name: string): ReadonlyMap<string, SbRow>;
  byIndex(table: string, index: string, key: string): ReadonlySet<SbRow>;
}

export const PB_BY_DATAPATH = 'by-datapath';
export const DP_BY_NETWORK = 'by-network';

/** Index key functions to register on the replica (see agent.ts). */
export const sbIndexes = {
  Port_Binding: {
    [PB_BY_DATAPATH]: (row: SbRow) => (typeof row.datapath === 'string' ? row.datapath : undefined),
  },
  Datapath_Binding: {
    [DP_BY_NETWORK]: (row: SbRow) => {
      const dp = decodeDatapathBinding(row);
      return dp.ok ? dp.value.networkId : undefined;
    },
  },
} as const;

export type MalformedReporter = (table: string, uuid: string, reason: string) => void;

export class SbView {
  readonly #replica: ReplicaReader;
  readonly #malformed: MalformedReporter;

  constructor(replica: ReplicaReader, onMalformed: MalformedReporter = () => {}) {
    this.#replica = replica;
    this.#malformed = onMalformed;
  }

  /** This chassis' Chassis row (the monitor selects only ours). */
  chassisUuid(systemId: string): string | undefined {
    for (const row of this.#replica.table('Chassis').values()) if (row.name === systemId) return row._uuid;
    return undefined;
  }

  chassisPrivate(
    systemId: string,
  ): { uuid: string; nbCfg: number | bigint; externalIds: ReadonlyMap<string, string> } | undefined {
    for (const row of this.#replica.table('Chassis_Private').values()) {
      if (row.name !== systemId) continue;
      const nbCfg = typeof row.nb_cfg === 'number' || typeof row.nb_cfg === 'bigint' ? row.nb_cfg : 0;
      const ids = row.external_ids;
      const externalIds = new Map<string, string>();
      if (ids instanceof Map)
        for (const [k, v] of ids) if (typeof k === 'string' && typeof v === 'string') externalIds.set(k, v);
      return { uuid: row._uuid, nbCfg, externalIds };
    }
    return undefined;
  }

  sbGlobalNbCfg(): number | bigint | undefined {
    for (const row of this.#replica.table('SB_Global').values()) {
      if (typeof row.nb_cfg === 'number' || typeof row.nb_cfg === 'bigint') return row.nb_cfg;
    }
    return undefined;
  }

  datapath(uuid: string): DatapathBinding | undefined {
    const row = this.#replica.table('Datapath_Binding').get(uuid);
    if (!row) return undefined;
    const dp = decodeDatapathBinding(row);
    if (!dp.ok) this.#malformed('Datapath_Binding', uuid, dp.reason);
    return dp.ok ? dp.value : undefined;
  }

  networkOfDatapath = (uuid: string): string | undefined => this.datapath(uuid)?.networkId;

  datapathOfNetwork(networkId: string): DatapathBinding | undefined {
    for (const row of this.#replica.byIndex('Datapath_Binding', DP_BY_NETWORK, networkId)) {
      const dp = decodeDatapathBinding(row);
      if (dp.ok) return dp.value;
    }
    return undefined;
  }

  portsOfDatapath(datapath: string): PortBinding[] {
    const out: PortBinding[] = [];
    for (const row of this.#replica.byIndex('Port_Binding', PB_BY_DATAPATH, datapath)) {
      const pb = decodePortBinding(row);
      if (pb.ok) out.push(pb.value);
      else this.#malformed('Port_Binding', row._uuid, pb.reason);
    }
    return out;
  }

  inputs(networkId: string, chassis: string | undefined): NetworkInputs {
    const datapath = this.datapathOfNetwork(networkId);
    const ports = datapath ? this.portsOfDatapath(datapath.uuid) : [];
    return {
      networkId,
      datapath,
      metadataPorts: ports.filter(isMetadataPort),
      localPorts: chassis === undefined ? [] : ports.filter((p) => isVifPort(p) && isWantedAt(p, chassis)),
    };
  }

  /**
   * Datapaths with VM ports wanted here (bound or requested: isWantedAt), and the networks among them the
   * replica can name. Walks Port_Binding (localPorts); not for the event path.
   */
  scanLocalNetworks(chassis: string | undefined): { datapaths: Set<string>; networks: Set<string> } {
    const datapaths = new Set<string>();
    const networks = new Set<string>();
    if (chassis === undefined) return { datapaths, networks };
    for (const pb of this.localPorts(chassis)) {
      datapaths.add(pb.datapath);
      const net = this.networkOfDatapath(pb.datapath);
      if (net !== undefined) networks.add(net);
    }
    return { datapaths, networks };
  }

  /**
   * The VM ports wanted on this chassis (bound or requested here). Walks Port_Binding: with monitor
   * conditions only local rows, with `sb_monitor = all` the whole table;
   * never on the event path.
   */
  *localPorts(chassis: string): Generator<PortBinding> {
    for (const row of this.#replica.table('Port_Binding').values()) {
      const pb = decodePortBinding(row);
      if (pb.ok && isVifPort(pb.value) && isWantedAt(pb.value, chassis)) yield pb.value;
    }
  }
}
