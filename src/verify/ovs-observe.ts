// What the local Open_vSwitch database says about one network's port:
// which bridges hold it, its Interface (iface-id, ofport, error), and any
// other Interface that claims the same metadata port. Pure over replica
// rows (docs/architecture.md "row values").
import type { OvsObservation } from './types.js';

export type OvsRow = { readonly _uuid: string; readonly [column: string]: unknown };

export interface OvsTables {
  readonly Bridge: ReadonlyMap<string, OvsRow>;
  readonly Port: ReadonlyMap<string, OvsRow>;
  readonly Interface: ReadonlyMap<string, OvsRow>;
}

/** Columns the observation reads, for the monitor request. */
export const VERIFY_OVS_MONITOR = {
  Open_vSwitch: { columns: ['external_ids', 'bridges'] },
  Bridge: { columns: ['name', 'ports', 'datapath_type'] },
  Port: { columns: ['name', 'interfaces'] },
  Interface: { columns: ['name', 'external_ids', 'ofport', 'error'] },
} as const;

const uuids = (v: unknown): readonly string[] =>
  Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? [v] : [];
const ifaceIdOf = (row: OvsRow): string | undefined => {
  const ids = row.external_ids;
  const v = ids instanceof Map ? ids.get('iface-id') : undefined;
  return typeof v === 'string' ? v : undefined;
};

/**
 * Walks the three tables once to map ports and interfaces to bridges; a
 * verify run observes every network from one such index (see
 * `indexOvs`), so the cost is O(rows), not O(rows x networks).
 */
export interface OvsIndex {
  readonly bridgeNames: ReadonlySet<string>;
  readonly portByName: ReadonlyMap<string, OvsRow>;
  readonly bridgesOfPort: ReadonlyMap<string, string[]>;
  /** iface-id -> Interface rows carrying it. */
  readonly byIfaceId: ReadonlyMap<string, OvsRow[]>;
  /** Interface uuid -> the Port uuid holding it. */
  readonly portOfIface: ReadonlyMap<string, string>;
  readonly tables: OvsTables;
}

export function indexOvs(tables: OvsTables): OvsIndex {
  const bridgeNames = new Set<string>();
  const bridgesOfPort = new Map<string, string[]>();
  for (const b of tables.Bridge.values()) {
    const name = String(b.name);
    bridgeNames.add(name);
    for (const p of uuids(b.ports)) {
      const list = bridgesOfPort.get(p);
      if (list) list.push(name);
      else bridgesOfPort.set(p, [name]);
    }
  }
  const portByName = new Map<string, OvsRow>();
  const portOfIface = new Map<string, string>();
  for (const p of tables.Port.values()) {
    portByName.set(String(p.name), p);
    for (const i of uuids(p.interfaces)) portOfIface.set(i, p._uuid);
  }
  const byIfaceId = new Map<string, OvsRow[]>();
  for (const i of tables.Interface.values()) {
    const id = ifaceIdOf(i);
    if (id === undefined) continue;
    const list = byIfaceId.get(id);
    if (list) list.push(i);
    else byIfaceId.set(id, [i]);
  }
  return { bridgeNames, portByName, bridgesOfPort, byIfaceId, portOfIface, tables };
}

export function observeOvs(
  index: OvsIndex,
  bridge: string,
  vethRoot: string,
  metadataPort: string,
): OvsObservation {
  const port = index.portByName.get(vethRoot);
  const bridgesOfPort = port ? [...(index.bridgesOfPort.get(port._uuid) ?? [])].sort() : [];
  let iface: OvsObservation['iface'];
  let ifaceUuid: string | undefined;
  for (const u of port ? uuids(port.interfaces) : []) {
    const row = index.tables.Interface.get(u);
    if (row?.name !== vethRoot) continue;
    ifaceUuid = u;
    const ofport = typeof row.ofport === 'number' ? row.ofport : undefined;
    const error = typeof row.error === 'string' ? row.error : undefined;
    iface = { ifaceId: ifaceIdOf(row), ofport, error };
  }
  const duplicates = (index.byIfaceId.get(metadataPort) ?? [])
    .filter((row) => row._uuid !== ifaceUuid)
    .map((row) => {
      const portUuid = index.portOfIface.get(row._uuid);
      return {
        iface: String(row.name),
        bridges: portUuid ? [...(index.bridgesOfPort.get(portUuid) ?? [])].sort() : [],
      };
    });
  return {
    bridge,
    bridgeExists: index.bridgeNames.has(bridge),
    bridgesOfPort,
    ...(iface ? { iface } : {}),
    duplicates,
  };
}
