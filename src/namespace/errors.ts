// The NETNS_* error catalogue (docs/architecture.md "Errors"). Callers branch
// on `code`; `retryable` says whether the reconciler should back off and try
// again (true) or wait for the desired state to change (false).
import { CodedError } from '../common/coded-error.js';

/** Every code this layer throws, for the catalogue test against docs/errors.md. */
export const NETNS_ERROR_CODES = [
  'NETNS_INVALID_DESIRED',
  'NETNS_KERNEL_FAILED',
  'NETNS_SPAWN_FAILED',
  'NETNS_INSPECT_FAILED',
  'NETNS_OVS_BRIDGE_MISSING',
  'NETNS_NOT_SHARED',
] as const;

export type NetnsErrorCode = (typeof NETNS_ERROR_CODES)[number];

export abstract class NetnsError extends CodedError {
  abstract override readonly code: NetnsErrorCode;
}

/**
 * The desired plumbing cannot be applied as given (a name iproute2 or the
 * kernel would reject, a malformed MAC, MTU or CIDR). Terminal: retrying the
 * same input cannot succeed; nothing on the host was touched.
 */
export class NetnsInvalidDesiredError extends NetnsError {
  readonly code = 'NETNS_INVALID_DESIRED';
  readonly retryable = false;

  constructor(
    /** The object the bad value belongs to (a namespace or link name). */
    readonly object: string,
    readonly field: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(`${object}: invalid ${field} ${JSON.stringify(value)}: ${reason}`);
  }
}

/**
 * A kernel call of a plumbing step failed (kernel.ts: rtnetlink, netns
 * add/delete, SIOCETHTOOL), or the namespace could not be entered. Steps
 * before it stay applied and the next inspect + plan carries on from there.
 * Retryable unless the kernel refused the operation itself (no permission,
 * not supported): the usual causes are races with the kernel or another actor
 * (a link vanished or appeared between inspect and apply), which the next
 * inspect sees and plans around.
 */
export class NetnsKernelError extends NetnsError {
  readonly code = 'NETNS_KERNEL_FAILED';
  readonly retryable: boolean;

  constructor(
    /** The namespace the step acts in; 'root netns' for the agent's own. */
    readonly netns: string,
    /** The failing step as an `ip`/`ethtool` line would say it. */
    readonly step: string,
    /** errno name, e.g. EEXIST. */
    readonly errno: string,
    /** The call that failed, e.g. "kernel refused", "setns /run/netns/…". */
    readonly what: string,
  ) {
    super(`${step} (in ${netns}): ${what}: ${errno}`);
    this.retryable = errno !== 'EPERM' && errno !== 'EACCES' && errno !== 'EOPNOTSUPP';
  }
}

/** The command could not be started at all (missing binary, no permission, no resources). */
export class NetnsSpawnError extends NetnsError {
  readonly code = 'NETNS_SPAWN_FAILED';
  readonly retryable: boolean;

  constructor(
    readonly command: string,
    cause: unknown,
  ) {
    const errno = (cause as { code?: unknown } | undefined)?.code;
    super(`${command}: could not run: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    // A missing iproute2 or a non-root agent is a deployment fault
    // that retrying does not cure; anything else (EAGAIN, ENOMEM) may pass.
    this.retryable = errno !== 'ENOENT' && errno !== 'EACCES' && errno !== 'EPERM';
  }
}

/** The host could not be read, or answered in a shape we do not understand. */
export class NetnsInspectError extends NetnsError {
  readonly code = 'NETNS_INSPECT_FAILED';
  readonly retryable = true;

  constructor(
    /** The namespace or link being inspected. */
    readonly object: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`inspecting ${object}: ${reason}`, options);
  }
}

/**
 * The integration bridge has no row in the local Open_vSwitch database.
 * Retryable: ovn-controller creates br-int when it starts.
 */
export class NetnsOvsBridgeMissingError extends NetnsError {
  readonly code = 'NETNS_OVS_BRIDGE_MISSING';
  readonly retryable = true;

  constructor(readonly bridge: string) {
    super(`OVS bridge ${bridge} does not exist (is ovn-controller running?)`);
  }
}

/**
 * The agent runs in a container or a mount namespace of its own and the
 * netns directory is not a mount shared with the host's (propagation.ts):
 * namespaces it made would be invisible to the host and die with the
 * container. Terminal: a deployment fault.
 */
export class NetnsNotSharedError extends NetnsError {
  readonly code = 'NETNS_NOT_SHARED';
  readonly retryable = false;

  constructor(
    readonly netnsDir: string,
    /** Why the agent is taken to be contained (propagation.ts containedBecause). */
    readonly contained: string,
    reason: string,
  ) {
    super(
      `${reason} (running ${contained}). Mount ${netnsDir} shared with the host: ` +
        `podman/docker and kolla-ansible \`-v ${netnsDir}:${netnsDir}:shared\`, ` +
        `Kubernetes \`mountPropagation: Bidirectional\` on its volumeMount; ` +
        `under systemd no ProtectSystem=, PrivateTmp= or other mount sandboxing (docs/deploy.md)`,
    );
  }
}
