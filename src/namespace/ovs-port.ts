// The OVS side of one network's plumbing: plug the root end of the veth into
// the integration bridge with Interface external_ids:iface-id = the metadata
// port's logical_port, so that ovn-controller binds the localport here
// (neutron-compat "What one network's plumbing looks like"). Pure functions
// from rows of the local Open_vSwitch database (replica row format,
// docs/architecture.md) to RFC 7047 §5.2 operations, which the agent runs in
// one `transact`. An empty list means the database is already right.
//
// Idempotent and wait-free: mutations ("insert"/"delete" on sets and maps,
// RFC 7047 §5.1) touch only the elements named, so other writers' ports and
// external_ids keys survive. If the rows were stale and the plan runs twice,
// the second insert of a same-named Port violates the schema's unique name
// index and the whole transaction fails without effect; the agent retries
// from the newer replica. Removing a Port from its last bridge is enough to
// delete it: Port and Interface are non-root tables, garbage-collected by
// ovsdb-server (RFC 7047 §3.2 "isRoot").
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
   * Optional index lookup (e.g. a replica index on Port.name); without it
   * the Port table is scanned, O(ports), once per plan.
   */
  readonly portByName?: (name: string) => OvsRow | undefined;
}

export interface OvsPortSpec {
  /** The integration bridge, `ovn-bridge` (default br-int). */
  readonly bridge: string;
  /** The root end of the veth. */
  readonly port: string;
  /** The metadata port's logical_port. */
  readonly ifaceId: string;
}

type WireUuid = readonly ['uuid' | 'named-uuid', string];
type Where = readonly (readonly [string, '==', WireUuid])[];
type Mutation = readonly [column: string, mutator: 'insert' | 'delete', value: unknown];

/** The RFC 7047 §5.2 operations this module emits (plain JSON). */
export type OvsPortOperation =
  | {
      readonly op: 'insert';
      readonly table: string;
      readonly row: Readonly<Record<string, unknown>>;
      readonly 'uuid-name': string;
    }
  | {
      readonly op: 'update';
      readonly table: string;
      readonly where: Where;
      readonly row: Readonly<Record<string, unknown>>;
    }
  | {
      readonly op: 'mutate';
      readonly table: string;
      readonly where: Where;
      readonly mutations: readonly Mutation[];
    };

const byUuid = (uuid: string): Where => [['_uuid', '==', ['uuid', uuid]]];
/** Bridge.ports `insert`/`delete` of one port reference (RFC 7047 §5.1 set mutation). */
const bridgePorts = (bridge: OvsRow, mutator: 'insert' | 'delete', ref: WireUuid): OvsPortOperation => ({
  op: 'mutate',
  table: 'Bridge',
  where: byUuid(bridge._uuid),
  mutations: [['ports', mutator, ['set', [ref]]]],
});

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
    const ref: WireUuid = ['uuid', port._uuid];
    const holders = bridgesHolding(rows, port._uuid);
    for (const other of holders) {
      if (other !== bridge) ops.push(bridgePorts(other, 'delete', ref));
    }
    const ifaces = uuidSet(port.interfaces);
    const iface = ifaces.length === 1 ? rows.Interface.get(ifaces[0]!) : undefined;
    if (iface !== undefined && iface.name === spec.port) {
      if (!holders.includes(bridge)) ops.push(bridgePorts(bridge, 'insert', ref));
      if (iface.type !== '' && iface.type !== undefined) {
        ops.push({ op: 'update', table: 'Interface', where: byUuid(iface._uuid), row: { type: '' } });
      }
      if (stringMap(iface.external_ids).get('iface-id') !== spec.ifaceId) {
        ops.push({
          op: 'mutate',
          table: 'Interface',
          where: byUuid(iface._uuid),
          // RFC 7047 §5.1: map "insert" skips keys already present, so the
          // old value is deleted first; other keys are left alone.
          mutations: [
            ['external_ids', 'delete', ['set', ['iface-id']]],
            ['external_ids', 'insert', ['map', [['iface-id', spec.ifaceId]]]],
          ],
        });
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
    {
      op: 'insert',
      table: 'Interface',
      row: { name: spec.port, external_ids: ['map', [['iface-id', spec.ifaceId]]] },
      'uuid-name': ifaceName,
    },
    {
      op: 'insert',
      table: 'Port',
      row: { name: spec.port, interfaces: ['named-uuid', ifaceName] },
      'uuid-name': portName,
    },
    bridgePorts(bridge, 'insert', ['named-uuid', portName]),
  );
  return ops;
}

/** Operations that take the Port named `port` off every bridge (it is then garbage-collected). */
export function planOvsPortRemoval(port: string, rows: OvsRows): OvsPortOperation[] {
  const row = findPort(rows, port);
  if (row === undefined) return [];
  return bridgesHolding(rows, row._uuid).map((b) => bridgePorts(b, 'delete', ['uuid', row._uuid]));
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
