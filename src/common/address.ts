// Addresses, one module for every layer: IPv4 and IPv6 text (RFC 4291 §2.2
// in; RFC 5952 §4 out, with glibc inet_ntop's dotted tail for IPv4-mapped and
// -compatible addresses, so that our text equals what iproute2 prints), CIDRs,
// MAC-48, the modified EUI-64 link-local address (RFC 4291 Appendix A) and
// `host:port` / `[host]:port`. Pure: no I/O, no node:net.
//
// IPv4 is dotted decimal only. Leading zeros are refused (`010.0.0.5`):
// inet_aton would read them as octal, and neither the Southbound nor the
// kernel ever writes them.

export type IpFamily = 4 | 6;

/** Scratch for IPv6 parsing; safe because every function here is synchronous. */
const groups = new Uint16Array(8);

const V4_PART = /^(?:0|[1-9]\d{0,2})$/;
const V6_GROUP = /^[0-9a-fA-F]{1,4}$/;
const MAC48 = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/;

/** The IPv4 address as an unsigned 32-bit number, or -1 when malformed. */
function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) return -1;
  let value = 0;
  for (const part of parts) {
    if (!V4_PART.test(part)) return -1;
    const n = Number(part);
    if (n > 255) return -1;
    value = value * 256 + n;
  }
  return value;
}

function formatIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}

/** Fills `groups` from RFC 4291 §2.2 text (`::`, a dotted IPv4 tail); false when malformed. */
function parseIpv6(text: string): boolean {
  const gap = text.indexOf('::');
  if (gap !== -1 && text.indexOf('::', gap + 1) !== -1) return false;
  const head = gap === -1 ? text : text.slice(0, gap);
  const tail = gap === -1 ? '' : text.slice(gap + 2);
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === '' ? [] : tail.split(':');
  const last = gap === -1 ? headParts : tailParts;
  let v4 = -1;
  const lastPart = last[last.length - 1];
  if (lastPart !== undefined && lastPart.includes('.')) {
    v4 = parseIpv4(lastPart);
    if (v4 < 0) return false;
    last.pop();
  }
  const count = headParts.length + tailParts.length + (v4 < 0 ? 0 : 2);
  if (gap === -1 ? count !== 8 : count > 7) return false;
  groups.fill(0);
  for (let i = 0; i < headParts.length; i++) {
    const part = headParts[i]!;
    if (!V6_GROUP.test(part)) return false;
    groups[i] = Number.parseInt(part, 16);
  }
  const tailStart = 8 - tailParts.length - (v4 < 0 ? 0 : 2);
  for (let i = 0; i < tailParts.length; i++) {
    const part = tailParts[i]!;
    if (!V6_GROUP.test(part)) return false;
    groups[tailStart + i] = Number.parseInt(part, 16);
  }
  if (v4 >= 0) {
    groups[6] = v4 >>> 16;
    groups[7] = v4 & 0xffff;
  }
  return true;
}

/** RFC 5952 §4 text of eight groups, as glibc's inet_ntop writes it: the longest
 *  run (first on a tie) of two or more zero groups as `::`, lowercase, no leading
 *  zeros, and a dotted tail for `::a.b.c.d` (compatible) and `::ffff:a.b.c.d` (mapped). */
function formatIpv6(g: ArrayLike<number>): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const dottedTail = bestStart === 0 && (bestLen === 6 || (bestLen === 5 && g[5] === 0xffff));
  const end = dottedTail ? 6 : 8;
  let out = '';
  for (let i = 0; i < end; i++) {
    if (i === bestStart) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += g[i]!.toString(16);
  }
  if (dottedTail) out += (out.endsWith(':') ? '' : ':') + formatIpv4(((g[6]! << 16) | g[7]!) >>> 0);
  return out;
}

/** 4 or 6 for a well-formed address (no zone index), else undefined. */
export function ipFamily(text: string): IpFamily | undefined {
  if (!text.includes(':')) return parseIpv4(text) < 0 ? undefined : 4;
  return parseIpv6(text) ? 6 : undefined;
}

/** Canonical text of an IPv4 or IPv6 address (no zone index), or undefined. */
export function canonicalIp(text: string): string | undefined {
  if (!text.includes(':')) {
    const v4 = parseIpv4(text);
    return v4 < 0 ? undefined : formatIpv4(v4);
  }
  return parseIpv6(text) ? formatIpv6(groups) : undefined;
}

function isV4Mapped(): boolean {
  return (
    groups[0] === 0 &&
    groups[1] === 0 &&
    groups[2] === 0 &&
    groups[3] === 0 &&
    groups[4] === 0 &&
    groups[5] === 0xffff
  );
}

/**
 * The address a host is known by, for identity comparisons: canonical text,
 * a zone index (`fe80::1%eth0`, RFC 4007 §11) dropped, and an IPv4-mapped
 * IPv6 address (RFC 4291 §2.5.5.2) written as the IPv4 address it maps.
 */
export function canonicalHostIp(text: string): string | undefined {
  if (!text.includes(':')) return canonicalIp(text);
  const zone = text.indexOf('%');
  if (!parseIpv6(zone === -1 ? text : text.slice(0, zone))) return undefined;
  if (isV4Mapped()) return formatIpv4(((groups[6]! << 16) | groups[7]!) >>> 0);
  return formatIpv6(groups);
}

