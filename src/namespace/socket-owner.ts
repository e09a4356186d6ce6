// Who holds a listening TCP port inside a namespace: when 169.254.169.254:80
// is taken (a leftover haproxy, kolla's neutron_agents_wrappers or EDPM's
// neutron-haproxy-<ns> sidecar), the agent's error and `ovnmeta verify` name
// the process (pid, command) instead of a bare EADDRINUSE.
//
// The namespace's /proc/net/tcp{,6} (read from inside it: one `ip netns
// exec … cat`) give the listening sockets' inodes; /proc/<pid>/fd/* links
// (`socket:[inode]`) give the processes that hold them. Processes of another
// PID namespace (a container without --pid=host) are not seen: the owner is
// then reported by its socket inode alone. The parsing is pure.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { NamespaceEnv } from './env.js';
import { namespaceEnv } from './env.js';

export interface TcpListener {
  /** Local address as text (IPv4 dotted, IPv6 compressed by URL rules). */
  readonly address: string;
  readonly port: number;
  readonly inode: number;
}

export interface SocketOwner {
  readonly pid: number;
  /** The command line, NULs as spaces (whole: messages shorten it). */
  readonly command: string;
}

export interface PortHolders {
  /** The listening sockets that keep the port. */
  readonly sockets: readonly TcpListener[];
  /** Processes holding one of them (several share a socket after fork). */
  readonly owners: readonly SocketOwner[];
}

const LISTEN = '0A';

function hexToIpv4(hex: string): string {
  // Host byte order (little-endian on the machines this runs on).
  const n = parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
}

function hexToIpv6(hex: string): string {
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (let b = 3; b >= 0; b--) bytes.push(parseInt(word.slice(b * 2, b * 2 + 2), 16));
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  // The URL parser compresses the longest zero run, as inet_ntop does.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

/** The LISTEN sockets of /proc/net/tcp (v4) or /proc/net/tcp6 text. */
export function parseTcpListeners(text: string): TcpListener[] {
  const out: TcpListener[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== LISTEN || !/^\d+:$/.test(f[0]!)) continue;
    const [addr, port] = f[1]!.split(':') as [string, string];
    out.push({
      address: addr.length === 8 ? hexToIpv4(addr) : hexToIpv6(addr),
      port: parseInt(port, 16),
      inode: Number(f[9]),
    });
  }
  return out;
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

/** Listeners that keep `host:port` from being bound: the same address, or a wildcard on that port. */
export function blockingListeners(
  listeners: readonly TcpListener[],
  host: string,
  port: number,
): TcpListener[] {
  const bare = host.replace(/%.*$/, '');
  return listeners.filter((l) => l.port === port && (l.address === bare || WILDCARDS.has(l.address)));
}

/** `socket:[123]` link targets to inodes. */
export function socketInode(link: string): number | undefined {
  const m = /^socket:\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : undefined;
}

/** One line for a message: "pid 12 (haproxy -f …)" or why none is known. */
export function describeHolders(h: PortHolders): string {
  const short = (c: string) => (c.length > 200 ? `${c.slice(0, 199)}…` : c);
  if (h.owners.length > 0) return h.owners.map((o) => `pid ${o.pid} (${short(o.command)})`).join(', ');
  if (h.sockets.length > 0) {
    const inodes = h.sockets.map((s) => s.inode).join(', ');
    return `a process outside this PID namespace (socket inode ${inodes}; run with the host's PID namespace to see it)`;
  }
  return 'no listener found';
}

/** Processes (in this PID namespace) holding any of `inodes`, by /proc/<pid>/fd. */
export function processesHolding(inodes: ReadonlySet<number>, proc = '/proc'): SocketOwner[] {
  const owners: SocketOwner[] = [];
  if (inodes.size === 0) return owners;
  for (const entry of readdirSync(proc)) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`${proc}/${entry}/fd`);
    } catch {
      continue; // gone, or a kernel thread
    }
    const holds = fds.some((fd) => {
      try {
        const inode = socketInode(readlinkSync(`${proc}/${entry}/fd/${fd}`));
        return inode !== undefined && inodes.has(inode);
      } catch {
        return false;
      }
    });
    if (!holds) continue;
    let command = '?';
    try {
      command = readFileSync(`${proc}/${entry}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ');
    } catch {
      // exited meanwhile
    }
    owners.push({ pid: Number(entry), command });
  }
  return owners;
}

/** The LISTEN sockets of `namespace` (ip netns name), v4 and v6; none when it cannot be read. */
export async function namespaceListeners(
  namespace: string,
  env: Partial<NamespaceEnv> = {},
): Promise<TcpListener[]> {
  const { runner } = namespaceEnv(env);
  const r = await runner
    .run('ip', ['netns', 'exec', namespace, 'cat', '/proc/net/tcp', '/proc/net/tcp6'])
    .catch(() => undefined);
  // cat exits 1 without tcp6 (ipv6.disable=1) but prints tcp.
  return parseTcpListeners(r?.stdout ?? '');
}

/** Who, among `listeners`, keeps host:port, and the processes holding those sockets. */
export function holdersAmong(listeners: readonly TcpListener[], host: string, port: number): PortHolders {
  const sockets = blockingListeners(listeners, host, port);
  return { sockets, owners: processesHolding(new Set(sockets.map((s) => s.inode))) };
}

/** Who listens on host:port in `namespace`. Never throws: an unreadable namespace gives nothing. */
export async function portHolders(
  namespace: string,
  host: string,
  port: number,
  env: Partial<NamespaceEnv> = {},
): Promise<PortHolders> {
  return holdersAmong(await namespaceListeners(namespace, env), host, port);
}
