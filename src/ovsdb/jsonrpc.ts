// JSON-RPC 1.0 session core for OVSDB (RFC 7047 §4), with no sockets.
//
// Requests carry an id and get exactly one response with the same id,
// possibly out of order; notifications carry `id: null` and get none
// (RFC 7047 §4 and JSON-RPC 1.0 §2). The session owns the pending-call
// table, answers the peer's `echo` requests itself (RFC 7047 §4.1.11: the
// server probes idle clients and drops those that do not answer), and hands
// every other notification to its owner. Bytes come in through `push` (the
// connection's chunks, as they arrive) or `receive` (one complete JSON
// text), both decoded by the one MessageDecoder (decoder.ts); a call that
// asks for its reply row by row (`rows`, a monitor request) gets it
// decoded that way whether it arrives whole or in pieces. Messages leave
// through the injected `write`: one JSON.stringify and one write each.
//
// On disconnect the owner calls `failAll`: pending calls reject with a
// retryable OVSDB_DISCONNECTED and are never resent, since a transaction may
// or may not have committed — only the caller can decide to retry.
import { MessageDecoder, type MonitorRows } from './decoder.js';
import { OvsdbDisconnectedError, OvsdbMalformedMessageError, OvsdbRpcError } from './errors.js';
import { stringifyJsonExact as stringifyExact } from './wire/json.js';

export interface RpcSessionOptions {
  /** Sends one serialized message on the connection. */
  readonly write: (text: string) => void;
  /** A notification (request with null id) other than echo. */
  readonly onNotification: (method: string, params: readonly unknown[]) => void;
  /** A message that parsed but fits no JSON-RPC shape, or answers no pending call. */
  readonly onProblem?: (error: OvsdbMalformedMessageError) => void;
  /** Names the peer in errors. */
  readonly remote?: string;
  /** Largest accepted message in bytes (default 512 MiB). */
  readonly maxFrameBytes?: number;
}

export interface CallOptions {
  /** Decode the reply's result row by row into this sink (a monitor reply). */
  readonly rows?: MonitorRows;
}

interface PendingCall {
  readonly method: string;
  readonly rows: MonitorRows | undefined;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: Error) => void;
}

export class RpcSession {
  readonly #write: (text: string) => void;
  readonly #onNotification: RpcSessionOptions['onNotification'];
  readonly #onProblem: RpcSessionOptions['onProblem'];
  readonly #remote: string;
  readonly #decoder: MessageDecoder;
  readonly #pending = new Map<number, PendingCall>();
  #nextId = 1;
  #failed: Error | undefined;

  constructor(options: RpcSessionOptions) {
    this.#write = options.write;
    this.#onNotification = options.onNotification;
    this.#onProblem = options.onProblem;
    this.#remote = options.remote ?? 'peer';
    this.#decoder = new MessageDecoder(
      { rows: (id) => this.#pending.get(id)?.rows, message: (msg) => this.#message(msg) },
      { remote: this.#remote, maxFrameBytes: options.maxFrameBytes },
    );
  }

  /** Calls awaiting a response. */
  get pendingCalls(): number {
    return this.#pending.size;
  }

  /**
   * Sends a request; resolves with `result`, rejects with OVSDB_RPC_ERROR
   * when the response carries a non-null `error`, or OVSDB_DISCONNECTED.
   */
  call(method: string, params: readonly unknown[], options: CallOptions = {}): Promise<unknown> {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#nextId++;
    const text = stringifyExact({ method, params, id });
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { method, rows: options.rows, resolve, reject });
      try {
        this.#write(text);
      } catch (error) {
        this.#pending.delete(id);
        reject(new OvsdbDisconnectedError(this.#remote, error));
      }
    });
  }

  /** Sends a notification (no response expected). */
  notify(method: string, params: readonly unknown[]): void {
    if (this.#failed) return;
    this.#write(stringifyExact({ method, params, id: null }));
  }

  /**
   * Decodes the connection's next bytes, however they are cut, handling
   * each message they complete. Throws OVSDB_MALFORMED_MESSAGE (not JSON, or
   * a monitor reply of the wrong shape) or OVSDB_FRAME_TOO_LARGE: the stream
   * is then out of step, drop the connection. Well-formed JSON that is not a
   * valid message goes to `onProblem`.
   */
  push(chunk: Buffer): void {
    this.#decoder.push(chunk);
  }

  /** Handles one complete JSON text, as push() does its bytes. */
  receive(text: string): void {
    this.#decoder.push(Buffer.from(text));
    if (this.#decoder.inMessage) {
      this.#decoder.reset();
      throw new OvsdbMalformedMessageError(this.#remote, 'message is not valid JSON');
    }
  }

  /** Drops any partial message (the connection ended). */
  reset(): void {
    this.#decoder.reset();
  }

  #message(msg: unknown): void {
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      return this.#problem('message is not a JSON object');
    }
    const m = msg as Record<string, unknown>;
    if (typeof m.method === 'string') {
      const params = Array.isArray(m.params) ? (m.params as unknown[]) : [];
      if (m.id === null || m.id === undefined) {
        this.#onNotification(m.method, params);
      } else if (m.method === 'echo') {
        // RFC 7047 §4.1.11: reply with the same params.
        this.#write(stringifyExact({ result: params, error: null, id: m.id }));
      } else {
        this.#write(stringifyExact({ result: null, error: 'unknown method', id: m.id }));
      }
      return;
    }
    const id = m.id;
    const call = typeof id === 'number' ? this.#pending.get(id) : undefined;
    if (!call) return this.#problem(`response to unknown request id ${JSON.stringify(String(id))}`);
    this.#pending.delete(id as number);
    if (m.error !== null && m.error !== undefined) {
      call.reject(new OvsdbRpcError(this.#remote, call.method, m.error));
    } else {
      call.resolve(m.result);
    }
  }

  get remote(): string {
    return this.#remote;
  }

  /** Rejects every pending call with `error`; later calls reject at once. */
  failAll(error?: Error): void {
    const reason = error ?? new OvsdbDisconnectedError(this.#remote);
    this.#failed ??=
      reason instanceof OvsdbDisconnectedError ? reason : new OvsdbDisconnectedError(this.#remote, reason);
    const calls = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of calls) call.reject(this.#failed);
  }

  #problem(detail: string): void {
    this.#onProblem?.(new OvsdbMalformedMessageError(this.#remote, detail));
  }
}
