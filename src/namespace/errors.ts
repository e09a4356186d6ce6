// The NETNS_* error catalogue (docs/architecture.md "Errors"). Callers branch
// on `code`; `retryable` says whether the reconciler should back off and try
// again (true) or wait for the desired state to change (false).
import { CodedError } from '../common/coded-error.js';

/** Every code this layer throws, for the catalogue test against docs/errors.md. */
export const NETNS_ERROR_CODES = [
  'NETNS_INVALID_DESIRED',
  'NETNS_COMMAND_FAILED',
  'NETNS_SPAWN_FAILED',
  'NETNS_INSPECT_FAILED',
  'NETNS_OFFLOAD_FAILED',
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
 * A command exited non-zero. For an `ip -batch` the failing line (iproute2
 * stops at the first error and reports "Command failed -:N") is in `line`.
 * Retryable: the usual causes are races with the kernel or another actor
 * (a link vanished or appeared between inspect and apply), which the next
 * inspect sees and plans around.
 */
export class NetnsCommandError extends NetnsError {
  readonly code = 'NETNS_COMMAND_FAILED';
  readonly retryable = true;

  constructor(
    /** The command as run, e.g. `ip -n ovnmeta-x -batch -`. */
    readonly command: string,
    readonly exitCode: number,
    readonly stderr: string,
    /** The failing batch line, when the command was a batch. */
    readonly line?: string,
  ) {
    super(
      `${command}${line === undefined ? '' : ` (at "${line}")`} exited ${exitCode}: ${firstLine(stderr)}`,
    );
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
 * Setting a link's offload inside a namespace (SIOCETHTOOL, offload.ts)
 * failed. Retryable unless the kernel refused the operation itself (no
 * permission, a device without it): a link or namespace that vanished
 * between inspect and apply is seen by the next inspect.
 */
export class NetnsOffloadError extends NetnsError {
  readonly code = 'NETNS_OFFLOAD_FAILED';
  readonly retryable: boolean;

  constructor(
    /** The namespace file, e.g. /run/netns/ovnmeta-x. */
    readonly netns: string,
    readonly link: string,
    readonly operation: 'read' | 'set',
    /** errno name, e.g. ENODEV. */
    readonly errno: string,
    what: string,
  ) {
    super(`${operation} tx checksum offload of ${link} in ${netns}: ${what}: ${errno}`);
    this.retryable = errno !== 'EPERM' && errno !== 'EACCES' && errno !== 'EOPNOTSUPP';
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

function firstLine(text: string): string {
  const trimmed = text.trim();
  const nl = trimmed.indexOf('\n');
  return nl === -1 ? trimmed || '(no stderr)' : trimmed.slice(0, nl);
}
