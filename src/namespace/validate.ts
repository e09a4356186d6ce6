// Checks on what the agent asks for, before anything touches the host: every
// name becomes a link name for the kernel, a path under /run/netns or
// /sys/class/net, and a token of the `ip` line that describes its step
// (batchLine), so names are whitelisted, not escaped. Pure.
import { canonicalMac, parseCidr } from '../common/address.js';
import { NetnsInvalidDesiredError } from './errors.js';
import type { DesiredPlumbing } from './types.js';

/**
 * Names that are safe as one token of an `ip` line and in a path, and valid
 * for the kernel.
 * Link names: IFNAMSIZ - 1 = 15 bytes, no '/', ':' or whitespace (dev_valid_name).
 */
const LINK_NAME = /^[A-Za-z0-9_.-]{1,15}$/;
const NETNS_NAME = /^[A-Za-z0-9_.-]{1,200}$/;

/** `desired` checked and normalised: lower-case MAC, canonical unique CIDRs. */
export function validateDesired(desired: DesiredPlumbing): DesiredPlumbing {
  const { namespace, vethRoot, vethInside } = desired;
  assertNamespaceName(namespace);
  assertLinkName(namespace, 'vethRoot', vethRoot);
  assertLinkName(namespace, 'vethInside', vethInside);
  if (vethRoot === vethInside) {
    throw new NetnsInvalidDesiredError(namespace, 'vethInside', vethInside, 'same name as vethRoot');
  }
  const mac = canonicalMac(desired.mac);
  // Bit 0 of the first octet set is a multicast MAC: the kernel refuses it
  // for an Ethernet device (eth_validate_addr), as it does all zeros.
  if (mac === undefined || (Number.parseInt(mac.slice(0, 2), 16) & 1) === 1 || mac === '00:00:00:00:00:00') {
    throw new NetnsInvalidDesiredError(namespace, 'mac', desired.mac, 'want a unicast MAC-48');
  }
  const { mtu } = desired;
  if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535)) {
    throw new NetnsInvalidDesiredError(namespace, 'mtu', mtu, 'want an integer in 68..65535 (RFC 791)');
  }
  const addresses = new Set<string>();
  for (const text of desired.addresses) {
    const cidr = parseCidr(text);
    if (cidr === undefined) throw new NetnsInvalidDesiredError(namespace, 'address', text, 'not a CIDR');
    addresses.add(cidr.text);
  }
  return { ...desired, mac, addresses: [...addresses] };
}

/** Throws NetnsInvalidDesiredError unless `name` is a usable netns name. */
export function assertNamespaceName(name: string): void {
  if (!NETNS_NAME.test(name) || name === '.' || name === '..') {
    throw new NetnsInvalidDesiredError(name, 'namespace', name, 'want 1-200 of [A-Za-z0-9_.-]');
  }
}

/** Throws NetnsInvalidDesiredError unless `name` is a usable link name. */
export function assertLinkName(namespace: string, field: string, name: string): void {
  if (!LINK_NAME.test(name) || name === '.' || name === '..') {
    throw new NetnsInvalidDesiredError(namespace, field, name, 'want 1-15 of [A-Za-z0-9_.-]');
  }
}
