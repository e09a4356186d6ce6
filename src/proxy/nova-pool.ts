// Keep-alive HTTP/1.1 connections to nova, one request at a time each (no
// pipelining), at most `max` open: what the relay needs of an HTTP client and
// nothing more. A request is one string of head (latin1) and its body, written
// in one go; the answer is read by the pure ResponseParser
// (http1-response.ts).
//
// Timeouts, as undici enforced them before: connecting (connectTimeoutMs),
// the answer's head after the request is written, and every pause in its body
// (timeoutMs). One unref'd interval checks them while any connection is open
// (every quarter of the shortest limit, at most 500 ms, so a limit is
// enforced within [limit, 1.25 × limit + 500 ms]). An idle connection is
// closed after 4 s, or 1 s before the server's Keep-Alive timeout if that is
// sooner; one found older than that when a request needs it is not used.

import net from 'node:net';
import tls from 'node:tls';

import { ResponseParser } from './http1-response.js';

/** Idle keep-alive connections are closed after this long. */
export const KEEP_ALIVE_MS = 4_000;
/** Closed this long before the server's own Keep-Alive timeout. */
const KEEP_ALIVE_MARGIN_MS = 1_000;

/** What the pool tells of one exchange. */
export interface PoolRequest {
  /** HEAD: the answer has no body (and the connection is not kept). */
  readonly method: string;
  /** Writes the request on the socket. */
  write(socket: net.Socket): void;
  /** The answer, complete; the connection is already back in the pool. */
  answered(answer: PoolAnswer): void;
  failed(error: NovaConnectionError | Error): void;
}

export interface PoolAnswer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly contentEncoding: string | undefined;
  readonly body: Buffer;
}

export type NovaConnectionFault =
  /** No answer in time after the request, or a pause in the body. */
  | 'timeout'
  /** The connection did not open in time. */
  | 'connect-timeout'
  /** Closed or reset by nova before the answer was complete (a stale keep-alive connection, or a crash). */
  | 'closed'
  /** The pool was closed. */
  | 'pool-closed';

/** Why an exchange ended without an answer, when the socket's own error does not say it. */
export class NovaConnectionError extends Error {
  constructor(
    readonly fault: NovaConnectionFault,
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'NovaConnectionError';
  }
}

export interface PoolOptions {
  /**
   * Opens a connection (net.connect or tls.connect), connected or not yet,
   * whose bytes go to `onData` (a 'data' listener, or net's `onread`).
   */
  readonly connect: (onData: (data: Buffer) => void) => net.Socket;
  /** Connections open at most; more requests wait, in order. */
  readonly max: number;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
}

export class NovaPool {
  readonly #options: PoolOptions;
  readonly #all = new Set<NovaConnection>();
  /** Idle, most recently used last. */
  readonly #idle: NovaConnection[] = [];
  readonly #waiting: PoolRequest[] = [];
  readonly #sweepMs: number;
  #sweeper: NodeJS.Timeout | undefined;
  #closed = false;
  #drained: (() => void) | undefined;

