// The little address arithmetic the sandbox needs to allocate addresses the
// way neutron's IPAM does (gateway .1, metadata port next, VMs after).
import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  readonly version: 4 | 6;
  /** Network address as a bigint. */
  readonly network: bigint;
  readonly prefix: number;
  readonly text: string;
}

function parseV4(ip: string): bigint {
  return ip.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function parseV6(ip: string): bigint {
  const [head = '', tail] = ip.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

export function parseIp(ip: string): { version: 4 | 6; value: bigint } {
  if (isIPv4(ip)) return { version: 4, value: parseV4(ip) };
  if (isIPv6(ip) && !ip.includes('.')) return { version: 6, value: parseV6(ip) };
  throw new Error(`not an IP address: ${ip}`);
}

export function formatIp(version: 4 | 6, value: bigint): string {
  if (version === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) =>
    ((value >> BigInt((7 - i) * 16)) & 0xffffn).toString(16),
  );
  // RFC 5952 §4.2: compress the longest run (of two or more) of zero groups.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

export function parseCidr(text: string): Cidr {
  const [ip = '', prefixText = ''] = text.split('/');
  const { version, value } = parseIp(ip);
  const bits = version === 4 ? 32 : 128;
  const prefix = Number(prefixText);
  if (!/^\d+$/.test(prefixText) || prefix > bits) throw new Error(`not a CIDR: ${text}`);
  const host = (1n << BigInt(bits - prefix)) - 1n;
  return { version, network: value & ~host, prefix, text: `${formatIp(version, value & ~host)}/${prefix}` };
}

/** The `offset`-th address of the subnet (1 = neutron's default gateway). */
export function nthAddress(cidr: Cidr, offset: number): string {
  return formatIp(cidr.version, cidr.network + BigInt(offset));
}

export function contains(cidr: Cidr, ip: string): boolean {
  const { version, value } = parseIp(ip);
  if (version !== cidr.version) return false;
  const bits = version === 4 ? 32 : 128;
  return value >> BigInt(bits - cidr.prefix) === cidr.network >> BigInt(bits - cidr.prefix);
}

/** The EUI-64 link-local address of a MAC (RFC 4291 §2.5.1, appendix A). */
export function linkLocalOf(mac: string): string {
  const b = mac.split(':').map((h) => Number.parseInt(h, 16));
  const bytes = [(b[0] ?? 0) ^ 0x02, b[1], b[2], 0xff, 0xfe, b[3], b[4], b[5]] as number[];
  const interfaceId = bytes.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
  return formatIp(6, (0xfe80n << 112n) | interfaceId);
}
