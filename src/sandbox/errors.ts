// Failures of the OVN sandbox (tests, benches, `ovnmeta demo`). The sandbox
// is tooling, not an agent layer, so its codes carry their own SANDBOX_
// prefix; they follow the house rules otherwise.
import { CodedError } from '../common/coded-error.js';

export abstract class SandboxError extends CodedError {
  abstract override readonly code: `SANDBOX_${string}`;
}

/** A command (ovs-vsctl, ovn-nbctl, ip, …) exited non-zero or did not start. */
export class SandboxCommandError extends SandboxError {
  readonly code = 'SANDBOX_COMMAND_FAILED';
  readonly retryable = false;
  constructor(
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${command} failed${exitCode === undefined ? '' : ` (exit ${exitCode})`}: ${stderr.trim()}`,
      options,
    );
  }
}

/** A daemon did not start, or exited while starting; the message quotes its log. */
export class SandboxDaemonError extends SandboxError {
  readonly code = 'SANDBOX_DAEMON_FAILED';
  readonly retryable = false;
  constructor(
    readonly daemon: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`daemon ${daemon}: ${reason}`, options);
  }
}

/** `waitFor` gave up; names what it waited for. */
export class SandboxTimeoutError extends SandboxError {
  readonly code = 'SANDBOX_TIMEOUT';
  readonly retryable = true;
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`timed out after ${timeoutMs} ms waiting for ${what}`, options);
  }
}

/**
 * Another netdev chassis holds the machine's userspace datapath: a netdev
 * ovs-vswitchd makes kernel tap devices named `ovs-netdev` and after each
 * bridge, so a second one cannot start (see src/sandbox/README section in
 * chassis.ts). Use `datapathType: 'dummy'` for chassis that run in parallel.
 */
export class SandboxDatapathBusyError extends SandboxError {
  readonly code = 'SANDBOX_DATAPATH_BUSY';
  readonly retryable = true;
  constructor(
    readonly holder: string,
    options?: { cause?: unknown },
  ) {
    super(
      `the netdev datapath of this machine is in use by ${holder}; use datapathType 'dummy' to run chassis side by side`,
      options,
    );
  }
}

/** curl in a VM failed below HTTP (no route, refused, timeout). */
export class SandboxCurlError extends SandboxError {
  readonly code = 'SANDBOX_CURL_FAILED';
  readonly retryable = true;
  constructor(
    readonly vm: string,
    readonly url: string,
    /** curl's exit code: 7 refused/unreachable, 28 timeout (curl(1) EXIT CODES). */
    readonly curlExit: number,
    stderr: string,
  ) {
    super(`curl ${url} from ${vm} failed (curl exit ${curlExit}): ${stderr.trim()}`);
  }
}
