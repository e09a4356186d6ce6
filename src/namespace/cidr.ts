// CIDR text in one canonical form, so that what the agent wants and what the
// kernel reports compare as plain strings: IPv4 dotted quad without leading
// zeros, IPv6 in RFC 5952 §4 form (lower case, no leading zeros, the longest
// run of two or more zero groups shortened to "::", the first on a tie), which
// is also what iproute2 prints (inet_ntop). Pure; no node:net dependency.

export interface Cidr {
  readonly family: 4 | 6;
  /** Canonical address text, without the prefix length. */
  readonly address: string;
  readonly prefixlen: number;
  /** `${address}/${prefixlen}` */
  readonly text: string;
}

/** Parses `addr/len`; undefined when either half is malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash === -1) return undefined;
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return undefined;
  const prefixlen = Number(lenText);
  const addrText = text.slice(0, slash);
  if (addrText.includes(':')) {
    const groups = parseIpv6(addrText);
    if (groups === undefined || prefixlen > 128) return undefined;
    const address = formatIpv6(groups);
    return { family: 6, address, prefixlen, text: `${address}/${prefixlen}` };
  }
  const octets = parseIpv4(addrText);
  if (octets === undefined || prefixlen > 32) return undefined;
  const address = octets.join('.');
  return { family: 4, address, prefixlen, text: `${address}/${prefixlen}` };
}

/** Canonical text of an address given without a prefix length. */
export function canonicalAddress(text: string): string | undefined {
  if (text.includes(':')) {
    const groups = parseIpv6(text);
    return groups && formatIpv6(groups);
  }
  return parseIpv4(text)?.join('.');
}

function parseIpv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const octets: number[] = [];
  for (const part of parts) {
    // Leading zeros are refused: inet_aton would read them as octal.
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    octets.push(n);
  }
  return octets;
}

/** RFC 4291 §2.2 text forms, including "::" and a trailing dotted quad. */
export function parseIpv6(text: string): number[] | undefined {
  let head = text;
  let tail4: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) !== -1) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail4 = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    // Keep the colon so "::1.2.3.4" leaves "::" behind.
    head = text.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const left = parseGroups(halves[0]!);
  const right = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (left === undefined || right === undefined) return undefined;
  const given = left.length + right.length + tail4.length;
  if (halves.length === 2) {
    if (given > 7) return undefined;
    return [...left, ...new Array<number>(8 - given).fill(0), ...right, ...tail4];
  }
  return given === 8 ? [...left, ...tail4] : undefined;
}

export function formatIpv6(groups: readonly number[]): string {
  // Longest run of >= 2 zero groups (RFC 5952 §4.2.2, §4.2.3).
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
  const hex = (from: number, to: number): string =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(':');
  if (bestStart === -1) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}
