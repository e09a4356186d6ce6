// Address canonicalisation for identity lookups (pure, no I/O).
//
// The identity index compares strings, so every address that reaches it, from
// the SB database or from a TCP peer, goes through `canonicalIp` first:
// IPv4 stays dotted-quad, IPv4-mapped IPv6 (`::ffff:10.0.0.5`, RFC 4291
// §2.5.5.2) becomes the IPv4 address, and other IPv6 is written in the RFC
// 5952 §4 form (lowercase, no leading zeros, longest zero run as `::`).
// A zone index (`fe80::1%eth0`, RFC 4007 §11) is dropped.

/** Scratch for IPv6 parsing; safe because parsing is synchronous. */
const groups = new Uint16Array(8);

/** Canonical text of an IPv4 or IPv6 address, or undefined when malformed. */
export function canonicalIp(text: string): string | undefined {
  if (text.indexOf(':') === -1) return canonicalIpv4(text);
  const zone = text.indexOf('%');
  const bare = zone === -1 ? text : text.slice(0, zone);
  if (!parseIpv6(bare)) return undefined;
  if (isV4Mapped()) {
    return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  }
  return formatIpv6();
}

/** Canonical text of a source address from a TCP peer. Node already prints
 *  IPv4 peers canonically, so the common case costs one indexOf. */
export function canonicalPeer(remoteAddress: string): string | undefined {
  return remoteAddress.indexOf(':') === -1 ? remoteAddress : canonicalIp(remoteAddress);
}

/**
 * The MAC encoded in an IPv6 link-local address (fe80::/10, RFC 4291 §2.5.6)
 * whose interface id is a modified EUI-64 (RFC 4291 Appendix A: ff:fe in the
 * middle, universal/local bit inverted), as lowercase `aa:bb:cc:dd:ee:ff`.
 * Undefined for any other address. Takes canonical text (from canonicalIp).
 */
export function linkLocalMac(canonicalV6: string): string | undefined {
  if (canonicalV6.indexOf(':') === -1 || !parseIpv6(canonicalV6)) return undefined;
  if ((groups[0]! & 0xffc0) !== 0xfe80) return undefined;
  const g4 = groups[4]!;
  const g5 = groups[5]!;
  const g6 = groups[6]!;
  const g7 = groups[7]!;
  if ((g5 & 0xff) !== 0xff || g6 >> 8 !== 0xfe) return undefined;
  return [(g4 >> 8) ^ 0x02, g4 & 0xff, g5 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff].map(hex2).join(':');
}

/** Lowercase colon-separated MAC, or undefined unless six hex octets. */
export function canonicalMac(text: string): string | undefined {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6) return undefined;
  for (const part of parts) if (!/^[0-9a-fA-F]{1,2}$/.test(part)) return undefined;
  return parts.map((p) => p.toLowerCase().padStart(2, '0')).join(':');
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

function canonicalIpv4(text: string): string | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let out = '';
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    // Decimal only: inet_aton's octal/hex forms are not addresses in the SB.
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    out += i === 0 ? String(n) : `.${n}`;
  }
  return out;
}

/** Fills `groups`; RFC 4291 §2.2 text forms, including an IPv4 tail. */
function parseIpv6(text: string): boolean {
  const gap = text.indexOf('::');
  if (gap !== -1 && text.indexOf('::', gap + 1) !== -1) return false;
  const head = gap === -1 ? text : text.slice(0, gap);
  const tail = gap === -1 ? '' : text.slice(gap + 2);
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === '' ? [] : tail.split(':');
  const all = gap === -1 ? headParts : tailParts;
  // An embedded IPv4 address (last part) stands for two groups.
  let v4: string | undefined;
  const last = all[all.length - 1];
  if (last !== undefined && last.indexOf('.') !== -1) {
    v4 = canonicalIpv4(last);
    if (v4 === undefined) return false;
    all.pop();
  }
  const count = headParts.length + tailParts.length + (v4 === undefined ? 0 : 2);
  if (gap === -1 ? count !== 8 : count > 7) return false;
  groups.fill(0);
  for (let i = 0; i < headParts.length; i++) {
    const g = parseGroup(headParts[i]!);
    if (g < 0) return false;
    groups[i] = g;
  }
  const tailStart = 8 - tailParts.length - (v4 === undefined ? 0 : 2);
  for (let i = 0; i < tailParts.length; i++) {
    const g = parseGroup(tailParts[i]!);
    if (g < 0) return false;
    groups[tailStart + i] = g;
  }
  if (v4 !== undefined) {
    const o = v4.split('.').map(Number);
    groups[6] = (o[0]! << 8) | o[1]!;
    groups[7] = (o[2]! << 8) | o[3]!;
  }
  return true;
}

function parseGroup(part: string): number {
  if (part.length === 0 || part.length > 4 || !/^[0-9a-fA-F]+$/.test(part)) return -1;
  return parseInt(part, 16);
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

/** RFC 5952 §4.2: compress the longest run (first on a tie) of two or more
 *  zero groups; §4.3 lowercase; §4.1 no leading zeros. */
function formatIpv6(): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += groups[i]!.toString(16);
  }
  return out;
}
