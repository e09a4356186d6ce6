// The one incremental decoder of an OVSDB JSON-RPC byte stream (pure, no I/O).
//
// RFC 7047 §4 runs JSON-RPC over a plain stream with no delimiters:
// ovsdb-server writes whole JSON objects back to back, optionally separated
// by whitespace. Every byte of every message goes through `push`, however
// the stream is cut, and is scanned once: the structure of a message (its
// members; for a monitor reply also `[found, last-txn-id, …]`, the tables and
// the row UUIDs) is tokenised in place, and each value below that level is
// cut out whole — tracking nesting depth, strings and escapes across chunks —
// then decoded from UTF-8 and JSON-parsed on its own. Multi-byte UTF-8
// sequences contain no ASCII bytes, so the scan works on raw bytes and a
// character split across chunks is decoded once its value is complete.
//
// A monitor reply (RFC 7047 §4.1.5, ovsdb-server(7) §4.1.12/§4.1.15) holding
// a whole database is tens of megabytes. The call that asked for it names a
// row sink (MonitorRows); each <row-update> is parsed alone and handed to it
// (the replica decodes and keeps it), so at most one row's text and wire tree
// exist at a time and the client's work overlaps the server's sending. The
// same path serves a reply that came in one chunk. A reply whose `result`
// comes before its `id` (ovsdb-server writes `id` first, lib/jsonrpc.c; other
// servers may not) is kept as bytes until the id is known, then fed through
// this decoder again.
//
// Only a value with a run of 16 or more digits outside strings can hold an
// integer beyond 2^53 (RFC 7047 §3.1 integers are 64-bit): such values go
// to the exact parser, every other one to plain JSON.parse.
import { OvsdbFrameTooLargeError, OvsdbMalformedMessageError } from './errors.js';
import { parseJsonExact } from './wire/json.js';

/** Receives each row update of a monitor reply, in order. */
export type RowSink = (table: string, uuid: string, update: unknown) => void;

/**
 * Called once the rows are about to start: `found` and `lastTxnId` are the
 * monitor_cond_since reply's first two elements (undefined for the other
 * methods). Returns where rows go and what the call finally resolves with.
 */
export type BeginRows = (
  found: boolean | undefined,
  lastTxnId: string | undefined,
) => { readonly row: RowSink; readonly result: () => unknown };

/** How a call's monitor reply is decoded (see CallOptions.rows). */
export interface MonitorRows {
  /** monitor_cond_since: `[found, last-txn-id, <table-updates2>]`; others: `<table-updates(2)>`. */
  readonly method: 'monitor_cond_since' | 'monitor_cond' | 'monitor';
  readonly begin: BeginRows;
}

/** What the decoded messages go to. */
export interface MessageHandler {
  /** The row sink of the call with this id, if it asked for its reply row by row. */
  rows(id: number): MonitorRows | undefined;
  /**
   * One complete message: a plain object of its members (a streamed
   * `result` replaced by what its rows resolved to), or the value itself
   * when the message is not an object.
   */
  message(message: unknown): void;
}

export interface MessageDecoderOptions {
  /** Largest accepted message in bytes (default 512 MiB). */
  readonly maxFrameBytes?: number;
  /** Names the peer in error messages. */
  readonly remote?: string;
}

export const DEFAULT_MAX_FRAME_BYTES = 512 * 1024 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isDelimiter = (c: number): boolean =>
  c === COMMA || c === RBRACE || c === RBRACKET || c === COLON || isSpace(c);

// What a structural level is: a message object, monitor_cond_since's array,
// a <table-updates> object (keys: tables), a <table-update> (keys: row UUIDs).
const MESSAGE = 0;
const SINCE = 1;
const UPDATES = 2;
const TABLE = 3;

// What the tokeniser expects next at the current level.
const KEY = 0;
const TO_COLON = 1;
const VALUE = 2;
const SEP = 3;