/** canonicalHostIp of a socket's remote address. Node already prints IPv4
 *  peers canonically, so the common case costs one indexOf. */
export function canonicalPeerIp(remoteAddress: string): string | undefined {
  return remoteAddress.includes(':') ? canonicalHostIp(remoteAddress) : remoteAddress;
}

/** An address as a number (bigint), for arithmetic on subnets. */
export interface IpValue {
  readonly family: IpFamily;
  readonly value: bigint;
}

export function ipValue(text: string): IpValue | undefined {
  if (!text.includes(':')) {
    const v4 = parseIpv4(text);
    return v4 < 0 ? undefined : { family: 4, value: BigInt(v4) };
  }
  if (!parseIpv6(text)) return undefined;
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return { family: 6, value };
}

export function formatIpValue({ family, value }: IpValue): string {
  if (family === 4) return formatIpv4(Number(value & 0xffffffffn));
  const g = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt((7 - i) * 16)) & 0xffffn));
  return formatIpv6(g);
}

export interface Cidr {
  readonly family: IpFamily;
  /** Canonical address text, host bits kept (`10.0.0.2` of `10.0.0.2/24`). */
  readonly address: string;
  readonly prefixlen: number;
  /** `${address}/${prefixlen}` */
  readonly text: string;
}

/** Parses `addr/len` (host bits kept, as the kernel reports addresses); undefined when malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash === -1) return undefined;
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return undefined;
  const prefixlen = Number(lenText);
  const addrText = text.slice(0, slash);
  const family = ipFamily(addrText);
  if (family === undefined || prefixlen > (family === 4 ? 32 : 128)) return undefined;
  const address = canonicalIp(addrText)!;
  return { family, address, prefixlen, text: `${address}/${prefixlen}` };
}

const bitsOf = (family: IpFamily): number => (family === 4 ? 32 : 128);

/** The subnet of a CIDR: host bits cleared (`172.16.100.77/24` -> `172.16.100.0/24`). */
export function cidrNetwork(cidr: Cidr): Cidr {
  const host = (1n << BigInt(bitsOf(cidr.family) - cidr.prefixlen)) - 1n;
  const base = ipValue(cidr.address)!;
  const address = formatIpValue({ family: cidr.family, value: base.value & ~host });
  return { family: cidr.family, address, prefixlen: cidr.prefixlen, text: `${address}/${cidr.prefixlen}` };
}

/** Whether `ip` lies in `cidr`'s subnet (false for another family or a malformed ip). */
export function cidrContains(cidr: Cidr, ip: string): boolean {
  const v = ipValue(ip);
  if (v === undefined || v.family !== cidr.family) return false;
  const shift = BigInt(bitsOf(cidr.family) - cidr.prefixlen);
  return v.value >> shift === ipValue(cidr.address)!.value >> shift;
}

/** The `offset`-th address of the subnet (neutron's IPAM: 1 = gateway). */
export function nthAddress(cidr: Cidr, offset: number): string {
  const base = ipValue(cidrNetwork(cidr).address)!;
  return formatIpValue({ family: cidr.family, value: base.value + BigInt(offset) });
}

/** Lowercase `aa:bb:cc:dd:ee:ff`, or undefined unless a colon-separated MAC-48. */
export function canonicalMac(text: string): string | undefined {
  return MAC48.test(text) ? text.toLowerCase() : undefined;
}

/**
 * The IPv6 link-local address the kernel derives from a MAC (RFC 4291 §2.5.1,
 * Appendix A: universal/local bit inverted, ff:fe in the middle), as neutron
 * computes it for the metadata port; undefined when `mac` is not a MAC-48.
 * fa:16:3e:9d:cc:52 -> fe80::f816:3eff:fe9d:cc52
 */
export function eui64LinkLocal(mac: string): string | undefined {
  const normal = canonicalMac(mac);
  if (normal === undefined) return undefined;
  const b = normal.split(':').map((h) => Number.parseInt(h, 16));
  return formatIpv6([
    0xfe80,
    0,
    0,
    0,
    ((b[0]! ^ 0x02) << 8) | b[1]!,
    (b[2]! << 8) | 0xff,
    (0xfe << 8) | b[3]!,
    (b[4]! << 8) | b[5]!,
  ]);
}

/** The MAC encoded in an IPv6 link-local (fe80::/10) modified EUI-64 address;
 *  undefined for any other address. */
export function linkLocalMac(v6: string): string | undefined {
  if (!v6.includes(':') || !parseIpv6(v6)) return undefined;
  if ((groups[0]! & 0xffc0) !== 0xfe80) return undefined;
  const [g4, g5, g6, g7] = [groups[4]!, groups[5]!, groups[6]!, groups[7]!];
  if ((g5 & 0xff) !== 0xff || g6 >> 8 !== 0xfe) return undefined;
  const hex2 = (n: number): string => n.toString(16).padStart(2, '0');
  return [(g4 >> 8) ^ 0x02, g4 & 0xff, g5 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff].map(hex2).join(':');
}

/** `host:port`, with an IPv6 host in brackets (RFC 3986 §3.2.2); a host already bracketed stays so. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}
