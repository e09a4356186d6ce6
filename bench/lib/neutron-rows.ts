// Southbound rows shaped as ovn-northd writes them from neutron's NB, for the
// benches that fill a Southbound (ovsdb-load, fleet): deterministic
// neutron-looking ids and a VM port's Port_Binding with neutron's keys.
import { map, uuid, type WireRow } from '../../src/ovsdb/index.js';

export const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/** Neutron-looking ids, deterministic. */
export const fakeUuid = (prefix: number, n: number): string =>
  `${hex(prefix, 8)}-${hex(n >>> 16, 4)}-4${hex(n & 0xfff, 3)}-8${hex(n % 4096, 3)}-${hex((n * 2654435761) % 2 ** 48, 12)}`;

export interface VmPortRow {
  readonly logicalPort: string;
  readonly datapath: string;
  readonly tunnelKey: number;
  readonly mac: string;
  readonly ip: string;
  /** Bound: the Chassis row's uuid; up follows it unless given. */
  readonly chassis?: string | undefined;
  readonly up?: boolean;
  /** `options` as northd writes it (the key's spelling differs across OVN versions). */
  readonly options: Record<string, string>;
  readonly host: string;
  readonly deviceId: string;
  readonly networkId: string;
  readonly projectId: string;
  readonly securityGroup: string;
}

/** A VM port's Port_Binding row (wire form), neutron's external_ids included. */
export function vmPortBindingRow(o: VmPortRow): WireRow {
  return {
    logical_port: o.logicalPort,
    datapath: uuid(o.datapath),
    tunnel_key: o.tunnelKey,
    mac: `${o.mac} ${o.ip}`,
    port_security: `${o.mac} ${o.ip}`,
    up: o.up ?? o.chassis !== undefined,
    ...(o.chassis !== undefined && { chassis: uuid(o.chassis) }),
    options: map(o.options),
    external_ids: map({
      'neutron:cidrs': `${o.ip}/24`,
      'neutron:device_id': o.deviceId,
      'neutron:device_owner': 'compute:nova',
      'neutron:host_id': o.host,
      'neutron:mtu': '',
      'neutron:network_name': `neutron-${o.networkId}`,
      'neutron:port_capabilities': '',
      'neutron:port_name': '',
      'neutron:project_id': o.projectId,
      'neutron:revision_number': '4',
      'neutron:security_group_ids': o.securityGroup,
      'neutron:subnet_pool_addr_scope4': '',
      'neutron:subnet_pool_addr_scope6': '',
      'neutron:vnic_type': 'normal',
    }),
  };
}
