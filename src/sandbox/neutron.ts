// Writes the OVN Northbound the way neutron-server's ML2/OVN driver does
// (neutron/plugins/ml2/drivers/ovn/mech_driver/ovsdb/ovn_client.py), so the
// SB rows northd derives are the ones a real cloud has:
//   - a network is Logical_Switch `neutron-<network id>`;
//   - its metadata port is a `localport` LSP with external_ids
//     neutron:device_owner=network:distributed, neutron:device_id=
//     ovnmeta-<network id>, addresses "MAC IP…" (one IP per IPv4 subnet,
//     neutron's metadata port takes no IPv6 address), neutron:cidrs
//     "IP/prefix …" and neutron:mtu when the network has one;
//   - a VM port is an LSP named by the port's uuid, addresses and
//     port_security "MAC IP…", device_id the instance, project_id.
// Addresses are allocated like neutron's IPAM: .1 gateway, .2 metadata, VMs
// from .10 up. Every operation is one ovn-nbctl transaction.
import { randomBytes, randomUUID } from 'node:crypto';
import { quote, type Chassis } from './chassis.js';
import { cidrContains, cidrNetwork, ipFamily, nthAddress, parseCidr, type Cidr } from '../common/address.js';

export const METADATA_DEVICE_OWNER = 'network:distributed';
const FIRST_VM_OFFSET = 10;
const METADATA_OFFSET = 2;

export interface MetadataPort {
  readonly name: string;
  readonly mac: string;
  /** IPv4 addresses, one per IPv4 subnet. */
  readonly ips: readonly string[];
  /** `ip/prefix` of each, as in neutron:cidrs. */
  readonly cidrs: readonly string[];
}

export interface Network {
  readonly chassis: Chassis;
  readonly id: string;
  /** Logical_Switch name and SB Datapath_Binding external_ids:name. */
  readonly switchName: string;
  readonly mtu: number | undefined;
  readonly subnets: readonly string[];
  readonly metadataPort: MetadataPort;
}

export interface VmPort {
  readonly network: Network;
  /** LSP name = Port_Binding.logical_port = the neutron port id. */
  readonly name: string;
  readonly mac: string;
  readonly ips: readonly string[];
  readonly cidrs: readonly string[];
  readonly instanceId: string;
  readonly projectId: string;
}

/** Mutable state behind a Network; callers see the readonly view. */
class NetworkState implements Network {
  subnets: string[] = [];
  metadataPort: MetadataPort;
  /** Next host offset per subnet, and addresses handed out. */
  readonly next = new Map<string, number>();
  readonly used = new Set<string>();

  constructor(
    readonly chassis: Chassis,
    readonly id: string,
    readonly mtu: number | undefined,
    metadataPortName: string,
  ) {
    this.metadataPort = { name: metadataPortName, mac: randomMac(), ips: [], cidrs: [] };
  }

  get switchName(): string {
    return `neutron-${this.id}`;
  }
}

export function randomMac(): string {
  return ['fa', '16', '3e', ...randomBytes(3).toString('hex').match(/../g)!].join(':');
}

function state(network: Network): NetworkState {
  if (!(network instanceof NetworkState))
    throw new Error(`network ${network.id} was not made by createNetwork`);
  return network;
}

function cidrOf(cidr: Cidr, ip: string): string {
  return `${ip}/${cidr.prefixlen}`;
}

/** A subnet as neutron's IPAM sees it: host bits cleared; malformed text throws. */
function subnetOf(text: string): Cidr {
  const cidr = parseCidr(text);
  if (cidr === undefined) throw new Error(`not a CIDR: ${text}`);
  return cidrNetwork(cidr);
}

