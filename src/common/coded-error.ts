// The one error shape of every layer (docs/architecture.md "Errors"): a
// readonly `code` from the layer's catalogue (docs/errors.md), `retryable`
// (may the same call succeed later unchanged?), `cause` when wrapping, and a
// message naming the object. Each layer's base (OvsdbError, NetnsError,
// ProxyError, AgentError, VerifyError, SandboxError) extends this one and
// narrows `code` to its prefix; callers branch on `code`, never on message
// text or on the shape of an object.

export abstract class CodedError extends Error {
  abstract readonly code: string;
  abstract readonly retryable: boolean;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Whether `err` is one of ours with a code that starts with `prefix` (`''` for any). */
export function hasCode(err: unknown, prefix = ''): err is CodedError {
  return err instanceof CodedError && err.code.startsWith(prefix);
}
