// The proxy's error catalogue. Callers branch on `code`, never on message
// text; `retryable` says whether the same call may succeed later unchanged.
// docs/errors.md lists every code here (test/unit/proxy/errors.test.ts checks).
import { CodedError } from '../common/coded-error.js';

export abstract class ProxyError extends CodedError {
  abstract override readonly code: `PROXY_${string}`;
}

/** A listening socket could not be made: address in use (a leftover haproxy),
 *  address not yet usable (IPv6 DAD), or a unix socket path already served. */
export class ProxyListenFailedError extends ProxyError {
  readonly code = 'PROXY_LISTEN_FAILED';
  readonly retryable = true;
  constructor(
    readonly target: string,
    readonly address: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot listen on ${address} in ${target}: ${reason}`, options);
  }
}

/** The helper that opens sockets inside a namespace did not report back:
 *  the namespace is missing, `ip`/node could not start, or it timed out. */
export class ProxyHelperFailedError extends ProxyError {
  readonly code = 'PROXY_HELPER_FAILED';
  readonly retryable = true;
  constructor(
    readonly namespace: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`listener helper for namespace ${namespace} failed: ${reason}`, options);
  }
}

/** A port given to the identity index has a malformed MAC or IP address.
 *  The index is left exactly as it was. */
export class ProxyInvalidPortError extends ProxyError {
  readonly code = 'PROXY_INVALID_PORT';
  readonly retryable = false;
  constructor(
    readonly port: string,
    readonly reason: string,
  ) {
    super(`port ${port} rejected by the identity index: ${reason}`);
  }
}

/** createMetadataProxy / listenUnixSocket options that cannot work. */
export class ProxyInvalidOptionsError extends ProxyError {
  readonly code = 'PROXY_INVALID_OPTIONS';
  readonly retryable = false;
  constructor(
    readonly option: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid proxy option ${option}: ${reason}`, options);
  }
}

/** The proxy was closed; it opens no more listeners. */
export class ProxyClosedError extends ProxyError {
  readonly code = 'PROXY_CLOSED';
  readonly retryable = false;
  constructor(what: string) {
    super(`metadata proxy is closed: cannot ${what}`);
  }
}

// Failures of one relayed request. They never reach the proxy's callers: the
// server turns them into HTTP answers (503 / 504 / 500) and logs the code.

/** nova refused, reset or could not be resolved/handshaken: 503 to the VM. */
export class ProxyNovaUnreachableError extends ProxyError {
  readonly code = 'PROXY_NOVA_UNREACHABLE';
  readonly retryable = true;
  constructor(origin: string, options?: { cause?: unknown }) {
    super(`nova metadata server ${origin} is unreachable`, options);
  }
}

/** nova did not answer (headers or body) within the relay timeout: 504. */
export class ProxyNovaTimeoutError extends ProxyError {
  readonly code = 'PROXY_NOVA_TIMEOUT';
  readonly retryable = true;
  constructor(origin: string, timeoutMs: number, options?: { cause?: unknown }) {
    super(`nova metadata server ${origin} did not answer within ${timeoutMs} ms`, options);
  }
}

/** nova answered with a status outside the relayed set, or the relay broke
 *  in a way that is not the network's fault: 500. */
export class ProxyNovaBadResponseError extends ProxyError {
  readonly code = 'PROXY_NOVA_BAD_RESPONSE';
  readonly retryable = false;
  constructor(origin: string, reason: string, options?: { cause?: unknown }) {
    super(`nova metadata server ${origin}: ${reason}`, options);
  }
}
