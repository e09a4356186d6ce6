// The packet `ovn-trace` simulates for one local VM port: what the VM's
// first request for metadata looks like on the wire (neutron-compat.md
// "Request path"), and how to read the answer. Pure.
//
// An IPv4 guest sends from its fixed IP to 169.254.169.254 (a DHCP route via
// the metadata port's IP, so at L2 to the metadata port's MAC); an
// IPv6-only guest sends from its EUI-64 link-local address to
// fe80::a9fe:a9fe on its link, which is the metadata port's MAC as well.
// ovn-trace(8): the microflow needs inport, eth.src (port security) and
// eth.dst for L2, ip src/dst and ip.ttl for L3.
import { eui64LinkLocal } from '../common/address.js';
import { portAddresses, type PortBinding } from '../agent/index.js';

export const METADATA_IPV4 = '169.254.169.254';
export const METADATA_IPV6 = 'fe80::a9fe:a9fe';

export interface Microflow {
  readonly family: 4 | 6;
  readonly sourceIp: string;
  readonly text: string;
}

/** The address a VM port asks for metadata from: its first IPv4, else its EUI-64 link-local. */
export interface VmSource {
  readonly family: 4 | 6;
  readonly mac: string;
  readonly ip: string;
}

/** Undefined when the port has no MAC with an address (`unknown` only). */
export function vmSource(port: PortBinding): VmSource | undefined {
  const entries = portAddresses(port.mac);
  for (const e of entries) {
    const v4 = e.ips.find((ip) => !ip.includes(':'));
    if (v4 !== undefined) return { family: 4, mac: e.mac, ip: v4 };
  }
  const v6 = entries.find((e) => e.ips.length > 0);
  return v6 && { family: 6, mac: v6.mac, ip: eui64LinkLocal(v6.mac)! };
}

/** The microflow for `port` to the metadata port's `metadataMac`, or undefined (see vmSource). */
export function metadataMicroflow(port: PortBinding, metadataMac: string): Microflow | undefined {
  const src = vmSource(port);
  if (src === undefined) return undefined;
  const l2 = `inport == ${JSON.stringify(port.logicalPort)} && eth.src == ${src.mac} && eth.dst == ${metadataMac}`;
  const l3 =
    src.family === 4
      ? `ip4.src == ${src.ip} && ip4.dst == ${METADATA_IPV4}`
      : `ip6.src == ${src.ip} && ip6.dst == ${METADATA_IPV6}`;
  return { family: src.family, sourceIp: src.ip, text: `${l2} && ${l3} && ip.ttl == 64 && tcp.dst == 80` };
}

/** The logical ports a `--minimal` trace delivers to, in order (`output("p");` lines). */
export function traceOutputs(minimal: string): string[] {
  const out: string[] = [];
  for (const m of minimal.matchAll(/\boutput\("((?:[^"\\]|\\.)*)"\);/g)) out.push(m[1]!);
  return out;
}

/**
 * The last logical flow table a `--detailed` trace visited, e.g.
 * `ls_in_acl: ip4 && tcp.dst == 80, priority 2000, uuid 1b2c3d4e` or
 * `ls_in_l2_lkup: no match (implicit drop)`: where a dropped packet ended.
 */
export function lastTraceStage(detailed: string): string | undefined {
  let last: string | undefined;
  for (const line of detailed.split('\n')) {
    const m = /^\s*\d+\.\s+(.*)$/.exec(line);
    if (m) last = m[1]!.replace(/ \([^()]*\.c:\d+\)/, '');
  }
  return last;
}

/** What a trace did instead of reaching the metadata port, in words. */
export function describeTraceEnd(minimal: string): string {
  const outputs = traceOutputs(minimal);
  if (outputs.length > 0) return `ends in ${outputs.map((p) => `output("${p}")`).join(', ')}`;
  // The first line is the microflow in OpenFlow syntax; anything else is an
  // error message from ovn-trace (unknown port, parse error) or nothing (drop).
  const rest = minimal
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .join(' ')
    .trim();
  return rest === '' ? 'is dropped' : `ends in ${JSON.stringify(rest.slice(0, 200))}`;
}

/**
 * `ovs-ofctl --no-names dump-flows BRIDGE table=0`: the in_port numbers of
 * the flows that are not the table's default drop. ovn-controller's
 * physical-to-logical flows there match `in_port=N` (physical.c).
 */
export function parseTable0InPorts(dump: string): Set<number> {
  const ports = new Set<number>();
  for (const line of dump.split('\n')) {
    const m = /[ ,]in_port=(\d+)[ ,]/.exec(line);
    if (m && !/actions=drop\s*$/.test(line)) ports.add(Number(m[1]));
  }
  return ports;
}
