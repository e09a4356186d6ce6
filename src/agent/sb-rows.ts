/**
 * Typed views of the Southbound rows the agent uses, decoded from replica
 * rows (docs/architecture.md "row values"). A row that does not have the
 * shape the OVN SB schema promises is reported as malformed, never thrown:
 * one bad row must not harm other networks.
 */

/** A replica row as src/ovsdb hands it out. */
export type SbRow = { readonly _uuid: string; readonly [column: string]: unknown };

export interface PortBinding {
  readonly uuid: string;
  readonly logicalPort: string;
  /** '' for a VM port, 'external', 'localport', 'chassisredirect', ... */
  readonly type: string;
  readonly datapath: string;
  readonly chassis: string | undefined;
  readonly additionalChassis: readonly string[];
  /**
   * Where neutron asked OVN to bind the port (LSP options:requested-chassis,
   * the port's binding host, set when nova binds the port, before the VIF
   * is plugged); a live migration's destination is the additional one.
   * Empty on servers without the columns (OVN < 21.12 / 22.09).
   */
  readonly requestedChassis: string | undefined;
  readonly requestedAdditionalChassis: readonly string[];
  /** The raw `mac` column: each entry "MAC IP..." or "unknown". */
  readonly mac: readonly string[];
  readonly externalIds: ReadonlyMap<string, string>;
}

export interface DatapathBinding {
  readonly uuid: string;
  /** The neutron network id (external_ids:name minus `neutron-`), if any. */
  readonly networkId: string | undefined;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

const NO_STRINGS: readonly string[] = [];
const NO_MAP: ReadonlyMap<string, string> = new Map();

function stringMap(v: unknown): ReadonlyMap<string, string> | undefined {
  if (v === undefined) return NO_MAP;
  if (!(v instanceof Map)) return undefined;
  for (const [k, val] of v) if (typeof k !== 'string' || typeof val !== 'string') return undefined;
  return v as ReadonlyMap<string, string>;
}

function stringSet(v: unknown): readonly string[] | undefined {
  if (v === undefined) return NO_STRINGS;
  if (!Array.isArray(v)) return undefined;
  for (const s of v) if (typeof s !== 'string') return undefined;
  return v as readonly string[];
}

export function decodePortBinding(row: SbRow): Decoded<PortBinding> {
  const { logical_port, type, datapath, chassis } = row;
  if (typeof logical_port !== 'string') return { ok: false, reason: 'logical_port is not a string' };
  if (typeof type !== 'string') return { ok: false, reason: 'type is not a string' };
  if (typeof datapath !== 'string') return { ok: false, reason: 'datapath is not a uuid' };
  if (chassis !== undefined && typeof chassis !== 'string')
    return { ok: false, reason: 'chassis is not a uuid' };
  const additionalChassis = stringSet(row.additional_chassis);
  if (!additionalChassis) return { ok: false, reason: 'additional_chassis is not a set of uuids' };
  const requestedChassis = row.requested_chassis;
  if (requestedChassis !== undefined && typeof requestedChassis !== 'string')
    return { ok: false, reason: 'requested_chassis is not a uuid' };
  const requestedAdditionalChassis = stringSet(row.requested_additional_chassis);
  if (!requestedAdditionalChassis)
    return { ok: false, reason: 'requested_additional_chassis is not a set of uuids' };
  const mac = stringSet(row.mac);
  if (!mac) return { ok: false, reason: 'mac is not a set of strings' };
  const externalIds = stringMap(row.external_ids);
  if (!externalIds) return { ok: false, reason: 'external_ids is not a string map' };
  return {
    ok: true,
    value: {
      uuid: row._uuid,
      logicalPort: logical_port,
      type,
      datapath,
      chassis,
      additionalChassis,
      requestedChassis,
      requestedAdditionalChassis,
      mac,
      externalIds,
    },
  };
}

export const NETWORK_NAME_PREFIX = 'neutron-';

export function decodeDatapathBinding(row: SbRow): Decoded<DatapathBinding> {
  const externalIds = stringMap(row.external_ids);
  if (!externalIds) return { ok: false, reason: 'external_ids is not a string map' };
  const name = externalIds.get('name');
  const networkId =
    name !== undefined && name.startsWith(NETWORK_NAME_PREFIX) && name.length > NETWORK_NAME_PREFIX.length
      ? name.slice(NETWORK_NAME_PREFIX.length)
      : undefined;
  return { ok: true, value: { uuid: row._uuid, networkId } };
}

/** Port types that are VM ports for metadata purposes (neutron's `_vif_ports`). */
export function isVifPort(pb: PortBinding): boolean {
  return pb.type === '' || pb.type === 'external';
}

/** Bound here: what the identity of a VM asking for metadata rests on. */
export function isBoundTo(pb: PortBinding, chassis: string): boolean {
  return pb.chassis === chassis || pb.additionalChassis.includes(chassis);
}

/**
 * Bound here, or requested here (neutron's requested-chassis: the port's
 * binding host, or a live migration's destination). What makes a network's
 * metadata path wanted on this chassis: it is ready by the time the VM's
 * port is bound, instead of starting then.
 */
export function isWantedAt(pb: PortBinding, chassis: string): boolean {
  return (
    isBoundTo(pb, chassis) ||
    pb.requestedChassis === chassis ||
    pb.requestedAdditionalChassis.includes(chassis)
  );
}

export const DEVICE_OWNER = 'neutron:device_owner';
export const DEVICE_ID = 'neutron:device_id';
export const PROJECT_ID = 'neutron:project_id';
export const CIDRS = 'neutron:cidrs';
export const MTU = 'neutron:mtu';
export const METADATA_DEVICE_OWNER = 'network:distributed';
export const METADATA_DEVICE_ID_PREFIX = 'ovnmeta-';

export function isMetadataPort(pb: PortBinding): boolean {
  return pb.type === 'localport' && pb.externalIds.get(DEVICE_OWNER) === METADATA_DEVICE_OWNER;
}
