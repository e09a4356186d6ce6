// JSON-RPC 1.0 session core for OVSDB (RFC 7047 §4), with no sockets.
//
// Requests carry an id and get exactly one response with the same id,
// possibly out of order; notifications carry `id: null` and get none
// (RFC 7047 §4 and JSON-RPC 1.0 §2). The session owns the pending-call
// table, answers the peer's `echo` requests itself (RFC 7047 §4.1.11: the
// server probes idle clients and drops those that do not answer), and hands
// every other notification to its owner. Bytes come in through `receive`
// (one complete JSON text from the framer) and leave through the injected
// `write`: one JSON.stringify and one write per message.
//
// On disconnect the owner calls `failAll`: pending calls reject with a
// retryable OVSDB_DISCONNECTED and are never resent, since a transaction may
// or may not have committed — only the caller can decide to retry.
import { OvsdbDisconnectedError, OvsdbMalformedMessageError, OvsdbRpcError } from './errors.js';
import type { FrameSink } from './framing.js';
import { parseJsonExact, stringifyJsonExact as stringifyExact } from './wire/json.js';

export interface RpcSessionOptions {
  /** Sends one serialized message on the connection. */
  readonly write: (text: string) => void;
  /** A notification (request with null id) other than echo. */
  readonly onNotification: (method: string, params: readonly unknown[]) => void;
  /** A message that parsed but fits no JSON-RPC shape, or answers no pending call. */
  readonly onProblem?: (error: OvsdbMalformedMessageError) => void;
  /** Names the peer in errors. */
  readonly remote?: string;
  /** Replies at least this long may use a call's own result parser (default 256 KiB). */
  readonly customParseMinBytes?: number;
}

/**
 * Parses a large reply's `result`, found at text[start, end), its own way
 * (e.g. lazily, see lazy-updates.ts); `longNumbers` as in JsonFramer.
 */
export type ResultParser = (text: string, start: number, end: number, longNumbers: boolean) => unknown;

/**
 * Consumes a reply's `result` value as its bytes arrive (e.g. a monitor
 * reply, row by row: stream-updates.ts). Created for a reply that spans
 * several chunks (see claim()).
 */
export interface ResultStream {
  /** Consumes chunk[start..]; returns the offset just past the result value, or -1 if it continues. */
  write(chunk: Buffer, start: number): number;
  /** What the call resolves with, once write() returned an offset. */
  result(): unknown;
}

export interface CallOptions {
  /** Parses a large reply's result from its complete text. */
  readonly parseResult?: ResultParser;
  /** Consumes a reply's result while it arrives; preferred over parseResult. */
  readonly stream?: () => ResultStream;
}

// ovsdb-server writes responses as {"id":N,"result":…,"error":null} in this
// key order (lib/jsonrpc.c jsonrpc_msg_to_json), so a large reply's id and
// result range are found without parsing it; anything else takes the plain path.
const RESPONSE_HEAD = /^\{"id":(\d{1,15}),"result":/;
const RESPONSE_TAIL = ',"error":null}';

interface PendingCall {
  readonly method: string;
  readonly parseResult: ResultParser | undefined;
  readonly stream: (() => ResultStream) | undefined;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: Error) => void;
}

export class RpcSession {
  readonly #write: (text: string) => void;
  readonly #onNotification: RpcSessionOptions['onNotification'];
  readonly #onProblem: RpcSessionOptions['onProblem'];
  readonly #remote: string;
  readonly #customParseMinBytes: number;
  readonly #pending = new Map<number, PendingCall>();
  #nextId = 1;
  #failed: Error | undefined;

  constructor(options: RpcSessionOptions) {
    this.#write = options.write;
    this.#onNotification = options.onNotification;
    this.#onProblem = options.onProblem;
    this.#remote = options.remote ?? 'peer';
    this.#customParseMinBytes = options.customParseMinBytes ?? 256 * 1024;
  }

  /** Calls awaiting a response. */
  get pendingCalls(): number {
    return this.#pending.size;
  }

