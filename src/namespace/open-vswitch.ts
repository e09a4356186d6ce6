// The Open_vSwitch module: the OVS side of one network's plumbing. It plugs
// the root end of the veth into the integration bridge with Interface
// external_ids:iface-id = the metadata port's logical_port, so that
// ovn-controller binds the localport here (neutron-compat "What one network's
// plumbing looks like"). Pure functions from rows of the local Open_vSwitch
// database (replica row format, docs/architecture.md) to RFC 7047 §5.2
// operations built with src/ovsdb's operation builders, which the agent runs
// in one `transact`. An empty list means the database is already right.
//
// Idempotent and wait-free: mutations ("insert"/"delete" on sets and maps,
// RFC 7047 §5.1) touch only the elements named, so other writers' ports and
// external_ids keys survive. If the rows were stale and the plan runs twice,
// the second insert of a same-named Port violates the schema's unique name
// index and the whole transaction fails without effect; the agent retries
// from the newer replica. Removing a Port from its last bridge is enough to
// delete it: Port and Interface are non-root tables, garbage-collected by
// ovsdb-server (RFC 7047 §3.2 "isRoot").
import {
  map,
  mutation,
  namedUuid,
  op,
  set,
  uuid,
  type IndexKeyFn,
  type InsertOperation,
  type MutateOperation,
  type Replica,
  type UpdateOperation,
  type WireCondition,
  type WireNamedUuid,
  type WireUuid,
} from '../ovsdb/index.js';
import { NetnsOvsBridgeMissingError } from './errors.js';

/** A row as the replica holds it: uuid strings, arrays for sets, ReadonlyMap for maps. */
export interface OvsRow {
  readonly _uuid: string;
  readonly [column: string]: unknown;
}

/** Documentation of the columns read (vswitch.ovsschema). */
export interface OvsBridgeRow extends OvsRow {
  readonly name: string;
  readonly ports: readonly string[];
}
export interface OvsPortRow extends OvsRow {
  readonly name: string;
  readonly interfaces: readonly string[];
}
export interface OvsInterfaceRow extends OvsRow {
  readonly name: string;
  readonly type: string;
  readonly external_ids: ReadonlyMap<string, string>;
}

/** The three tables, keyed by _uuid, as `replica.table(name)` returns them. */
export interface OvsRows {
  readonly Bridge: ReadonlyMap<string, OvsRow>;
  readonly Port: ReadonlyMap<string, OvsRow>;
  readonly Interface: ReadonlyMap<string, OvsRow>;
  /**
   * Optional index lookups (the replica indexes of OVS_INDEXES, see
   * ovsRows); without them the Port table is scanned for the name and every
   * bridge's ports for the holders, O(ports), once per plan.
   */
  readonly portByName?: (name: string) => OvsRow | undefined;
  readonly bridgesOfPort?: (portUuid: string) => Iterable<OvsRow>;
}

export const PORT_BY_NAME = 'by-name';
export const BRIDGE_BY_PORT = 'by-port';

/** Replica indexes (table -> name -> key function) that ovsRows reads. */
export const OVS_INDEXES: { readonly [table: string]: { readonly [name: string]: IndexKeyFn } } = {
  Port: { [PORT_BY_NAME]: (row) => (typeof row.name === 'string' ? row.name : undefined) },
  Bridge: { [BRIDGE_BY_PORT]: (row) => uuidSet(row.ports) },
};

/** The rows of a replica that carries OVS_INDEXES, with the indexed lookups. */
export function ovsRows(replica: Pick<Replica, 'table' | 'byIndex'>): OvsRows {
  return {
    Bridge: replica.table('Bridge'),
    Port: replica.table('Port'),
    Interface: replica.table('Interface'),
    portByName: (name) => replica.byIndex('Port', PORT_BY_NAME, name).values().next().value,
    bridgesOfPort: (portUuid) => replica.byIndex('Bridge', BRIDGE_BY_PORT, portUuid),
  };
}

export interface OvsPortSpec {
  /** The integration bridge, `ovn-bridge` (default br-int). */
  readonly bridge: string;
  /** The root end of the veth. */
  readonly port: string;
  /** The metadata port's logical_port. */
  readonly ifaceId: string;
}

type PortRef = WireUuid | WireNamedUuid;

/** The RFC 7047 §5.2 operations this module emits. */
export type OvsPortOperation = InsertOperation | UpdateOperation | MutateOperation;

