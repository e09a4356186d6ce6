// The host this layer acts on, with its defaults in one place. Tests pass a
// counting kernel or runner; nothing else usually changes.
import { existsSync } from 'node:fs';
import { workerKernel, type NetnsKernel } from './kernel.js';
import { execaRunner, type CommandRunner } from './runner.js';

export interface NamespaceEnv {
  /** Commands that are not plumbing (the sockets of a namespace, for socket owners). */
  readonly runner: CommandRunner;
  /** The plumbing's kernel calls, in-process (kernel.ts): no spawn. */
  readonly kernel: NetnsKernel;
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
    kernel: workerKernel,
    netnsDir: '/run/netns',
    sysClassNet: '/sys/class/net',
    selfNetns: '/proc/self/ns/net',
    ipv6: hostIpv6,
    ...overrides,
  };
}
