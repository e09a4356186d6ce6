// The AGENT_VERIFY_* errors of `ovnmeta verify`. Only the usage error
// reaches the user as such (exit 2); the others are caught and become the
// reason of a failed check, so that one unreachable piece never hides the
// verdict on the rest.
import { CodedError } from '../common/coded-error.js';

export const VERIFY_ERROR_CODES = [
  'AGENT_VERIFY_USAGE',
  'AGENT_VERIFY_DB_UNAVAILABLE',
  'AGENT_VERIFY_TRACE_FAILED',
] as const;

export type VerifyErrorCode = (typeof VERIFY_ERROR_CODES)[number];

export abstract class VerifyError extends CodedError {
  abstract override readonly code: VerifyErrorCode;
}

/** Bad command-line arguments (exit 2). */
export class VerifyUsageError extends VerifyError {
  readonly code = 'AGENT_VERIFY_USAGE';
  readonly retryable = false;
}

/** An OVSDB database did not answer with a synced replica in time. */
export class VerifyDatabaseError extends VerifyError {
  readonly code = 'AGENT_VERIFY_DB_UNAVAILABLE';
  readonly retryable = true;

  constructor(
    readonly database: string,
    readonly remote: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`${database} at ${remote}: ${reason}`, options);
  }
}

/** ovn-trace could not be started or asked (not installed, SB unreachable for it, no reply). */
export class VerifyTraceError extends VerifyError {
  readonly code = 'AGENT_VERIFY_TRACE_FAILED';
  readonly retryable = true;

  constructor(reason: string, options?: ErrorOptions) {
    super(`ovn-trace: ${reason}`, options);
  }
}