const byUuid = (id: string): readonly WireCondition[] => [['_uuid', '==', uuid(id)]];
/** Bridge.ports `insert`/`delete` of one port reference (RFC 7047 §5.1 set mutation). */
const bridgePorts = (bridge: OvsRow, mutator: 'insert' | 'delete', ref: PortRef): MutateOperation =>
  op.mutate('Bridge', byUuid(bridge._uuid), [mutation('ports', mutator, set([ref]))]);

/**
 * Operations that put `spec.port` on `spec.bridge` (and on no other bridge)
 * with a single Interface of the same name, type "" (a system device) and
 * external_ids:iface-id = `spec.ifaceId`. A Port of the right shape is kept
 * (moved between bridges, corrected in place); one of another shape (a bond,
 * a foreign interface name) is detached and replaced.
 * Throws NetnsOvsBridgeMissingError when `spec.bridge` has no row.
 */
export function planOvsPort(spec: OvsPortSpec, rows: OvsRows): OvsPortOperation[] {
  const bridge = findBridge(rows, spec.bridge);
  if (bridge === undefined) throw new NetnsOvsBridgeMissingError(spec.bridge);
  const ops: OvsPortOperation[] = [];
  const port = findPort(rows, spec.port);
  if (port !== undefined) {
    const ref = uuid(port._uuid);
    const holders = bridgesHolding(rows, port._uuid);
    for (const other of holders) {
      if (other !== bridge) ops.push(bridgePorts(other, 'delete', ref));
    }
    const ifaces = uuidSet(port.interfaces);
    const iface = ifaces.length === 1 ? rows.Interface.get(ifaces[0]!) : undefined;
    if (iface !== undefined && iface.name === spec.port) {
      if (!holders.includes(bridge)) ops.push(bridgePorts(bridge, 'insert', ref));
      if (iface.type !== '' && iface.type !== undefined) {
        ops.push(op.update('Interface', byUuid(iface._uuid), { type: '' }));
      }
      if (stringMap(iface.external_ids).get('iface-id') !== spec.ifaceId) {
        ops.push(
          // RFC 7047 §5.1: map "insert" skips keys already present, so the
          // old value is deleted first; other keys are left alone.
          op.mutate('Interface', byUuid(iface._uuid), [
            mutation('external_ids', 'delete', set(['iface-id'])),
            mutation('external_ids', 'insert', map([['iface-id', spec.ifaceId]])),
          ]),
        );
      }
      return ops;
    }
    if (holders.includes(bridge)) ops.push(bridgePorts(bridge, 'delete', ref));
  }
  const tag = spec.port.replace(/[^A-Za-z0-9_]/g, '_');
  // Named UUIDs are per transaction; tagging them with the port name lets
  // the agent batch several networks into one transact.
  const ifaceName = `iface_${tag}`;
  const portName = `port_${tag}`;
  ops.push(
    op.insert('Interface', { name: spec.port, external_ids: map([['iface-id', spec.ifaceId]]) }, ifaceName),
    op.insert('Port', { name: spec.port, interfaces: namedUuid(ifaceName) }, portName),
    bridgePorts(bridge, 'insert', namedUuid(portName)),
  );
  return ops;
}

/** Operations that take the Port named `port` off every bridge (it is then garbage-collected). */
export function planOvsPortRemoval(port: string, rows: OvsRows): OvsPortOperation[] {
  const row = findPort(rows, port);
  if (row === undefined) return [];
  const ref = uuid(row._uuid);
  return bridgesHolding(rows, row._uuid).map((b) => bridgePorts(b, 'delete', ref));
}

function findBridge(rows: OvsRows, name: string): OvsRow | undefined {
  for (const row of rows.Bridge.values()) if (row.name === name) return row;
  return undefined;
}

function findPort(rows: OvsRows, name: string): OvsRow | undefined {
  if (rows.portByName) return rows.portByName(name);
  for (const row of rows.Port.values()) if (row.name === name) return row;
  return undefined;
}

function bridgesHolding(rows: OvsRows, portUuid: string): OvsRow[] {
  if (rows.bridgesOfPort) return [...rows.bridgesOfPort(portUuid)];
  const out: OvsRow[] = [];
  for (const b of rows.Bridge.values()) if (uuidSet(b.ports).includes(portUuid)) out.push(b);
  return out;
}

/** A set column in row format; a lone atom (min 0 max 1 style) is tolerated. */
function uuidSet(value: unknown): readonly string[] {
  if (Array.isArray(value)) return value as string[];
  return typeof value === 'string' ? [value] : [];
}

function stringMap(value: unknown): ReadonlyMap<unknown, unknown> {
  return value instanceof Map ? value : new Map();
}