  /**
   * Sends a request; resolves with `result`, rejects with OVSDB_RPC_ERROR
   * when the response carries a non-null `error`, or OVSDB_DISCONNECTED.
   */
  call(
    method: string,
    params: readonly unknown[],
    options: CallOptions | ResultParser = {},
  ): Promise<unknown> {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#nextId++;
    const text = stringifyExact({ method, params, id });
    const { parseResult, stream } = typeof options === 'function' ? { parseResult: options } : options;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { method, parseResult, stream, resolve, reject });
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
   * Handles one complete JSON text (`longNumbers`: see JsonFramer). Throws OVSDB_MALFORMED_MESSAGE when the
   * text is not JSON (the stream is then out of step: drop the connection);
   * reports well-formed JSON that is not a valid message to `onProblem`.
   */
  receive(text: string, longNumbers = true): void {
    if (text.length >= this.#customParseMinBytes && this.#receiveCustom(text, longNumbers)) return;
    let msg: unknown;
    try {
      // The framer knows whether the text can hold an integer beyond 2^53
      // (a 16+ digit run outside strings); without one JSON.parse is exact.
      msg = longNumbers ? parseJsonExact(text) : JSON.parse(text);
    } catch (error) {
      throw new OvsdbMalformedMessageError(this.#remote, 'message is not valid JSON', error);
    }
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

  /** A large reply to a call with its own result parser; false = use the plain path. */
  #receiveCustom(text: string, longNumbers: boolean): boolean {
    const head = RESPONSE_HEAD.exec(text.slice(0, 40));
    if (!head || !text.endsWith(RESPONSE_TAIL)) return false;
    const id = Number(head[1]);
    const call = this.#pending.get(id);
    if (!call?.parseResult) return false;
    let result: unknown;
    try {
      result = call.parseResult(text, head[0].length, text.length - RESPONSE_TAIL.length, longNumbers);
    } catch {
      return false; // not the shape the parser expects: parse it plainly
    }
    this.#pending.delete(id);
    call.resolve(result);
    return true;
  }

  /**
   * For JsonFramerOptions.claim: a sink for a frame that starts as a reply
   * in ovsdb-server's key order to a call with a result stream, else
   * undefined (the frame then arrives whole through receive()).
   */
  claim(head: Buffer): FrameSink | undefined {
    const match = RESPONSE_HEAD.exec(head.toString('latin1', 0, 40));
    if (!match) return undefined;
    const id = Number(match[1]);
    const call = this.#pending.get(id);
    if (call?.stream === undefined) return undefined;
    return new ReplySink(this, id, call, match[0].length);
  }

  /** Settles a call whose reply a ReplySink consumed. */
  settle(id: number, error: unknown, result: () => unknown): void {
    const call = this.#pending.get(id);
    if (call === undefined) return;
    this.#pending.delete(id);
    if (error !== null && error !== undefined)
      call.reject(new OvsdbRpcError(this.#remote, call.method, error));
    else call.resolve(result());
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

/**
 * The sink of one claimed reply `{"id":N,"result":R,…}`: the head is known
 * (skipped), R goes to the call's ResultStream when it opens as one expects
 * ('{' or '['; otherwise, e.g. a null result beside an error, the frame is
 * collected and received whole), and the members after R (`"error":null`)
 * are collected and parsed to settle the call.
 */
class ReplySink implements FrameSink {
  #headLeft: number;
  #stream: ResultStream | undefined;
  /** After R (or for a frame received whole): its bytes, and a scan for the closing brace. */
  #rest: Buffer[] | undefined;
  #whole = false;
  #depth = 1;
  #inString = false;
  #escape = false;

  constructor(
    private readonly rpc: RpcSession,
    private readonly id: number,
    private readonly call: PendingCall,
    private readonly headLength: number,
  ) {
    this.#headLeft = headLength;
  }

  write(chunk: Buffer, start: number): number {
    let i = start;
    if (this.#headLeft > 0) {
      // The head is wholly in the first chunk (claim() matched it there).
      i += this.#headLeft;
      this.#headLeft = 0;
      if (i >= chunk.length) return -1;
    }
    if (this.#rest === undefined && this.#stream === undefined) {
      while (
        i < chunk.length &&
        (chunk[i] === 0x20 || chunk[i] === 0x0a || chunk[i] === 0x0d || chunk[i] === 0x09)
      )
        i++;
      if (i === chunk.length) return -1;
      if (chunk[i] === 0x7b || chunk[i] === 0x5b) {
        this.#stream = this.call.stream!();
      } else {
        this.#whole = true;
        this.#rest = [Buffer.from(`{"id":${this.id},"result":`)];
      }
    }
    if (this.#rest === undefined) {
      const end = this.#stream!.write(chunk, i);
      if (end < 0) return -1;
      this.#rest = [];
      i = end;
    }
    return this.#scanRest(chunk, i);
  }

  /** Collects the frame up to its closing brace; settles the call there. */
  #scanRest(chunk: Buffer, from: number): number {
    let depth = this.#depth;
    let inString = this.#inString;
    let escape = this.#escape;
    for (let i = from; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (inString) {
        if (escape) escape = false;
        else if (b === 0x5c) escape = true;
        else if (b === 0x22) inString = false;
      } else if (b === 0x22) inString = true;
      else if (b === 0x7b || b === 0x5b) depth++;
      else if ((b === 0x7d || b === 0x5d) && --depth === 0) {
        this.#rest!.push(chunk.subarray(from, i + 1));
        this.#finish(Buffer.concat(this.#rest!).toString('utf8'));
        return i + 1;
      }
    }
    this.#rest!.push(chunk.subarray(from));
    this.#depth = depth;
    this.#inString = inString;
    this.#escape = escape;
    return -1;
  }

  #finish(rest: string): void {
    if (this.#whole) {
      this.rpc.receive(rest);
      return;
    }
    let members: Record<string, unknown>;
    try {
      members = JSON.parse(`{"result":0${rest}`) as Record<string, unknown>;
    } catch (error) {
      throw new OvsdbMalformedMessageError(this.rpc.remote, 'reply is not valid JSON', error);
    }
    this.rpc.settle(this.id, members.error, () => this.#stream!.result());
  }
}
