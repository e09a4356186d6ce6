// The host this layer acts on, with its defaults in one place. Tests pass a
// counting runner; nothing else usually changes.
import { existsSync } from 'node:fs';
import { workerOffloadControl, type OffloadControl } from './offload.js';
import { execaRunner, type CommandRunner } from './runner.js';

export interface NamespaceEnv {
  readonly runner: CommandRunner;
  /** tx checksum offload inside a namespace, in-process (offload.ts): no spawn. */
  readonly offloads: OffloadControl;
  /** Where `ip netns` bind-mounts named namespaces (iproute2 NETNS_RUN_DIR). */
  readonly netnsDir: string;
  /**
   * sysfs view of the agent's own (root) netns, read instead of spawning
   * `ip link show` for the root end. Valid because the agent runs in the
   * root netns of the chassis, as it must to plug ports into br-int.
   */
  readonly sysClassNet: string;
  /** nsfs node of our own netns; any netns mount shares its st_dev. */
  readonly selfNetns: string;
  /** The kernel has IPv6 (false when booted with ipv6.disable=1). */
  readonly ipv6: boolean;
}

let hostIpv6: boolean | undefined;

export function namespaceEnv(overrides: Partial<NamespaceEnv> = {}): NamespaceEnv {
  hostIpv6 ??= existsSync('/proc/sys/net/ipv6');
  return {
    runner: execaRunner,
    offloads: workerOffloadControl,
    netnsDir: '/run/netns',
    sysClassNet: '/sys/class/net',
    selfNetns: '/proc/self/ns/net',
    ipv6: hostIpv6,
    ...overrides,
  };
}
