// inspectPlumbing: read one network's plumbing from the host without a
// process start. The namespace is a stat of /run/netns/<name>, the root end
// of the veth is read from sysfs, and all of the namespace side is one kernel
// batch (kernel.ts) of two rtnetlink dumps, links and addresses: what
// `ip -n NS -d addr show` prints. A netdev datapath also reads the inside
// end's tx checksum offload (no sysfs file shows device features) by
// SIOCETHTOOL, in a second batch.
import { readdir, readFile, stat } from 'node:fs/promises';
import { namespaceEnv, type NamespaceEnv } from './env.js';
import { NetnsInspectError } from './errors.js';
import type { KernelOp, KernelResult } from './kernel.js';
import { decodeAddresses, decodeLinks, dumpRequest, type DumpedAddress, type DumpedLink } from './netlink.js';
import { isSoundPair } from './plan.js';
import type { ActualPlumbing, DesiredPlumbing, InsideLink, RootLink } from './types.js';
import { assertNamespaceName, validateDesired } from './validate.js';

const nsfsDev = new Map<string, Promise<number>>();

/** Reads what the host has for `desired`; never changes anything. */
export async function inspectPlumbing(
  desiredInput: DesiredPlumbing,
  envOverrides?: Partial<NamespaceEnv>,
): Promise<ActualPlumbing> {
  const env = namespaceEnv(envOverrides);
  const desired = validateDesired(desiredInput);
  const { namespace, vethInside } = desired;
  const [ns, root] = await Promise.all([
    namespaceState(namespace, env),
    readRootLink(desired.vethRoot, env.sysClassNet),
  ]);
  if (ns !== 'present') return { namespace: ns, ipv6: env.ipv6, ...(root ? { root } : {}) };

  const { links, addresses } = await dumpNamespace(namespace, env);
  const lo = links.find((l) => l.ifname === 'lo');
  const insideLink = links.find((l) => l.ifname === vethInside);
  const inside: InsideLink | undefined = insideLink && {
    ifindex: insideLink.ifindex,
    ...(insideLink.link === undefined ? {} : { peerIfindex: insideLink.link }),
    peerInOtherNetns: insideLink.linkNetnsid !== undefined,
    ...(insideLink.kind === undefined ? {} : { kind: insideLink.kind }),
    mac: insideLink.mac,
    mtu: insideLink.mtu,
    up: insideLink.up,
    addresses: addresses.filter((a) => a.ifindex === insideLink.ifindex).map((a) => a.cidr),
  };
  const actual: ActualPlumbing = {
    namespace: ns,
    ipv6: env.ipv6,
    loopbackUp: lo !== undefined && lo.up,
    ...(root ? { root } : {}),
    ...(inside ? { inside } : {}),
  };
  if (!desired.checksumFill || !isSoundPair(actual)) return actual;
  return { ...actual, txChecksumOffload: await readTxChecksumOffload(namespace, vethInside, env) };
}

/** Names in the netns run dir that start with `prefix`, sorted. */
export async function listNamespaces(
  prefix: string,
  envOverrides?: Partial<NamespaceEnv>,
): Promise<string[]> {
  const env = namespaceEnv(envOverrides);
  try {
    return (await readdir(env.netnsDir)).filter((n) => n.startsWith(prefix)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new NetnsInspectError(env.netnsDir, 'cannot list namespaces', { cause: err });
  }
}

/**
 * The netns inode behind /run/netns/<name> (what `ip netns identify` and
 * `ls -i` show), or undefined when there is no such mounted namespace. The
 * same inode before and after an ensure proves the namespace was adopted,
 * not recreated.
 */
export async function namespaceInode(
  name: string,
  envOverrides?: Partial<NamespaceEnv>,
): Promise<number | undefined> {
  const env = namespaceEnv(envOverrides);
  assertNamespaceName(name);
  try {
    const st = await stat(`${env.netnsDir}/${name}`);
    return st.dev === (await nsfsDevice(env.selfNetns)) ? st.ino : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** 'present' only when the entry is a bind mount of an nsfs inode. */
export async function namespaceState(name: string, env: NamespaceEnv): Promise<ActualPlumbing['namespace']> {
  let dev: number;
  try {
    dev = (await stat(`${env.netnsDir}/${name}`)).dev;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw new NetnsInspectError(name, 'cannot stat the namespace', { cause: err });
  }
  return dev === (await nsfsDevice(env.selfNetns)) ? 'present' : 'stale';
}

function nsfsDevice(selfNetns: string): Promise<number> {
  let dev = nsfsDev.get(selfNetns);
  if (dev === undefined) {
    dev = stat(selfNetns).then((s) => s.dev);
    nsfsDev.set(selfNetns, dev);
  }
  return dev;
}

/** sysfs attributes of a root-netns link; undefined when there is none. */
export async function readRootLink(name: string, sysClassNet: string): Promise<RootLink | undefined> {
  const dir = `${sysClassNet}/${name}`;
  let texts: string[];
  try {
    texts = await Promise.all(
      ['ifindex', 'iflink', 'mtu', 'flags'].map((f) => readFile(`${dir}/${f}`, 'latin1')),
    );
  } catch (err) {
    // ENOENT: no such link, or it vanished mid-read; the plan recreates it.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new NetnsInspectError(name, `cannot read ${dir}`, { cause: err });
  }
  const [ifindex, iflink, mtu, flags] = texts.map((t) => Number(t.trim())) as [
    number,
    number,
    number,
    number,
  ];
  if (![ifindex, iflink, mtu, flags].every(Number.isInteger)) {
    throw new NetnsInspectError(name, `unexpected sysfs contents in ${dir}: ${JSON.stringify(texts)}`);
  }
  // flags is "0x1003"-style hex; Number() reads the 0x prefix. IFF_UP = 0x1.
  return { ifindex, peerIfindex: iflink, mtu, up: (flags & 0x1) !== 0 };
}

/** The two dump requests, the same for every namespace. */
const DUMPS: readonly KernelOp[] = [
  { op: 'dump', bytes: dumpRequest('links').bytes },
  { op: 'dump', bytes: dumpRequest('addresses').bytes },
];

/** One kernel batch in the namespace: its links and addresses (rtnetlink dumps). */
async function dumpNamespace(
  namespace: string,
  env: NamespaceEnv,
): Promise<{ links: DumpedLink[]; addresses: DumpedAddress[] }> {
  let results: KernelResult[];
  try {
    results = await env.kernel.run({ netns: `${env.netnsDir}/${namespace}`, ops: DUMPS });
  } catch (err) {
    throw new NetnsInspectError(namespace, failureText(err), { cause: err });
  }
  try {
    return {
      links: decodeLinks(results[0] as Uint8Array[]),
      addresses: decodeAddresses(results[1] as Uint8Array[]),
    };
  } catch (err) {
    throw new NetnsInspectError(namespace, `unexpected rtnetlink dump: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

async function readTxChecksumOffload(namespace: string, link: string, env: NamespaceEnv): Promise<boolean> {
  try {
    const [on] = await env.kernel.run({
      netns: `${env.netnsDir}/${namespace}`,
      ops: [{ op: 'ethtool', link }],
    });
    return on as boolean;
  } catch (err) {
    throw new NetnsInspectError(link, failureText(err), { cause: err });
  }
}

/** A KernelBatchFailure's message is `what: errno`. */
function failureText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
