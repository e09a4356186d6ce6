/**
 * Desired state: a pure function from what the SB replica says about one
 * network to what this chassis must have for it (neutron-compat.md "Which
 * networks need metadata" and "What one network's plumbing looks like").
 * No I/O; tested on plain rows.
 */
import { cidrContains, eui64LinkLocal, parseCidr, type Cidr } from '../common/address.js';
import { namespaceName, vethNames } from '../namespace/index.js';
import { parseMacEntry, portAddresses } from './port-addresses.js';
import {
  CIDRS,
  DEVICE_ID,
  METADATA_DEVICE_ID_PREFIX,
  MTU,
  type DatapathBinding,
  type PortBinding,
} from './sb-rows.js';

export const METADATA_V4_CIDR = '169.254.169.254/32';
export const METADATA_V6_CIDR = 'fe80::a9fe:a9fe/128';

/** What the replica holds for one network, gathered through indexes (no scans). */
export interface NetworkInputs {
  readonly networkId: string;
  readonly datapath: DatapathBinding | undefined;
  /** Port_Binding rows of the datapath that are metadata localports. */
  readonly metadataPorts: readonly PortBinding[];
  /** VM (`""`/`external`) ports of the datapath wanted on this chassis: bound or requested here (isWantedAt). */
  readonly localPorts: readonly PortBinding[];
}

export interface DesiredNetwork {
  readonly networkId: string;
  readonly datapath: string;
  readonly namespace: string;
  readonly vethRoot: string;
  readonly vethInside: string;
  readonly mac: string;
  readonly mtu: number | undefined;
  /** CIDRs wanted on the inside veth, sorted. */
  readonly addresses: readonly string[];
  /** The metadata port's logical_port: the OVS Interface's iface-id. */
  readonly metadataPort: string;
  /** Some local VM port has IPv6: serve on fe80::a9fe:a9fe too. */
  readonly ipv6: boolean;
}

export type NetworkIntent =
  /** No local VM port: nothing to serve here; tear down whatever exists. */
  | { readonly kind: 'absent'; readonly networkId: string }
  /** Local VM ports, but the SB does not let us serve: tear down and say why. */
  | { readonly kind: 'unservable'; readonly networkId: string; readonly reason: string }
  | { readonly kind: 'serve'; readonly network: DesiredNetwork; readonly warnings: readonly string[] };

function pickMetadataPort(networkId: string, ports: readonly PortBinding[], warnings: string[]) {
  if (ports.length <= 1) return ports[0];
  const own = ports.filter((p) => p.externalIds.get(DEVICE_ID) === METADATA_DEVICE_ID_PREFIX + networkId);
  const pool = (own.length > 0 ? own : ports)
    .slice()
    .sort((a, b) => a.logicalPort.localeCompare(b.logicalPort));
  warnings.push(
    `network has ${ports.length} metadata ports (${ports.map((p) => p.logicalPort).join(', ')}); using ${pool[0]!.logicalPort}`,
  );
  return pool[0];
}

function parseMtu(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const mtu = Number(text);
  return mtu >= 68 && mtu <= 65535 ? mtu : undefined;
}

export function desiredNetwork(input: NetworkInputs): NetworkIntent {
  const { networkId } = input;
  const warnings: string[] = [];

  // The local VM ports' addresses decide whether the network is needed here,
  // and which of the metadata port's subnets are active (neutron's
  // `_active_subnets_cidrs`).
  const localV4: string[] = [];
  let ipv6 = false;
  for (const port of input.localPorts) {
    for (const entry of portAddresses(port.mac)) {
      for (const ip of entry.ips) {
        if (ip.includes(':')) ipv6 = true;
        else localV4.push(ip);
      }
    }
  }
  if (localV4.length === 0 && !ipv6) return { kind: 'absent', networkId };

  if (!input.datapath) return { kind: 'unservable', networkId, reason: 'the datapath is not known yet' };
  const meta = pickMetadataPort(networkId, input.metadataPorts, warnings);
  if (!meta) return { kind: 'unservable', networkId, reason: 'the network has no metadata port' };
  const first = meta.mac[0];
  if (first === undefined) {
    return { kind: 'unservable', networkId, reason: `metadata port ${meta.logicalPort} has no MAC` };
  }
  const parsed = parseMacEntry(first);
  if (!parsed) {
    return {
      kind: 'unservable',
      networkId,
      reason: `metadata port ${meta.logicalPort} has a malformed MAC column entry ${JSON.stringify(first)}`,
    };
  }
  const cidrsText = meta.externalIds.get(CIDRS);
  if (cidrsText === undefined) {
    return { kind: 'unservable', networkId, reason: `metadata port ${meta.logicalPort} has no ${CIDRS}` };
  }
  const cidrs: Cidr[] = [];
  for (const text of cidrsText.split(/\s+/)) {
    if (text === '') continue;
    const cidr = parseCidr(text);
    if (cidr) cidrs.push(cidr);
    else
      warnings.push(
        `metadata port ${meta.logicalPort}: ignoring malformed ${CIDRS} entry ${JSON.stringify(text)}`,
      );
  }

  const addresses = new Set<string>([METADATA_V4_CIDR]);
  for (const cidr of cidrs) {
    if (cidr.family === 4 && localV4.some((ip) => cidrContains(cidr, ip))) addresses.add(cidr.text);
  }
  if (ipv6) {
    addresses.add(METADATA_V6_CIDR);
    addresses.add(`${eui64LinkLocal(parsed.mac)!}/64`);
  }

  let mtu = parseMtu(meta.externalIds.get(MTU));
  if (mtu === undefined) {
    // neutron reads neutron:mtu from the VM port that triggered provisioning.
    for (const port of input.localPorts) {
      mtu = parseMtu(port.externalIds.get(MTU));
      if (mtu !== undefined) break;
    }
  }

  const veth = vethNames(networkId);
  return {
    kind: 'serve',
    warnings,
    network: {
      networkId,
      datapath: input.datapath.uuid,
      namespace: namespaceName(networkId),
      vethRoot: veth.root,
      vethInside: veth.inside,
      mac: parsed.mac,
      mtu,
      addresses: [...addresses].sort(),
      metadataPort: meta.logicalPort,
      ipv6,
    },
  };
}
