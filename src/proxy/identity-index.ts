// Who is asking: (network, source address) -> the VM port's instance and
// project, in O(1) per request (neutron scans every Port_Binding instead).
//
// The agent feeds the index from the SB replica (upsertPort / removePort on
// row events); the proxy only reads it. Invariants:
// - `ports` holds every port given, bound or not, so an unbind followed by a
//   rebind needs no other input;
// - the per-network maps hold exactly the *bound* ports, under each of their
//   canonical IPs and their MAC (for IPv6 link-local sources, whose address
//   encodes the MAC as an EUI-64 interface id);
// - a network's maps are dropped when they empty, so the index never grows
//   with networks that left the chassis.

import { ProxyInvalidPortError } from './errors.js';
import { canonicalHostIp, canonicalMac, canonicalPeerIp, linkLocalMac } from '../common/address.js';

export interface PortIdentity {
  /** Stable key chosen by the feeder, e.g. the Port_Binding logical_port. */
  readonly key: string;
  readonly network: string;
  readonly mac: string;
  readonly ips: readonly string[];
  readonly instanceId: string;
  readonly projectId: string;
  /** True when the port's chassis (or additional_chassis) is non-empty. */
  readonly bound: boolean;
}

export type IdentityLookup =
  | { readonly kind: 'found'; readonly instanceId: string; readonly projectId: string; readonly port: string }
  | { readonly kind: 'none' }
  | { readonly kind: 'ambiguous'; readonly ports: readonly string[] };

/** The read side, all the proxy needs. */
export interface IdentitySource {
  lookup(network: string, sourceIp: string): IdentityLookup;
}

interface StoredPort {
  readonly key: string;
  readonly network: string;
  readonly mac: string;
  readonly ips: readonly string[];
  readonly found: IdentityLookup & { kind: 'found' };
  readonly bound: boolean;
}

interface NetworkEntries {
  readonly byIp: Map<string, Set<string>>;
  readonly byMac: Map<string, Set<string>>;
}

const NONE: IdentityLookup = Object.freeze({ kind: 'none' });

export class IdentityIndex implements IdentitySource {
  readonly #ports = new Map<string, StoredPort>();
  readonly #networks = new Map<string, NetworkEntries>();

  /** Number of ports known (bound or not). */
  get size(): number {
    return this.#ports.size;
  }

  /**
   * Inserts or replaces a port. Throws ProxyInvalidPortError, leaving the
   * index untouched, when the MAC or an IP is malformed.
   */
  upsertPort(port: PortIdentity): void {
    const stored = this.#validate(port);
    const old = this.#ports.get(port.key);
    if (old !== undefined) this.#unindex(old);
    this.#ports.set(port.key, stored);
    if (stored.bound) this.#index(stored);
  }

  /** Forgets a port; unknown keys are ignored. */
  removePort(key: string): boolean {
    const old = this.#ports.get(key);
    if (old === undefined) return false;
    this.#unindex(old);
    this.#ports.delete(key);
    return true;
  }

  /**
   * The bound port of `network` that owns `sourceIp` (any textual form; an
   * IPv6 link-local source is matched by the MAC in its interface id).
   * Hot path: no allocation when exactly one port matches.
   */
  lookup(network: string, sourceIp: string): IdentityLookup {
    const entries = this.#networks.get(network);
    if (entries === undefined) return NONE;
    const ip = canonicalPeerIp(sourceIp);
    if (ip === undefined) return NONE;
    const mac = linkLocalMac(ip);
    const keys = mac === undefined ? entries.byIp.get(ip) : entries.byMac.get(mac);
    if (keys === undefined) return NONE;
    if (keys.size === 1) {
      for (const key of keys) return this.#ports.get(key)!.found;
    }
    return { kind: 'ambiguous', ports: [...keys].sort() };
  }

  #validate(port: PortIdentity): StoredPort {
    const mac = canonicalMac(port.mac);
    if (mac === undefined)
      throw new ProxyInvalidPortError(port.key, `malformed MAC ${JSON.stringify(port.mac)}`);
    const ips: string[] = [];
    for (const text of port.ips) {
      const ip = canonicalHostIp(text);
      if (ip === undefined) throw new ProxyInvalidPortError(port.key, `malformed IP ${JSON.stringify(text)}`);
      if (!ips.includes(ip)) ips.push(ip);
    }
    const found = Object.freeze({
      kind: 'found' as const,
      instanceId: port.instanceId,
      projectId: port.projectId,
      port: port.key,
    });
    return { key: port.key, network: port.network, mac, ips, found, bound: port.bound };
  }

  #index(port: StoredPort): void {
    let entries = this.#networks.get(port.network);
    if (entries === undefined) {
      entries = { byIp: new Map(), byMac: new Map() };
      this.#networks.set(port.network, entries);
    }
    for (const ip of port.ips) addTo(entries.byIp, ip, port.key);
    addTo(entries.byMac, port.mac, port.key);
  }

  #unindex(port: StoredPort): void {
    if (!port.bound) return;
    const entries = this.#networks.get(port.network);
    if (entries === undefined) return;
    for (const ip of port.ips) removeFrom(entries.byIp, ip, port.key);
    removeFrom(entries.byMac, port.mac, port.key);
    if (entries.byIp.size === 0 && entries.byMac.size === 0) this.#networks.delete(port.network);
  }
}

function addTo(map: Map<string, Set<string>>, at: string, key: string): void {
  const keys = map.get(at);
  if (keys === undefined) map.set(at, new Set([key]));
  else keys.add(key);
}

function removeFrom(map: Map<string, Set<string>>, at: string, key: string): void {
  const keys = map.get(at);
  if (keys === undefined) return;
  keys.delete(key);
  if (keys.size === 0) map.delete(at);
}