/** `set Logical_Switch_Port` arguments for a map column, one key each. */
function mapArgs(column: string, entries: Record<string, string | undefined>): string[] {
  return Object.entries(entries)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${column}:${quote(k)}=${quote(v)}`);
}

function metadataPortArgs(net: NetworkState): string[] {
  const port = net.metadataPort;
  return [
    '--',
    'lsp-set-addresses',
    port.name,
    [port.mac, ...port.ips].join(' '),
    '--',
    'set',
    'Logical_Switch_Port',
    port.name,
    ...mapArgs('external_ids', {
      'neutron:device_owner': METADATA_DEVICE_OWNER,
      'neutron:device_id': `ovnmeta-${net.id}`,
      'neutron:cidrs': port.cidrs.join(' '),
      'neutron:network_name': net.switchName,
      'neutron:project_id': '',
      'neutron:mtu': net.mtu === undefined ? undefined : String(net.mtu),
    }),
  ];
}

/** Records a subnet; an IPv4 one gives the metadata port its .2 address. */
function takeSubnet(net: NetworkState, text: string): void {
  const cidr = subnetOf(text);
  net.subnets.push(cidr.text);
  net.next.set(cidr.text, FIRST_VM_OFFSET);
  if (cidr.family === 4) {
    const ip = nthAddress(cidr, METADATA_OFFSET);
    net.used.add(ip);
    const port = net.metadataPort;
    net.metadataPort = { ...port, ips: [...port.ips, ip], cidrs: [...port.cidrs, cidrOf(cidr, ip)] };
  }
}

export interface NetworkOptions {
  /** Network uuid; default a random uuid4 (unique per run). */
  readonly id?: string;
  /** Subnets; may be empty (a network its metadata port cannot serve yet). */
  readonly cidrs: readonly string[];
  readonly mtu?: number;
}

export async function createNetwork(chassis: Chassis, options: NetworkOptions): Promise<Network> {
  const net = new NetworkState(chassis, options.id ?? randomUUID(), options.mtu, randomUUID());
  for (const cidr of options.cidrs) takeSubnet(net, cidr);
  const ls = net.switchName;
  await chassis.nbctl(
    '--',
    'ls-add',
    ls,
    '--',
    'set',
    'Logical_Switch',
    ls,
    ...mapArgs('external_ids', {
      'neutron:network_name': `net-${net.id.slice(0, 8)}`,
      'neutron:mtu': net.mtu === undefined ? undefined : String(net.mtu),
      'neutron:revision_number': '1',
    }),
    '--',
    'lsp-add',
    ls,
    net.metadataPort.name,
    '--',
    'lsp-set-type',
    net.metadataPort.name,
    'localport',
    ...metadataPortArgs(net),
  );
  return net;
}

/** Adds a subnet; updates the metadata port's addresses and neutron:cidrs as neutron does. */
export async function addSubnet(network: Network, cidr: string): Promise<void> {
  const net = state(network);
  takeSubnet(net, cidr);
  await net.chassis.nbctl(...metadataPortArgs(net));
}

export interface VmPortOptions {
  readonly mac?: string;
  /** Fixed IPs; default the next free address of the first subnet. */
  readonly ips?: readonly string[];
  readonly instanceId?: string;
  readonly projectId?: string;
  /** Port id; default a random uuid. */
  readonly name?: string;
  /**
   * The port's binding host, as neutron writes it once nova has bound the
   * port (LSP options:requested-chassis; a Chassis name or hostname),
   * before the VIF is plugged. Default none.
   */
  readonly requestedChassis?: string;
}

function allocate(net: NetworkState): string {
  const first = net.subnets[0];
  if (first === undefined) throw new Error(`network ${net.id} has no subnet to allocate from`);
  const cidr = subnetOf(first);
  for (let offset = net.next.get(first) ?? FIRST_VM_OFFSET; ; offset++) {
    const ip = nthAddress(cidr, offset);
    if (!cidrContains(cidr, ip)) throw new Error(`subnet ${first} of network ${net.id} is full`);
    if (!net.used.has(ip)) {
      net.next.set(first, offset + 1);
      return ip;
    }
  }
}

export async function createVmPort(network: Network, options: VmPortOptions = {}): Promise<VmPort> {
  const net = state(network);
  const ips = options.ips ?? [allocate(net)];
  const cidrs = ips.map((ip) => {
    const subnet = net.subnets.map(subnetOf).find((c) => cidrContains(c, ip));
    const bits = ipFamily(ip) === 6 ? 128 : 32;
    return `${ip}/${subnet?.prefixlen ?? bits}`;
  });
  for (const ip of ips) net.used.add(ip);
  const port: VmPort = {
    network,
    name: options.name ?? randomUUID(),
    mac: options.mac ?? randomMac(),
    ips,
    cidrs,
    instanceId: options.instanceId ?? randomUUID(),
    projectId: options.projectId ?? randomUUID().replaceAll('-', ''),
  };
  const addresses = [port.mac, ...ips].join(' ');
  await net.chassis.nbctl(
    '--',
    'lsp-add',
    net.switchName,
    port.name,
    '--',
    'lsp-set-addresses',
    port.name,
    addresses,
    '--',
    'lsp-set-port-security',
    port.name,
    addresses,
    '--',
    'set',
    'Logical_Switch_Port',
    port.name,
    ...mapArgs('external_ids', {
      'neutron:device_id': port.instanceId,
      'neutron:device_owner': 'compute:nova',
      'neutron:project_id': port.projectId,
      'neutron:cidrs': cidrs.join(' '),
      'neutron:network_name': net.switchName,
      'neutron:port_name': '',
    }),
    ...mapArgs('options', { 'requested-chassis': options.requestedChassis }),
  );
  return port;
}

export async function deletePort(port: VmPort): Promise<void> {
  await port.network.chassis.nbctl('--if-exists', 'lsp-del', port.name);
  for (const ip of port.ips) state(port.network).used.delete(ip);
}

export async function deleteNetwork(network: Network): Promise<void> {
  await network.chassis.nbctl('--if-exists', 'ls-del', network.switchName);
}