// Where a value being cut goes once complete.
const TO_KEY = 0;
const TO_MEMBER = 1;
const TO_DEFERRED = 2;
const TO_FOUND = 3;
const TO_TXN = 4;
const TO_ROW = 5;
const TO_WHOLE = 6;

interface Level {
  readonly role: number;
  /** The key of the member being read (object levels). */
  key: string;
  /** Index of the element being read (monitor_cond_since's array). */
  index: number;
}

/** What one `push` is decoding: messages (the session's), frames (texts only), or a kept result. */
type Mode =
  | { readonly kind: 'messages'; readonly handler: MessageHandler }
  | { readonly kind: 'frames'; readonly frame: (text: string, longNumbers: boolean) => void }
  | { readonly kind: 'result'; readonly rows: MonitorRows; result?: unknown; done: boolean };

/**
 * One value cut out of the stream, across chunks: its bytes from earlier
 * chunks and the scan state (depth, in a string, after a backslash, the
 * current digit run) that makes every byte scanned exactly once.
 */
class Cut {
  active = false;
  target = TO_MEMBER;
  pieces: Buffer[] = [];
  depth = 0;
  inString = false;
  escape = false;
  literal = false;
  digits = 0;
  /** A 16+ digit run outside strings was seen (parse exactly). */
  long = false;

  /** Starts a cut at the value's first byte `c` (not consumed yet). */
  begin(target: number, c: number): void {
    this.active = true;
    this.target = target;
    this.depth = 0;
    this.inString = false;
    this.escape = false;
    this.literal = c !== QUOTE && c !== LBRACE && c !== LBRACKET;
    this.digits = 0;
    this.long = false;
  }

  /**
   * Scans buf from `i`; this chunk's part of the value starts at `from`.
   * Returns the offset just past the value, or -1 after keeping this
   * chunk's part (the value continues in the next chunk).
   */
  scan(buf: Buffer, i: number, from: number): number {
    const n = buf.length;
    let digits = this.digits;
    let long = this.long;
    if (this.literal) {
      // true, false, null or a number: up to the next delimiter (not consumed).
      while (i < n) {
        const c = buf[i]!;
        if (c >= 0x30 && c <= 0x39) {
          if (++digits >= 16) long = true;
        } else if (isDelimiter(c)) {
          this.long = long;
          return i;
        } else digits = 0;
        i++;
      }
      this.digits = digits;
      this.long = long;
      this.pieces.push(buf.subarray(from));
      return -1;
    }
    let depth = this.depth;
    let inString = this.inString;
    let escape = this.escape;
    while (i < n) {
      if (inString) {
        // Most bytes are string contents: jump to the next quote (memchr)
        // and tell an escaped one by the parity of the backslash run before
        // it; a run cut at the chunk's end leaves `escape` for the next.
        if (escape) {
          escape = false;
          i++;
        }
        for (;;) {
          const at = i;
          const q = buf.indexOf(QUOTE, at);
          if (q < 0) {
            escape = (backslashesBefore(buf, n, at) & 1) === 1;
            i = n;
            break;
          }
          i = q + 1;
          if ((backslashesBefore(buf, q, at) & 1) === 0) {
            inString = false;
            break;
          }
        }
        if (inString) break;
        if (depth === 0) {
          this.long = long;
          return i;
        }
        continue;
      }
      const c = buf[i++]!;
      if (c >= 0x30 && c <= 0x39) {
        if (++digits >= 16) long = true;
        continue;
      }
      digits = 0;
      if (c === QUOTE) inString = true;
      else if (c === LBRACE || c === LBRACKET) depth++;
      else if ((c === RBRACE || c === RBRACKET) && --depth === 0) {
        this.long = long;
        return i;
      }
    }
    this.depth = depth;
    this.inString = inString;
    this.escape = escape;
    this.digits = digits;
    this.long = long;
    this.pieces.push(buf.subarray(from));
    return -1;
  }

  /** The complete value's bytes, buf[from, end) after the kept pieces; ends the cut. */
  bytes(buf: Buffer, from: number, end: number): Buffer {
    this.active = false;
    if (this.pieces.length === 0) return buf.subarray(from, end);
    const all = Buffer.concat([...this.pieces, buf.subarray(from, end)]);
    this.pieces = [];
    return all;
  }

