import { SandboxTimeoutError } from './errors.js';
import { sleep } from './run.js';

export type Polled<T> = () => Promise<T | undefined | false | null> | T | undefined | false | null;

/**
 * Polls `fn` every 25 ms until it returns something other than undefined,
 * false or null, and returns that. A throw counts as "not yet" (a command
 * racing a daemon's start); the timeout error carries the last one as cause.
 */
export async function waitFor<T>(fn: Polled<T>, timeoutMs = 10_000, what = 'a condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false && value !== null) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new SandboxTimeoutError(what, timeoutMs, { cause: lastError });
    await sleep(25);
  }
}
