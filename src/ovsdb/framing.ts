// Incremental framing of an OVSDB byte stream into JSON texts.
//
// RFC 7047 §4 runs JSON-RPC over a plain stream with no delimiters:
// ovsdb-server writes whole JSON objects back to back, optionally separated
// by whitespace. A frame ends where its outermost brace closes, so the framer
// tracks nesting depth and whether it is inside a string (and just after a
// backslash there). That state survives across chunks, so every byte is
// scanned exactly once however the stream is cut. Multi-byte UTF-8 sequences
// never contain ASCII bytes (all their bytes are >= 0x80), so the scan works on
// raw bytes and decodes UTF-8 only for complete frames.
//
// A frame that spans chunks is decoded chunk by chunk (a StringDecoder
// carries a multi-byte character cut at a chunk edge over to the next) and
// the pieces are joined once when it completes: a 50 MB initial dump arriving
// in 64 KiB chunks costs one join, not a quadratic series of copies, and its
// socket buffers are released as it arrives instead of being held to the end.
//
// A frame still open at the end of a chunk, with at least CLAIM_HEAD_BYTES
// received, may be claimed by a FrameSink (options.claim, given the frame's
// bytes so far): the framer then
// hands it every later chunk as is, and the sink finds the frame's end
// itself. This is how a large monitor reply is parsed row by row while it
// arrives (stream-updates.ts) instead of being joined into one text first.
//
// While scanning, the framer also notes whether a frame has a run of 16 or
// more digits outside strings: only such a frame can hold an integer beyond
// 2^53 (RFC 7047 §3.1 integers are 64-bit), so every other frame can go to
// plain JSON.parse whatever digit strings its values contain.
import { StringDecoder } from 'node:string_decoder';
import { OvsdbFrameTooLargeError, OvsdbMalformedMessageError } from './errors.js';

/** Consumes one frame's bytes as they arrive (see JsonFramerOptions.claim). */
export interface FrameSink {
  /**
   * Consumes chunk[start..]; returns the offset just past the frame's end
   * when it ends in this chunk, or -1 when it continues. Throws on a
   * malformed frame (the stream is then unusable).
   */
  write(chunk: Buffer, start: number): number;
}

export interface JsonFramerOptions {
  /**
   * Offered each frame still open once CLAIM_HEAD_BYTES of it have arrived,
   * with its bytes so far; a returned sink is given those bytes and all the
   * rest of the frame, which then never becomes a text.
   */
  readonly claim?: (head: Buffer) => FrameSink | undefined;
  /** Largest accepted frame in bytes (default 512 MiB). */
  readonly maxFrameBytes?: number;
  /** Names the peer in error messages. */
  readonly remote?: string;
}

export const DEFAULT_MAX_FRAME_BYTES = 512 * 1024 * 1024;

/** Bytes of a frame that `claim` is shown (fewer only when the frame ends first). */
export const CLAIM_HEAD_BYTES = 64;

const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;

export class JsonFramer {
  readonly #maxFrameBytes: number;
  readonly #remote: string;
  readonly #claim: JsonFramerOptions['claim'];
  /** The sink consuming the open frame, if claimed. */
  #sink: FrameSink | undefined;
  /** The open frame's first bytes, while fewer than CLAIM_HEAD_BYTES (not yet offered to claim). */
  #head: Buffer | undefined;

  // Scan state; invariant: depth > 0 exactly while a frame is open.
  #depth = 0;
  #inString = false;
  #escape = false;
  /** Length of the digit run just scanned outside strings. */
  #digits = 0;
  /** The open frame has a 16+ digit run outside strings. */
  #long = false;
  #longNumbers: boolean[] = [];

  /** Decoded text of the open frame's earlier chunks. */
  #parts: string[] = [];
  /** Bytes of the open frame received in earlier chunks. */
  #partsBytes = 0;
  readonly #decoder = new StringDecoder('utf8');

  constructor(options: JsonFramerOptions = {}) {
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#remote = options.remote ?? 'peer';
    this.#claim = options.claim;
  }

  /**
   * For each frame returned by the last push(): whether it has a run of 16+
   * digits outside strings (a possible integer beyond 2^53; parse exactly).
   */
  get longNumbers(): readonly boolean[] {
    return this.#longNumbers;
  }

  /** True while a frame has started but not ended. */
  get inFrame(): boolean {
    return this.#depth > 0 || this.#sink !== undefined;
  }