  /** A complete string without escapes, unquoted (undefined, cut still open: it has some). */
  key(buf: Buffer, from: number, end: number): string | undefined {
    if (this.pieces.length > 0) return undefined;
    const raw = buf.toString('utf8', from + 1, end - 1);
    if (raw.includes('\\')) return undefined;
    this.active = false;
    return raw;
  }

  /** The complete value's text; ends the cut. */
  text(buf: Buffer, from: number, end: number): string {
    if (this.pieces.length === 0) {
      this.active = false;
      return buf.toString('utf8', from, end);
    }
    return this.bytes(buf, from, end).toString('utf8');
  }

  reset(): void {
    this.active = false;
    this.pieces = [];
  }
}

export class MessageDecoder {
  readonly #mode: Mode;
  readonly #maxFrameBytes: number;
  readonly #remote: string;
  readonly #cut = new Cut();
  readonly #stack: Level[] = [];
  #want = VALUE;
  /** Just after an opening bracket (so a closing one may follow). */
  #first = false;
  /** Bytes of the open message received in earlier chunks. */
  #frameBytes = 0;
  /** Set by reset() during push(): stop at once. */
  #aborted = false;

  // The message being decoded.
  #members: Record<string, unknown> = {};
  #rows: MonitorRows | undefined;
  #target: ReturnType<BeginRows> | undefined;
  #found: boolean | undefined;
  #lastTxnId: string | undefined;
  #deferred: Buffer | undefined;
  #deferredLong = false;

  constructor(handler: MessageHandler, options?: MessageDecoderOptions);
  constructor(mode: Mode, options?: MessageDecoderOptions);
  constructor(target: MessageHandler | Mode, options: MessageDecoderOptions = {}) {
    this.#mode = 'kind' in target ? target : { kind: 'messages', handler: target };
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#remote = options.remote ?? 'peer';
  }

  /** A decoder of complete JSON texts only (JsonFramer). */
  static frames(
    frame: (text: string, longNumbers: boolean) => void,
    options?: MessageDecoderOptions,
  ): MessageDecoder {
    return new MessageDecoder({ kind: 'frames', frame }, options);
  }

  /** True while a message has started but not ended. */
  get inMessage(): boolean {
    return this.#stack.length > 0 || this.#cut.active;
  }

  /** Drops any partial message (after a reconnect the stream starts afresh). */
  reset(): void {
    this.#aborted = true;
    this.#cut.reset();
    this.#stack.length = 0;
    this.#want = VALUE;
    this.#first = false;
    this.#frameBytes = 0;
    this.#endMessage();
  }

  /**
   * Decodes `chunk`, handing each message it completes to the handler (and
   * rows to their sink) before returning. Throws OVSDB_MALFORMED_MESSAGE or
   * OVSDB_FRAME_TOO_LARGE; the stream is then unusable (the caller drops
   * the connection) and the decoder is reset.
   */
  push(chunk: Buffer): void {
    this.#aborted = false;
    try {
      this.#push(chunk);
    } catch (error) {
      this.reset();
      throw error;
    }
  }

