// inspectPlumbing: read one network's plumbing from the host with as few
// spawns as possible. The namespace is a stat of /run/netns/<name> (no
// spawn), the root end of the veth is read from sysfs (no spawn), and all
// of the namespace side is ONE `ip -n NS -json -d addr show`. A netdev
// datapath also reads the inside end's tx checksum offload (no sysfs file
// shows device features), in-process (offload.ts), no spawn. A fresh network
// thus costs no spawn at all to inspect, a converged one one.
import { readdir, readFile, stat } from 'node:fs/promises';
import { parseCidr } from '../common/address.js';
import { namespaceEnv, type NamespaceEnv } from './env.js';
import { NetnsInspectError } from './errors.js';
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

  const args = ['-n', namespace, '-json', '-d', 'addr', 'show'];
  const result = await env.runner.run('ip', args);
  if (result.exitCode !== 0) {
    throw new NetnsInspectError(
      namespace,
      `ip ${args.join(' ')} exited ${result.exitCode}: ${result.stderr.trim()}`,
    );
  }
  const links = parseLinks(namespace, result.stdout);
  const lo = links.find((l) => l.ifname === 'lo');
  const insideJson = links.find((l) => l.ifname === vethInside);
  const inside = insideJson && toInsideLink(namespace, insideJson);
  const actual: ActualPlumbing = {
    namespace: ns,
    ipv6: env.ipv6,
    loopbackUp: lo !== undefined && lo.flags.includes('UP'),
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

interface IpLinkJson {
  readonly ifindex: number;
  readonly ifname: string;
  readonly flags: readonly string[];
  readonly mtu: number;
  readonly address?: string;
  readonly link_index?: number;
  readonly link_netnsid?: number;
  readonly linkinfo?: { readonly info_kind?: string };
  readonly addr_info?: readonly {
    readonly family?: string;
    readonly local?: string;
    readonly prefixlen?: number;
  }[];
}

function parseLinks(namespace: string, stdout: string): IpLinkJson[] {
  let value: unknown;
  try {
    value = JSON.parse(stdout);
  } catch (err) {
    throw new NetnsInspectError(namespace, 'ip -json printed no JSON', { cause: err });
  }
  const ok =
    Array.isArray(value) &&
    value.every(
      (l: Partial<IpLinkJson> | null) =>
        typeof l === 'object' &&
        l !== null &&
        typeof l.ifname === 'string' &&
        typeof l.ifindex === 'number' &&
        typeof l.mtu === 'number' &&
        Array.isArray(l.flags),
    );
  if (!ok) throw new NetnsInspectError(namespace, `unexpected ip -json shape: ${stdout.slice(0, 200)}`);
  return value as IpLinkJson[];
}

function toInsideLink(namespace: string, l: IpLinkJson): InsideLink {
  const addresses: string[] = [];
  for (const a of l.addr_info ?? []) {
    if ((a.family !== 'inet' && a.family !== 'inet6') || a.local === undefined) continue;
    const cidr = parseCidr(`${a.local}/${a.prefixlen}`);
    if (cidr === undefined)
      throw new NetnsInspectError(namespace, `unparsable address ${a.local}/${a.prefixlen}`);
    addresses.push(cidr.text);
  }
  return {
    ifindex: l.ifindex,
    ...(l.link_index === undefined ? {} : { peerIfindex: l.link_index }),
    peerInOtherNetns: l.link_netnsid !== undefined,
    ...(l.linkinfo?.info_kind === undefined ? {} : { kind: l.linkinfo.info_kind }),
    mac: (l.address ?? '').toLowerCase(),
    mtu: l.mtu,
    up: l.flags.includes('UP'),
    addresses,
  };
}

async function readTxChecksumOffload(namespace: string, link: string, env: NamespaceEnv): Promise<boolean> {
  try {
    return await env.offloads.txChecksum(`${env.netnsDir}/${namespace}`, link);
  } catch (err) {
    throw new NetnsInspectError(link, (err as Error).message, { cause: err });
  }
}