  /**
   * Scans `chunk` and returns the JSON texts of the frames it completes, in
   * order. Throws OVSDB_FRAME_TOO_LARGE or OVSDB_MALFORMED_MESSAGE; after a
   * throw the stream is unusable and the caller drops the connection.
   */
  push(chunk: Buffer): string[] {
    const frames: string[] = [];
    const longNumbers: boolean[] = [];
    this.#longNumbers = longNumbers;
    const n = chunk.length;
    let digits = this.#digits;
    let long = this.#long;
    let depth = this.#depth;
    let inString = this.#inString;
    let escape = this.#escape;
    // Start of the open frame within this chunk (0 when it began earlier).
    let start = 0;
    let i = this.#sink === undefined ? 0 : this.#feedSink(chunk, 0);
    if (i < 0) return frames;
    while (i < n) {
      const b = chunk[i]!;
      if (depth === 0) {
        // Between frames: whitespace, or the opening of the next object.
        if (b === LBRACE || b === LBRACKET) {
          depth = 1;
          start = i;
        } else if (b !== SPACE && b !== LF && b !== CR && b !== TAB) {
          this.#reset();
          throw new OvsdbMalformedMessageError(
            this.#remote,
            `unexpected byte 0x${b.toString(16).padStart(2, '0')} between JSON-RPC messages`,
          );
        }
      } else if (inString) {
        // Most frame bytes are string contents: jump to the next quote with
        // memchr (Buffer#indexOf) and decide whether it is escaped by the
        // parity of the backslash run before it.
        if (escape) {
          escape = false;
          i++;
        }
        for (;;) {
          const from = i;
          const q = chunk.indexOf(QUOTE, from);
          if (q < 0) {
            escape = (backslashesBefore(chunk, n, from) & 1) === 1;
            i = n;
            break;
          }
          i = q + 1;
          if ((backslashesBefore(chunk, q, from) & 1) === 0) {
            inString = false;
            break;
          }
        }
        continue;
      } else if (b >= 0x30 && b <= 0x39) {
        if (++digits >= 16) long = true;
      } else {
        digits = 0;
        if (b === QUOTE) {
          inString = true;
        } else if (b === LBRACE || b === LBRACKET) {
          depth++;
        } else if ((b === RBRACE || b === RBRACKET) && --depth === 0) {
          frames.push(this.#complete(chunk, start, i + 1));
          longNumbers.push(long);
          long = false;
        }
      }
      i++;
    }
    this.#depth = depth;
    this.#inString = inString;
    this.#escape = escape;
    this.#digits = digits;
    this.#long = long;
    if (depth > 0) {
      let tail = start === 0 ? chunk : chunk.subarray(start);
      this.#partsBytes += tail.length;
      if (this.#partsBytes > this.#maxFrameBytes) {
        const size = this.#partsBytes;
        this.#reset();
        throw new OvsdbFrameTooLargeError(this.#remote, size, this.#maxFrameBytes);
      }
      if (this.#claim !== undefined && this.#parts.length === 0) {
        // Not yet offered (a frame offered and declined has parts): offer it
        // once CLAIM_HEAD_BYTES of it are known.
        const head = this.#head === undefined ? tail : Buffer.concat([this.#head, tail]);
        this.#head = undefined;
        if (head.length < CLAIM_HEAD_BYTES) {
          this.#head = Buffer.from(head);
          return frames;
        }
        const sink = this.#claim(head);
        if (sink !== undefined) {
          // The sink reads the frame from its first byte; the scan state
          // above is the framer's own and is dropped.
          this.#sink = sink;
          this.#depth = 0;
          this.#inString = false;
          this.#escape = false;
          this.#digits = 0;
          this.#long = false;
          this.#partsBytes = 0;
          if (this.#feedSink(head, 0) >= 0) {
            this.#reset();
            throw new OvsdbMalformedMessageError(this.#remote, 'a claimed frame ended early');
          }
          return frames;
        }
        tail = head;
      }
      this.#parts.push(this.#decoder.write(tail));
    }
    return frames;
  }

  /** Feeds chunk[start..] to the sink; returns where the frame ended in it (sink released) or -1. */
  #feedSink(chunk: Buffer, start: number): number {
    let end: number;
    try {
      end = this.#sink!.write(chunk, start);
    } catch (error) {
      this.#reset();
      throw error;
    }
    this.#partsBytes += (end < 0 ? chunk.length : end) - start;
    if (this.#partsBytes > this.#maxFrameBytes) {
      const size = this.#partsBytes;
      this.#reset();
      throw new OvsdbFrameTooLargeError(this.#remote, size, this.#maxFrameBytes);
    }
    if (end >= 0) {
      this.#sink = undefined;
      this.#partsBytes = 0;
    }
    return end;
  }

  /** Drops any partial frame (after a reconnect the stream starts afresh). */
  reset(): void {
    this.#reset();
  }

  #complete(chunk: Buffer, start: number, end: number): string {
    if (this.#head !== undefined) {
      this.#parts.push(this.#decoder.write(this.#head));
      this.#head = undefined;
    }
    if (this.#parts.length === 0) {
      if (end - start > this.#maxFrameBytes) {
        this.#reset();
        throw new OvsdbFrameTooLargeError(this.#remote, end - start, this.#maxFrameBytes);
      }
      return chunk.toString('utf8', start, end);
    }
    const total = this.#partsBytes + end;
    if (total > this.#maxFrameBytes) {
      this.#reset();
      throw new OvsdbFrameTooLargeError(this.#remote, total, this.#maxFrameBytes);
    }
    this.#parts.push(this.#decoder.end(chunk.subarray(0, end)));
    const text = this.#parts.join('');
    this.#parts = [];
    this.#partsBytes = 0;
    return text;
  }

  #reset(): void {
    this.#sink = undefined;
    this.#head = undefined;
    this.#digits = 0;
    this.#long = false;
    this.#depth = 0;
    this.#inString = false;
    this.#escape = false;
    this.#parts = [];
    this.#partsBytes = 0;
    this.#decoder.end(); // discard any held partial character
  }
}

/** Length of the run of backslashes ending just before `end`, not reaching below `floor`. */
function backslashesBefore(chunk: Buffer, end: number, floor: number): number {
  let k = end;
  while (k > floor && chunk[k - 1] === BACKSLASH) k--;
  return end - k;
}
