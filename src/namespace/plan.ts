// planPlumbing: the pure heart of the layer. Given what one network's
// plumbing should be and what the host has, list the steps that make the
// host match, ordered so that applyPlumbing can group them into at most three
// kernel batches (namespace pre-clean, root, namespace, the last ending with
// the tx checksum offload) and usually two. Adopts whatever is already right: a sound namespace and veth
// pair are never recreated, only corrected.
//
// Decisions (see also docs/architecture.md "src/namespace"):
// - Addresses on the inside end are exactly `desired.addresses` (neutron
//   removes addresses not wanted). The kernel's own IPv6 link-local is no
//   exception: on veths we create, `addrgenmode none` stops the kernel from
//   making one, and the EUI-64 link-local is added explicitly when wanted
//   (it is then the same address the kernel would have made). On adopted
//   veths a kernel-made link-local is kept when wanted, removed when not,
//   and `addrgenmode none` is set before we bring such a link up (the
//   event on which the kernel makes one).
// - Checksum fill for netdev datapaths: tx checksum offload off on the inside
//   end (what `ethtool -K <inside> tx off` does, set in-process by
//   kernel.ts) rather than neutron's iptables CHECKSUM rule: no spawn, no
//   iptables or xt_CHECKSUM needed, and it covers every protocol, not only TCP. When no
//   longer wanted, offload is left off (harmless, and datapath types rarely
//   change).
import type { ActualPlumbing, DesiredPlumbing, PlumbingStep } from './types.js';
import { validateDesired } from './validate.js';

/** True when the inside end is the root end's veth peer, across namespaces. */
export function isSoundPair(actual: ActualPlumbing): boolean {
  const { root, inside } = actual;
  return (
    actual.namespace === 'present' &&
    root !== undefined &&
    inside !== undefined &&
    inside.kind === 'veth' &&
    inside.peerInOtherNetns &&
    inside.peerIfindex === root.ifindex &&
    root.peerIfindex === inside.ifindex
  );
}

/**
 * Steps that turn `actual` into `desired`; empty when the host is right.
 * Throws NetnsInvalidDesiredError for input that can never be applied.
 */
export function planPlumbing(desiredInput: DesiredPlumbing, actual: ActualPlumbing): PlumbingStep[] {
  const desired = validateDesired(desiredInput);
  const { namespace: ns, vethRoot, vethInside, mac, mtu } = desired;
  const pre: PlumbingStep[] = []; // in the namespace, before the root batch
  const root: PlumbingStep[] = [];
  const inside: PlumbingStep[] = [];

  if (actual.namespace === 'stale') root.push({ op: 'netns-delete', namespace: ns });
  if (actual.namespace !== 'present') root.push({ op: 'netns-add', namespace: ns });
  const nsFresh = actual.namespace !== 'present';

  let insideAddresses: readonly string[];
  let insideUp: boolean;
  let txOffload: boolean | undefined;
  if (isSoundPair(actual)) {
    const r = actual.root!;
    const i = actual.inside!;
    if (mtu !== undefined && r.mtu !== mtu) root.push({ op: 'link-set', link: vethRoot, mtu });
    if (!r.up) root.push({ op: 'link-set', link: vethRoot, up: true });
    const fixMac = i.mac.toLowerCase() !== mac;
    const fixMtu = mtu !== undefined && i.mtu !== mtu;
    // An adopted veth may still let the kernel make link-locals (neutron's
    // do): bringing it up would add one behind our back after we planned
    // its addresses. Turn that off first; a link-local already there is in
    // i.addresses and handled below. (A MAC change makes none: tested.)
    if (actual.ipv6 && !i.up) {
      inside.push({ op: 'link-set', namespace: ns, link: vethInside, addrgenmodeNone: true });
    }
    if (fixMac || fixMtu) {
      inside.push({
        op: 'link-set',
        namespace: ns,
        link: vethInside,
        ...(fixMac ? { mac } : {}),
        ...(fixMtu ? { mtu } : {}),
      });
    }
    insideAddresses = i.addresses;
    insideUp = i.up;
    txOffload = actual.txChecksumOffload;
  } else {
    // Half made or foreign: start the pair afresh. Deleting the root end of a
    // veth deletes its peer wherever it is; a same-named link in the
    // namespace that is not that peer must go first, or the new peer's name
    // collides there.
    const { root: r, inside: i } = actual;
    const insideIsPeer =
      r !== undefined && i !== undefined && i.peerIfindex === r.ifindex && r.peerIfindex === i.ifindex;
    if (!nsFresh && i !== undefined && !insideIsPeer) {
      pre.push({ op: 'link-delete', namespace: ns, link: vethInside });
    }
    if (r !== undefined) root.push({ op: 'link-delete', link: vethRoot });
    root.push({
      op: 'veth-add',
      root: vethRoot,
      inside: vethInside,
      namespace: ns,
      mac,
      ...(mtu === undefined ? {} : { mtu }),
    });
    root.push({ op: 'link-set', link: vethRoot, up: true });
    if (actual.ipv6) inside.push({ op: 'link-set', namespace: ns, link: vethInside, addrgenmodeNone: true });
    insideAddresses = [];
    insideUp = false;
    txOffload = true; // a new veth has checksum offload on
  }

  if (nsFresh || actual.loopbackUp !== true) {
    inside.unshift({ op: 'link-set', namespace: ns, link: 'lo', up: true });
  }

  // Deletions first: an address may come back with another prefix length,
  // and the kernel keys IPv6 addresses by address alone.
  const wanted = new Set(desired.addresses);
  const present = new Set(insideAddresses);
  const deleted: string[] = [];
  for (const cidr of insideAddresses) {
    if (wanted.has(cidr)) continue;
    inside.push({ op: 'addr-delete', namespace: ns, link: vethInside, cidr });
    deleted.push(cidr);
  }
  const kept = insideAddresses.filter((c) => wanted.has(c));
  const readd = ipv4SubnetMates(deleted, kept);
  for (const cidr of desired.addresses) {
    if (!present.has(cidr) || readd.has(cidr)) {
      inside.push({ op: 'addr-add', namespace: ns, link: vethInside, cidr });
    }
  }
  if (!insideUp) inside.push({ op: 'link-set', namespace: ns, link: vethInside, up: true });

  const steps = [...pre, ...root, ...inside];
  if (desired.checksumFill && txOffload !== false) {
    steps.push({ op: 'tx-checksum-off', namespace: ns, link: vethInside });
  }
  return steps;
}

/**
 * Kept IPv4 addresses that share a subnet with a deleted one. Deleting an
 * IPv4 primary address deletes its secondaries too unless
 * net.ipv4.conf.*.promote_secondaries is set, and a new netns starts with it
 * off; re-adding them (`addr replace`, a no-op when they survived) keeps one
 * pass enough.
 */
function ipv4SubnetMates(deleted: readonly string[], kept: readonly string[]): Set<string> {
  const mates = new Set<string>();
  for (const d of deleted) {
    const gone = ipv4Subnet(d);
    if (gone === undefined) continue;
    for (const k of kept) if (ipv4Subnet(k) === gone) mates.add(k);
  }
  return mates;
}

/** `network/len` of a canonical IPv4 CIDR, undefined for IPv6. */
function ipv4Subnet(cidr: string): string | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (m === null) return undefined;
  const len = Number(m[5]);
  const addr = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0;
  return `${(addr & mask) >>> 0}/${len}`;
}