  #push(buf: Buffer): void {
    const n = buf.length;
    let i = 0;
    // Start of the open message within this chunk (0 when it began earlier).
    let start = 0;
    if (this.#cut.active) {
      i = this.#cut.scan(buf, 0, 0);
      if (i < 0) return this.#held(n);
      if (this.#cutDone(buf, 0, i, start) || this.#aborted) return;
    }
    while (i < n) {
      const c = buf[i]!;
      if (isSpace(c)) {
        i++;
        continue;
      }
      const stack = this.#stack;
      let want = this.#want;
      const first = this.#first;
      this.#first = false;
      if (stack.length === 0) {
        // Between messages: the opening of the next one.
        if (this.#mode.kind === 'result' && this.#mode.done) throw this.#bad('bytes after the result');
        if (c !== LBRACE && c !== LBRACKET) {
          if (this.#mode.kind === 'result') throw this.#bad('the monitor result has an unexpected shape');
          throw new OvsdbMalformedMessageError(
            this.#remote,
            `unexpected byte 0x${c.toString(16).padStart(2, '0')} between JSON-RPC messages`,
          );
        }
        start = i;
        this.#frameBytes = 0;
        want = VALUE;
      }
      if (want === VALUE && !isDelimiter(c)) {
        const level = stack.at(-1);
        const open = this.#opens(level, c);
        if (open >= 0) {
          this.#open(open);
          i++;
          continue;
        }
        this.#cut.begin(this.#cutTarget(level, c), c);
        const from = i;
        i = this.#cut.scan(buf, i, from);
        if (i < 0) return this.#held(n - start);
        if (this.#cutDone(buf, from, i, start) || this.#aborted) return;
        continue;
      }
      if (c === QUOTE) {
        if (want !== KEY) throw this.#bad('unexpected string');
        if (stack[stack.length - 1]!.role === TABLE) {
          const next = this.#tableRows(buf, i);
          if (next < 0) return this.#held(n - start);
          if (next !== i) {
            i = next;
            continue;
          }
        }
        this.#cut.begin(TO_KEY, c);
        const from = i;
        i = this.#cut.scan(buf, i, from);
        if (i < 0) return this.#held(n - start);
        this.#cutDone(buf, from, i, start);
        continue;
      }
      i++;
      if (c === RBRACE || c === RBRACKET) {
        const level = stack.at(-1)!;
        const isObject = level.role !== SINCE;
        if ((c === RBRACE) !== isObject || !(want === SEP || (first && want === (isObject ? KEY : VALUE))))
          throw this.#bad(`unexpected ${String.fromCharCode(c)}`);
        stack.pop();
        this.#want = SEP;
        if (this.#close(level, buf, start, i) || this.#aborted) return;
      } else if (c === COMMA) {
        if (want !== SEP) throw this.#bad('unexpected ,');
        const level = stack.at(-1)!;
        if (level.role === SINCE) {
          if (++level.index > 2) throw this.#bad('monitor_cond_since result has more than 3 elements');
          this.#want = VALUE;
        } else this.#want = KEY;
      } else if (c === COLON) {
        if (want !== TO_COLON) throw this.#bad('unexpected :');
        this.#want = VALUE;
      } else {
        throw this.#bad(`unexpected byte 0x${c.toString(16).padStart(2, '0')}`);
      }
    }
    if (this.#stack.length > 0) this.#held(n - start);
  }

  /** The open message continues past this chunk, whose last `bytes` are its. */
  #held(bytes: number): void {
    this.#frameBytes += bytes;
    if (this.#frameBytes > this.#maxFrameBytes) {
      throw new OvsdbFrameTooLargeError(this.#remote, this.#frameBytes, this.#maxFrameBytes);
    }
  }

  /**
   * The rows of a <table-update> as ovsdb-server writes them, `"uuid":{…}`
   * separated by commas with no whitespace: the bulk of a monitor reply,
   * taken here without the per-token dispatch of the loop above. Called at
   * a key's opening quote; returns where that loop resumes (it takes
   * whatever is not of this form: whitespace, a key with an escape or cut
   * at the chunk's end, a row update that is not an object, the closing
   * brace), or -1 when a row continues in the next chunk (its cut is open).
   */
  #tableRows(buf: Buffer, i: number): number {
    const n = buf.length;
    const stack = this.#stack;
    const level = stack[stack.length - 1]!;
    const table = stack[stack.length - 2]!.key;
    const target = this.#target!;
    const cut = this.#cut;
    for (;;) {
      const q = buf.indexOf(QUOTE, i + 1);
      if (q < 0 || q + 2 >= n || buf[q + 1] !== COLON || buf[q + 2] !== LBRACE) return i;
      const uuid = buf.toString('utf8', i + 1, q);
      if (uuid.includes('\\')) return i;
      level.key = uuid;
      cut.begin(TO_ROW, LBRACE);
      const from = q + 2;
      const end = cut.scan(buf, from, from);
      if (end < 0) return -1;
      target.row(table, uuid, this.#parse(cut.text(buf, from, end), cut.long, 'row'));
      if (this.#aborted) return n;
      if (buf[end] !== COMMA || buf[end + 1] !== QUOTE) {
        this.#want = SEP;
        return end;
      }
      this.#want = KEY;
      i = end + 1;
    }
  }

  /** The level a value starting with `c` opens, or -1 when it is cut out whole. */
  #opens(level: Level | undefined, c: number): number {
    if (level === undefined) {
      const mode = this.#mode;
      if (mode.kind === 'messages') return c === LBRACE ? MESSAGE : -1;
      if (mode.kind === 'frames') return -1;
      return this.#openResult(mode.rows, c);
    }
    switch (level.role) {
      case MESSAGE: {
        if (level.key !== 'result' || (c !== LBRACE && c !== LBRACKET)) return -1;
        const id = this.#members.id;
        if (this.#mode.kind !== 'messages' || typeof id !== 'number') return -1;
        const rows = this.#mode.handler.rows(id);
        return rows === undefined ? -1 : this.#openResult(rows, c);
      }
      case SINCE:
        if (level.index !== 2) return -1;
        if (c !== LBRACE) throw this.#bad('misplaced <table-updates>');
        return UPDATES;
      case UPDATES:
        if (c !== LBRACE) throw this.#bad('a <table-update> is not an object');
        return TABLE;
      default:
        return -1;
    }
  }

  #openResult(rows: MonitorRows, c: number): number {
    this.#rows = rows;
    const since = rows.method === 'monitor_cond_since';
    if (c !== (since ? LBRACKET : LBRACE)) throw this.#bad('the monitor result has an unexpected shape');
    return since ? SINCE : UPDATES;
  }

  #open(role: number): void {
    this.#stack.push({ role, key: '', index: 0 });
    this.#want = role === SINCE ? VALUE : KEY;
    this.#first = true;
    if (role === UPDATES) this.#target = this.#rows!.begin(this.#found, this.#lastTxnId);
  }

  /** Where a value cut out whole at `level` goes. */
  #cutTarget(level: Level | undefined, c: number): number {
    if (level === undefined) return TO_WHOLE;
    switch (level.role) {
      case MESSAGE:
        // A result ahead of its id: kept as bytes until the id says how to decode it.
        return level.key === 'result' && this.#members.id === undefined && (c === LBRACE || c === LBRACKET)
          ? TO_DEFERRED
          : TO_MEMBER;
      case SINCE:
        return level.index === 0 ? TO_FOUND : TO_TXN;
      case TABLE:
        return TO_ROW;
      default:
        throw this.#bad('unexpected value');
    }
  }

  /** A cut value buf[from, end) is complete; returns true when it ended the message and push must stop. */
  #cutDone(buf: Buffer, from: number, end: number, start: number): boolean {
    const cut = this.#cut;
    const target = cut.target;
    const level = this.#stack.at(-1);
    this.#want = target === TO_KEY ? TO_COLON : SEP;
    switch (target) {
      case TO_KEY: {
        // Decoded from the bytes between the quotes, not sliced from a text
        // with them: a row UUID key is kept by the replica, and a slice
        // would keep its parent string alive too.
        level!.key =
          cut.key(buf, from, end) ?? (this.#parse(cut.text(buf, from, end), false, 'key') as string);
        return false;
      }
      case TO_MEMBER:
        this.#members[level!.key] = this.#parse(cut.text(buf, from, end), cut.long, 'message');
        return false;
      case TO_DEFERRED:
        this.#deferred = Buffer.from(cut.bytes(buf, from, end));
        this.#deferredLong = cut.long;
        return false;
      case TO_FOUND: {
        const found = this.#parse(cut.text(buf, from, end), false, 'found');
        if (typeof found !== 'boolean') throw this.#bad(`unexpected ${JSON.stringify(found)}`);
        this.#found = found;
        return false;
      }
      case TO_TXN: {
        const txn = this.#parse(cut.text(buf, from, end), false, 'last-txn-id');
        if (typeof txn !== 'string') throw this.#bad(`unexpected ${JSON.stringify(txn)}`);
        this.#lastTxnId = txn;
        return false;
      }
      case TO_ROW: {
        const update = this.#parse(cut.text(buf, from, end), cut.long, 'row');
        this.#target!.row(this.#stack[this.#stack.length - 2]!.key, level!.key, update);
        return false;
      }
      default: {
        // A whole top-level value: a frame's text, or a message that is not an object.
        this.#checkSize(start, end);
        const text = cut.text(buf, from, end);
        const mode = this.#mode;
        if (mode.kind === 'frames') mode.frame(text, cut.long);
        else if (mode.kind === 'messages') mode.handler.message(this.#parse(text, cut.long, 'message'));
        return false;
      }
    }
  }

  /** A level closed at buf[end - 1]; returns true when push must stop. */
  #close(level: Level, buf: Buffer, start: number, end: number): boolean {
    if (level.role === SINCE && level.index !== 2) throw this.#bad('monitor_cond_since result is short');
    if (this.#stack.length > 0) return false;
    const mode = this.#mode;
    if (mode.kind === 'result') {
      mode.result = this.#target!.result();
      mode.done = true;
      this.#endMessage();
      return true;
    }
    if (level.role !== MESSAGE || mode.kind !== 'messages') return false;
    this.#checkSize(start, end);
    const members = this.#members;
    if (this.#target !== undefined) members.result = this.#target.result();
    else if (this.#deferred !== undefined) members.result = this.#deferredResult(members.id);
    this.#endMessage();
    mode.handler.message(members);
    return false;
  }

  /** A result that came ahead of its id, decoded now that the id is known. */
  #deferredResult(id: unknown): unknown {
    const bytes = this.#deferred!;
    const rows =
      typeof id === 'number' && this.#mode.kind === 'messages' ? this.#mode.handler.rows(id) : undefined;
    if (rows === undefined) return this.#parse(bytes.toString('utf8'), this.#deferredLong, 'message');
    const mode: Mode = { kind: 'result', rows, done: false };
    const decoder = new MessageDecoder(mode, { remote: this.#remote });
    decoder.push(bytes);
    if (!mode.done) throw this.#bad('the monitor result ended early');
    return mode.result;
  }

  #endMessage(): void {
    this.#members = {};
    this.#rows = undefined;
    this.#target = undefined;
    this.#found = undefined;
    this.#lastTxnId = undefined;
    this.#deferred = undefined;
  }

  #checkSize(start: number, end: number): void {
    const size = this.#frameBytes + end - start;
    this.#frameBytes = 0;
    if (size > this.#maxFrameBytes)
      throw new OvsdbFrameTooLargeError(this.#remote, size, this.#maxFrameBytes);
  }

  #parse(text: string, long: boolean, what: string): unknown {
    try {
      return long ? parseJsonExact(text) : JSON.parse(text);
    } catch (error) {
      if (what === 'row') {
        const stack = this.#stack;
        what = `row ${stack[stack.length - 2]!.key} ${stack[stack.length - 1]!.key}`;
      }
      throw new OvsdbMalformedMessageError(
        this.#remote,
        what === 'message' ? 'message is not valid JSON' : `monitor reply: ${what} is not valid JSON`,
        error,
      );
    }
  }

  #bad(detail: string): OvsdbMalformedMessageError {
    return new OvsdbMalformedMessageError(this.#remote, `monitor reply: ${detail}`);
  }
}

/** Length of the run of backslashes ending just before `end`, not reaching below `floor`. */
function backslashesBefore(buf: Buffer, end: number, floor: number): number {
  let k = end;
  while (k > floor && buf[k - 1] === BACKSLASH) k--;
  return end - k;
}
