// The mount-propagation trap. `ip netns add` pins a namespace by bind-mounting
// it on /run/netns/<name>. Run in a container (or any mount namespace other
// than the host's), that mount reaches the host only when /run/netns is a
// mount shared with the host's (`-v /run/netns:/run/netns:shared`,
// Kubernetes `mountPropagation: Bidirectional`): otherwise the host sees an
// empty file, other containers and the next container of the agent see no
// namespace, and the namespace dies with the container, so a restart cannot
// adopt what VMs use. Checked once at agent start, before any namespace is
// made. On the host itself nothing is required: iproute2 makes /run/netns a
// shared mount when it first adds a namespace, and it may not exist yet.
//
// judgePropagation is pure (tested on sample mountinfo text); checkPropagation
// reads /proc.
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { NetnsNotSharedError } from './errors.js';

/** One line of /proc/<pid>/mountinfo (proc(5)), the fields this check uses. */
export interface MountInfo {
  readonly id: number;
  readonly root: string;
  readonly mountPoint: string;
  /** Optional fields: `shared:N`, `master:N`, `propagate_from:N`, `unbindable`. */
  readonly optional: readonly string[];
  readonly fsType: string;
  readonly source: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
const unescape = (s: string): string =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(' ');
    const dash = f.indexOf('-', 6);
    if (f.length < 10 || dash === -1) continue;
    out.push({
      id: Number(f[0]),
      root: unescape(f[3]!),
      mountPoint: unescape(f[4]!),
      optional: f.slice(6, dash),
      fsType: f[dash + 1]!,
      source: unescape(f[dash + 2]!),
    });
  }
  return out;
}

/** How the agent runs, as far as the check needs to know. */
export interface PropagationInputs {
  /** /proc/self/mountinfo. */
  readonly mountinfo: string;
  /** The netns directory in use (/run/netns). */
  readonly netnsDir: string;
  /** Why this process is in a container or a mount namespace of its own, or undefined on the host. */
  readonly contained: string | undefined;
}

export type PropagationVerdict =
  { readonly ok: true; readonly detail: string } | { readonly ok: false; readonly reason: string };

/** The mount on `dir` itself (the last one listed wins: it covers the others), or undefined. */
export function mountAt(mounts: readonly MountInfo[], dir: string): MountInfo | undefined {
  const want = dir.length > 1 ? dir.replace(/\/+$/, '') : dir;
  return mounts.filter((m) => m.mountPoint === want).at(-1);
}

export function judgePropagation(i: PropagationInputs): PropagationVerdict {
  if (i.contained === undefined) return { ok: true, detail: 'on the host: nothing to check' };
  const m = mountAt(parseMountInfo(i.mountinfo), i.netnsDir);
  if (m === undefined) {
    return {
      ok: false,
      reason: `${i.netnsDir} is not a mount point: it is the container's own directory, so namespaces made here are invisible to the host and die with the container`,
    };
  }
  const shared = m.optional.find((o) => o.startsWith('shared:'));
  if (shared === undefined) {
    const how = m.optional.some((o) => o.startsWith('master:')) ? 'slave' : 'private';
    return {
      ok: false,
      reason: `${i.netnsDir} is a ${how} mount (mount ${m.id}: ${m.root} of ${m.source}): namespaces made here do not propagate to the host and die with the container`,
    };
  }
  return { ok: true, detail: `${i.netnsDir} is a shared mount (${shared})` };
}

/**
 * Why this process runs apart from the host's mounts, or undefined. A mount
 * namespace other than pid 1's (visible with the host's pid namespace, and
 * under systemd mount sandboxing), or a container runtime's marks: podman's
 * /run/.containerenv, docker's /.dockerenv, the `container` variable
 * (podman, systemd-nspawn), a Kubernetes pod's KUBERNETES_SERVICE_HOST.
 */
export function containedBecause(env: NodeJS.ProcessEnv = process.env): string | undefined {
  try {
    const self = readlinkSync('/proc/self/ns/mnt');
    const init = readlinkSync('/proc/1/ns/mnt');
    if (self !== init) return `in mount namespace ${self}, not pid 1's ${init}`;
  } catch {
    // /proc/1 unreadable: fall through to the runtime marks
  }
  if (existsSync('/run/.containerenv')) return 'in a podman container (/run/.containerenv)';
  if (existsSync('/.dockerenv')) return 'in a docker container (/.dockerenv)';
  if (env.container) return `in a container (container=${env.container})`;
  if (env.KUBERNETES_SERVICE_HOST) return 'in a Kubernetes pod (KUBERNETES_SERVICE_HOST)';
  return undefined;
}

/**
 * Throws NetnsNotSharedError when the agent would make namespaces the host
 * cannot see; else says why all is well.
 */
export function checkPropagation(netnsDir = '/run/netns'): string {
  const contained = containedBecause();
  const verdict = judgePropagation({
    mountinfo: readFileSync('/proc/self/mountinfo', 'utf8'),
    netnsDir,
    contained,
  });
  if (!verdict.ok) throw new NetnsNotSharedError(netnsDir, contained ?? '', verdict.reason);
  return verdict.detail;
}