  constructor(options: PoolOptions) {
    this.#options = options;
    this.#sweepMs = Math.max(
      10,
      Math.min(500, Math.floor(Math.min(options.timeoutMs, options.connectTimeoutMs) / 4)),
    );
  }

  /** Connections open (idle or busy). */
  get size(): number {
    return this.#all.size;
  }

  dispatch(request: PoolRequest): void {
    if (this.#closed) {
      request.failed(
        new NovaConnectionError('pool-closed', 'the relay to nova is closed', 'ERR_POOL_CLOSED'),
      );
      return;
    }
    const now = performance.now();
    let connection: NovaConnection | undefined;
    while ((connection = this.#idle.pop()) !== undefined) {
      if (now - connection.idleSince < connection.idleLimitMs) break;
      connection.socket.destroy(); // too old to trust: nova may be closing it
    }
    if (connection === undefined) {
      if (this.#all.size >= this.#options.max) {
        this.#waiting.push(request);
        return;
      }
      connection = new NovaConnection(this, this.#options.connect);
      this.#all.add(connection);
      if (this.#sweeper === undefined) {
        this.#sweeper = setInterval(() => this.#sweep(), this.#sweepMs);
        this.#sweeper.unref();
      }
    }
    connection.run(request, now);
  }

  /** Ends idle connections and refuses new requests; resolves once every connection is closed. */
  close(): Promise<void> {
    this.#closed = true;
    for (const request of this.#waiting.splice(0)) {
      request.failed(
        new NovaConnectionError('pool-closed', 'the relay to nova is closed', 'ERR_POOL_CLOSED'),
      );
    }
    for (const connection of this.#idle.splice(0)) connection.socket.destroy();
    if (this.#all.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#drained = resolve));
  }

  /** @internal An exchange ended on `connection`: keep it for the next one, or close it. */
  release(connection: NovaConnection, reusable: boolean): void {
    if (!reusable || this.#closed) {
      connection.socket.destroy();
      return;
    }
    const next = this.#waiting.shift();
    if (next !== undefined) connection.run(next, performance.now());
    else {
      connection.idleSince = performance.now();
      this.#idle.push(connection);
    }
  }

  /** @internal `connection` will carry nothing more (nova ended it, or we did). */
  lost(connection: NovaConnection): void {
    const at = this.#idle.indexOf(connection);
    if (at !== -1) this.#idle.splice(at, 1);
  }

  /** @internal `connection` is closed. */
  closed(connection: NovaConnection): void {
    this.lost(connection);
    if (!this.#all.delete(connection)) return;
    if (this.#all.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
      this.#drained?.();
    }
    const next = this.#closed ? undefined : this.#waiting.shift();
    if (next !== undefined) this.dispatch(next);
  }

  #sweep(): void {
    const now = performance.now();
    const { timeoutMs, connectTimeoutMs } = this.#options;
    for (const connection of this.#all) {
      if (connection.request !== undefined) {
        if (connection.connecting) {
          if (now - connection.since >= connectTimeoutMs) {
            connection.abort(
              new NovaConnectionError(
                'connect-timeout',
                `no connection within ${connectTimeoutMs} ms`,
                'ERR_NOVA_CONNECT_TIMEOUT',
              ),
            );
          }
        } else if (now - connection.since >= timeoutMs) {
          connection.abort(
            new NovaConnectionError(
              'timeout',
              connection.parser.headersDone
                ? `the body paused for ${timeoutMs} ms`
                : `no answer head within ${timeoutMs} ms`,
              connection.parser.headersDone ? 'ERR_NOVA_BODY_TIMEOUT' : 'ERR_NOVA_HEADERS_TIMEOUT',
            ),
          );
        }
      } else if (now - connection.idleSince >= connection.idleLimitMs) {
        connection.socket.destroy();
      }
    }
  }
}

/** One connection and the exchange it carries, if any. */
class NovaConnection {
  readonly parser = new ResponseParser();
  request: PoolRequest | undefined;
  connecting = true;
  /** When the current wait began: connect, request written, last body bytes (performance.now()). */
  since = 0;
  idleSince = 0;
  idleLimitMs = KEEP_ALIVE_MS;
  readonly socket: net.Socket;
  #error: Error | undefined;

  constructor(
    private readonly pool: NovaPool,
    connect: PoolOptions['connect'],
  ) {
    const socket = (this.socket = connect((data) => this.#onData(data)));
    socket.once(socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect', () => {
      this.connecting = false;
      this.since = performance.now();
    });
    socket.on('end', () => this.#onEnd());
    socket.on('error', (error: Error) => {
      this.#error ??= error;
    });
    socket.on('close', () => this.#onClose());
  }

  run(request: PoolRequest, now: number): void {
    this.request = request;
    this.since = now;
    this.parser.reset(request.method === 'HEAD');
    request.write(this.socket);
  }

  /** Ends the exchange with `error` (a timeout). */
  abort(error: Error): void {
    this.#error = error;
    this.socket.destroy();
  }

  #onData(data: Buffer): void {
    const request = this.request;
    if (request === undefined) {
      // Nothing was asked: the connection is out of step.
      this.socket.destroy();
      return;
    }
    let done: boolean;
    try {
      done = this.parser.execute(data);
    } catch (error) {
      this.abort(error as Error);
      return;
    }
    if (done) this.#complete(request);
    else if (this.parser.headersDone) this.since = performance.now();
  }

  #complete(request: PoolRequest): void {
    const parser = this.parser;
    const answer: PoolAnswer = {
      status: parser.status,
      contentType: parser.contentType,
      contentEncoding: parser.contentEncoding,
      body: parser.body(),
    };
    this.request = undefined;
    const hint = parser.keepAliveTimeoutMs;
    this.idleLimitMs =
      hint === undefined ? KEEP_ALIVE_MS : Math.min(KEEP_ALIVE_MS, hint - KEEP_ALIVE_MARGIN_MS);
    const reusable = parser.keepAlive && !parser.extra && request.method !== 'HEAD' && this.idleLimitMs > 0;
    this.pool.release(this, reusable);
    request.answered(answer);
  }

  #onEnd(): void {
    this.pool.lost(this);
    const request = this.request;
    // A body that lasts until the connection ends is complete now.
    if (request !== undefined && this.parser.headersDone && this.parser.finish()) this.#complete(request);
  }

  #onClose(): void {
    this.pool.closed(this);
    const request = this.request;
    if (request === undefined) return;
    this.request = undefined;
    request.failed(
      this.#error ??
        new NovaConnectionError(
          'closed',
          'nova closed the connection before its answer was complete',
          'ERR_NOVA_SOCKET_CLOSED',
        ),
    );
  }
}
