/**
 * Address helpers for the desired-state computation: parsing the SB `mac`
 * column ("MAC IP IP...") and IPv4 subnet membership (CIDRs are parsed,
 * in canonical form, by src/namespace). Pure.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Cidr } from '../namespace/index.js';

const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;

export function isMac(s: string): boolean {
  return MAC.test(s);
}

export interface MacEntry {
  readonly mac: string;
  readonly ips: readonly string[];
}

/**
 * Parses one entry of Port_Binding.mac. `unknown`, `dynamic` and `router`
 * entries carry no address we can use and give undefined, as does a first
 * token that is not a MAC. IPs that do not parse are dropped.
 */
export function parseMacEntry(entry: string): MacEntry | undefined {
  const tokens = entry.trim().split(/\s+/);
  const mac = tokens[0];
  if (mac === undefined || !isMac(mac)) return undefined;
  const ips = tokens.slice(1).filter((t) => isIPv4(t) || isIPv6(t));
  return { mac: mac.toLowerCase(), ips };
}

/** All addresses of a port: every parseable entry of its `mac` column. */
export function portAddresses(mac: readonly string[]): MacEntry[] {
  const out: MacEntry[] = [];
  for (const e of mac) {
    const parsed = parseMacEntry(e);
    if (parsed) out.push(parsed);
  }
  return out;
}

export function ipv4ToInt(ip: string): number {
  let n = 0;
  for (const part of ip.split('.')) n = n * 256 + Number(part);
  return n;
}

/** Whether an IPv4 address lies in an IPv4 CIDR (parsed by src/namespace's parseCidr). */
export function ipv4InCidr(ip: string, cidr: Cidr): boolean {
  if (cidr.family !== 4 || !isIPv4(ip)) return false;
  if (cidr.prefixlen === 0) return true;
  const size = 2 ** (32 - cidr.prefixlen);
  return Math.floor(ipv4ToInt(ip) / size) === Math.floor(ipv4ToInt(cidr.address) / size);
}
