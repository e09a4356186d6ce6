// The `metadata_proxy_socket` listener: a unix socket for an haproxy placed in
// front of us, neutron's own layout, kept so that operators can switch
// gradually. Mode rule from neutron's UnixDomainMetadataProxyBase._get_socket_mode.

import { readFileSync } from 'node:fs';
import { chmod, lstat, unlink } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';

import { ProxyInvalidOptionsError, ProxyListenFailedError } from './errors.js';

/** metadata_proxy_socket_mode */
export type UnixSocketMode = 'deduce' | 'user' | 'group' | 'all';

/** metadata_proxy_user / metadata_proxy_group (names or ids), for 'deduce'. */
export interface SocketOwner {
  readonly user?: string | undefined;
  readonly group?: string | undefined;
}

const MODE_BITS = { user: 0o644, group: 0o664, all: 0o666 } as const;

/**
 * neutron's rule: 'deduce' is 'user' (0644) when the proxy user is unset,
 * root, or the agent's effective user; else 'group' (0664) when the proxy
 * group is unset or the agent's effective group; else 'all' (0666).
 */
export function socketModeBits(mode: UnixSocketMode, owner: SocketOwner = {}, self = effectiveIds()): number {
  if (mode !== 'deduce') {
    const bits = MODE_BITS[mode] as number | undefined;
    if (bits === undefined) {
      throw new ProxyInvalidOptionsError('metadata_proxy_socket_mode', `unknown mode ${String(mode)}`);
    }
    return bits;
  }
  const { user, group } = owner;
  if (!user || user === '0' || user === 'root' || user === String(self.uid) || user === self.userName) {
    return MODE_BITS.user;
  }
  if (!group || group === String(self.gid) || group === self.groupName) return MODE_BITS.group;
  return MODE_BITS.all;
}

export interface EffectiveIds {
  readonly uid: number;
  readonly gid: number;
  readonly userName: string | undefined;
  readonly groupName: string | undefined;
}

function effectiveIds(): EffectiveIds {
  const uid = process.geteuid?.() ?? -1;
  const gid = process.getegid?.() ?? -1;
  let userName: string | undefined;
  try {
    userName = os.userInfo().username;
  } catch {
    userName = undefined;
  }
  return { uid, gid, userName, groupName: groupNameOf(gid) };
}

function groupNameOf(gid: number): string | undefined {
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (id !== undefined && Number(id) === gid) return name;
    }
  } catch {
    // No /etc/group: names cannot match, ids still do.
  }
  return undefined;
}

/**
 * Listens on `path` with permission bits `mode`. A socket file left by a dead
 * process is replaced; one that still answers is someone else's, and so is
 * any file that is not a socket: both fail with PROXY_LISTEN_FAILED.
 */
export async function listenUnix(
  server: net.Server,
  path: string,
  mode: number,
  backlog: number,
): Promise<void> {
  const stat = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new ProxyListenFailedError(path, path, error.message, { cause: error });
  });
  if (stat !== undefined) {
    if (!stat.isSocket()) throw new ProxyListenFailedError(path, path, 'exists and is not a socket');
    if (await answers(path))
      throw new ProxyListenFailedError(path, path, 'another process serves this socket');
    await unlink(path);
  }
  await new Promise<void>((resolve, reject) => {
    const onError = (cause: NodeJS.ErrnoException): void =>
      reject(new ProxyListenFailedError(path, path, cause.message, { cause }));
    server.once('error', onError);
    server.listen({ path, backlog }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  await chmod(path, mode);
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
