/**
 * The SB `mac` column of a Port_Binding ("MAC IP IP...", ovn-sb(5)) as
 * addresses the agent can use. Address syntax itself is src/common/address.ts.
 * Pure.
 */
import { canonicalMac, ipFamily } from '../common/address.js';

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
  const mac = canonicalMac(tokens[0] ?? '');
  if (mac === undefined) return undefined;
  const ips = tokens.slice(1).filter((t) => ipFamily(t) !== undefined);
  return { mac, ips };
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
