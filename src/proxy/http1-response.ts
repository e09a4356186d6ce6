// The response side of HTTP/1.1 (RFC 9112) as the relay reads nova's answers:
// a pure, incremental parser (no I/O, no timers), fed the bytes of one
// keep-alive connection in whatever pieces they arrive.
//
// What it keeps of an answer: the status, the first Content-Type and
// Content-Encoding (the only headers the VM gets back), the whole body (a
// Content-Length body, a chunked one, or one that ends with the connection),
// and whether the connection may carry another request. 1xx answers before
// the real one are skipped; HEAD, 204 and 304 answers have no body. Anything
// malformed is a ResponseParseError whose code names the fault the way
// llhttp's do (HPE_…), so that a log line reads the same as with undici.

/** Limits of what the parser accepts (undici's defaults: node's max header size). */
export const MAX_HEAD_BYTES = 16 * 1024;
const MAX_CHUNK_LINE = 1024;

export class ResponseParseError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ResponseParseError';
  }
}

const enum State {
  Head,
  Length,
  ChunkLine,
  ChunkData,
  ChunkEnd,
  Trailers,
  UntilEof,
  Done,
}

const CRLF_CRLF = Buffer.from('\r\n\r\n', 'latin1');
const EMPTY = Buffer.alloc(0);
const HEX = /^[0-9a-fA-F]{1,12}$/;
const KEEP_ALIVE_TIMEOUT = /(?:^|[,;\s])timeout\s*=\s*(\d+)/i;
/** What node refuses in a header value (the VM gets Content-Type and Content-Encoding back). */
const INVALID_VALUE = /[^\t\u0020-\u007e\u0080-\u00ff]/;

const enum Header {
  Other,
  ContentType,
  ContentEncoding,
  ContentLength,
  TransferEncoding,
  Connection,
  KeepAlive,
}

export class ResponseParser {
  #state = State.Head;
  #noBody = false;
  /** Head bytes seen so far when the head spans several reads. */
  #partial: Buffer | undefined;
  /** Body bytes still expected (Length), or of the current chunk (ChunkData). */
  #remaining = 0;
  /** A chunk-size or trailer line that spans several reads. */
  #line = '';
  #trailerBytes = 0;
  /** The body: its first piece, and the others when it came in several. */
  #first: Buffer | undefined;
  #more: Buffer[] | undefined;
  #length = 0;

  status = 0;
  contentType: string | undefined;
  contentEncoding: string | undefined;
  /** The connection may carry another request once this answer is read. */
  keepAlive = false;
  /** The server's Keep-Alive: timeout=N, in ms, when it sent one. */
  keepAliveTimeoutMs: number | undefined;
  /** Bytes came after the end of the answer (nothing was asked for them). */
  extra = false;

  /** Readies the parser for the answer to a new request (`noBody`: a HEAD request). */
  reset(noBody: boolean): void {
    this.#state = State.Head;
    this.#noBody = noBody;
    this.#partial = undefined;
    this.#remaining = 0;
    this.#line = '';
    this.#trailerBytes = 0;
    this.#first = undefined;
    this.#more = undefined;
    this.#length = 0;
    this.status = 0;
    this.contentType = undefined;
    this.contentEncoding = undefined;
    this.keepAlive = false;
    this.keepAliveTimeoutMs = undefined;
    this.extra = false;
  }

  /** Whether the head of the answer has been read (its status is known). */
  get headersDone(): boolean {
    return this.#state !== State.Head;
  }

  get done(): boolean {
    return this.#state === State.Done;
  }

  /** The whole body, once done. */
  body(): Buffer {
    if (this.#first === undefined) return EMPTY;
    if (this.#more === undefined) return this.#first;
    return Buffer.concat([this.#first, ...this.#more], this.#length);
  }

  /** Feeds the next bytes of the connection; true once the answer is complete. */
  execute(data: Buffer): boolean {
    let at = 0;
    while (at < data.length) {
      switch (this.#state) {
        case State.Head:
          at = this.#head(data, at);
          break;
        case State.Length: {
          const take = Math.min(this.#remaining, data.length - at);
          this.#push(data.subarray(at, at + take));
          at += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = State.Done;
          break;
        }
        case State.UntilEof:
          this.#push(at === 0 ? data : data.subarray(at));
          at = data.length;
          break;
        case State.ChunkLine:
        case State.Trailers:
        case State.ChunkEnd:
          at = this.#chunkLine(data, at);
          break;
        case State.ChunkData: {
          const take = Math.min(this.#remaining, data.length - at);
          this.#push(data.subarray(at, at + take));
          at += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = State.ChunkEnd;
          break;
        }
        case State.Done:
          this.extra = true;
          return true;
      }
    }
    return this.#state === State.Done;
  }

  /** The connection ended: true when that completes the answer (a body read until the end). */
  finish(): boolean {
    if (this.#state === State.UntilEof) this.#state = State.Done;
    return this.#state === State.Done;
  }

  #push(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.#first === undefined) this.#first = piece;
    else (this.#more ??= []).push(piece);
    this.#length += piece.length;
  }

  /** Looks for the end of the head from `at`; parses it when found. Returns the next offset. */
  #head(data: Buffer, at: number): number {
    let buf = data;
    let start = at;
    let from = at;
    if (this.#partial !== undefined) {
      const before = this.#partial.length;
      buf = Buffer.concat([this.#partial, data.subarray(at)]);
      start = 0;
      from = Math.max(0, before - 3);
    }
    const end = buf.indexOf(CRLF_CRLF, from);
    if (end === -1) {
      if (buf.length - start > MAX_HEAD_BYTES) {
        throw new ResponseParseError('HPE_HEADER_OVERFLOW', `response head over ${MAX_HEAD_BYTES} bytes`);
      }
      this.#partial = Buffer.from(buf.subarray(start));
      return data.length;
    }
    if (end - start > MAX_HEAD_BYTES) {
      throw new ResponseParseError('HPE_HEADER_OVERFLOW', `response head over ${MAX_HEAD_BYTES} bytes`);
    }
    const consumed = this.#partial === undefined ? end + 4 - at : end + 4 - this.#partial.length;
    this.#partial = undefined;
    this.#parseHead(buf.toString('latin1', start, end));
    return at + consumed;
  }

  #parseHead(head: string): void {
    // Status line: HTTP/1.x SP 3DIGIT [SP reason], checked a character at a
    // time (no split, no regular expression: one answer per request).
    const statusEnd = lineEnd(head, 0);
    const minor = head.charCodeAt(7);
    const s0 = head.charCodeAt(9);
    const s1 = head.charCodeAt(10);
    const s2 = head.charCodeAt(11);
    if (
      !head.startsWith('HTTP/1.') ||
      (minor !== 0x30 && minor !== 0x31) ||
      head.charCodeAt(8) !== 0x20 ||
      !(s0 >= 0x31 && s0 <= 0x39 && isDigit(s1) && isDigit(s2)) ||
      (statusEnd > 12 && head.charCodeAt(12) !== 0x20)
    ) {
      throw new ResponseParseError(
        'HPE_INVALID_CONSTANT',
        `not an HTTP/1.x status line: ${JSON.stringify(head.slice(0, Math.min(statusEnd, 64)))}`,
      );
    }
    for (let i = 13; i < statusEnd; i++) {
      const c = head.charCodeAt(i);
      if (c === 0x0a || c === 0x0d)
        throw new ResponseParseError('HPE_LF_EXPECTED', 'a bare CR or LF in the status line');
    }
    const code = (s0 - 0x30) * 100 + (s1 - 0x30) * 10 + (s2 - 0x30);
    const http10 = minor === 0x30;
    let keepAlive = !http10;
    let contentLength: number | undefined;
    let chunked = false;
    let transferEncoding = false;
    let contentType: string | undefined;
    let contentEncoding: string | undefined;
    let keepAliveTimeoutMs: number | undefined;
    for (let at = statusEnd + 2; at < head.length;) {
      const end = lineEnd(head, at);
      const colon = head.indexOf(':', at);
      const first = head.charCodeAt(at);
      const beforeColon = head.charCodeAt(colon - 1);
      if (
        colon <= at ||
        colon >= end ||
        first === 0x20 ||
        first === 0x09 ||
        beforeColon === 0x20 ||
        beforeColon === 0x09
      ) {
        throw new ResponseParseError(
          'HPE_INVALID_HEADER_TOKEN',
          `malformed header line ${JSON.stringify(head.slice(at, Math.min(end, at + 64)))}`,
        );
      }
      // Only six names matter: their lengths first, then the letters.
      const name = knownHeader(head, at, colon - at);
      if (name !== Header.Other) {
        const value = trimOws(head.slice(colon + 1, end));
        switch (name) {
          case Header.ContentType:
            contentType ??= checkedValue(value);
            break;
          case Header.ContentEncoding:
            contentEncoding ??= checkedValue(value);
            break;
          case Header.ContentLength: {
            const n = digitsFrom(value, 0, 15);
            if (n === undefined) {
              throw new ResponseParseError(
                'HPE_INVALID_CONTENT_LENGTH',
                `invalid Content-Length ${JSON.stringify(value)}`,
              );
            }
            if (contentLength !== undefined && contentLength !== n) {
              throw new ResponseParseError(
                'HPE_UNEXPECTED_CONTENT_LENGTH',
                'different Content-Length values',
              );
            }
            contentLength = n;
            break;
          }
          case Header.TransferEncoding: {
            transferEncoding = true;
            const codings = value.toLowerCase().split(',');
            // chunked counts only as the final coding (RFC 9112 §6.3).
            chunked = trimOws(codings[codings.length - 1]!) === 'chunked';
            break;
          }
          case Header.Connection:
            // The usual single token without a split.
            if (value.length === 10 && sameName(value, 0, 'keep-alive')) {
              if (http10) keepAlive = true;
            } else if (value.length === 5 && sameName(value, 0, 'close')) {
              keepAlive = false;
            } else {
              for (const token of value.toLowerCase().split(',')) {
                const t = trimOws(token);
                if (t === 'close') keepAlive = false;
                else if (t === 'keep-alive' && http10) keepAlive = true;
              }
            }
            break;
          case Header.KeepAlive: {
            // node's own `timeout=5` without a regular expression.
            const seconds = value.startsWith('timeout=') ? digitsFrom(value, 8, 9) : undefined;
            if (seconds !== undefined) keepAliveTimeoutMs = seconds * 1000;
            else {
              const m = KEEP_ALIVE_TIMEOUT.exec(value);
              if (m !== null) keepAliveTimeoutMs = Number(m[1]) * 1000;
            }
            break;
          }
        }
      }
      at = end + 2;
    }
    if (code < 200) {
      if (code === 101) throw new ResponseParseError('HPE_UPGRADE', 'nova switched protocols (101)');
      return; // an interim answer: the real one follows (still State.Head)
    }
    this.status = code;
    this.contentType = contentType;
    this.contentEncoding = contentEncoding;
    this.keepAliveTimeoutMs = keepAliveTimeoutMs;
    if (this.#noBody || code === 204 || code === 304) {
      this.keepAlive = keepAlive;
      this.#state = State.Done;
    } else if (transferEncoding) {
      // With both, Transfer-Encoding wins and the connection is not reused.
      this.keepAlive = keepAlive && chunked && contentLength === undefined;
      this.#state = chunked ? State.ChunkLine : State.UntilEof;
    } else if (contentLength !== undefined) {
      this.keepAlive = keepAlive;
      this.#remaining = contentLength;
      this.#state = contentLength === 0 ? State.Done : State.Length;
    } else {
      this.keepAlive = false;
      this.#state = State.UntilEof;
    }
  }

  /** One line of the chunked framing (size line, the CRLF after data, trailers). */
  #chunkLine(data: Buffer, at: number): number {
    const eol = data.indexOf(0x0a, at);
    const piece = data.toString('latin1', at, eol === -1 ? data.length : eol + 1);
    this.#line += piece;
    if (this.#line.length > (this.#state === State.Trailers ? MAX_HEAD_BYTES : MAX_CHUNK_LINE)) {
      throw new ResponseParseError('HPE_CHUNK_SIZE', 'chunked framing line too long');
    }
    if (eol === -1) return data.length;
    const line = this.#line;
    this.#line = '';
    if (!line.endsWith('\r\n'))
      throw new ResponseParseError('HPE_CR_EXPECTED', 'chunked framing line without CRLF');
    const text = line.slice(0, -2);
    switch (this.#state) {
      case State.ChunkEnd:
        if (text !== '') throw new ResponseParseError('HPE_STRICT', 'chunk data longer than its size');
        this.#state = State.ChunkLine;
        break;
      case State.ChunkLine: {
        const semicolon = text.indexOf(';');
        const size = trimOws(semicolon === -1 ? text : text.slice(0, semicolon));
        if (!HEX.test(size))
          throw new ResponseParseError(
            'HPE_INVALID_CHUNK_SIZE',
            `invalid chunk size ${JSON.stringify(size)}`,
          );
        this.#remaining = parseInt(size, 16);
        this.#state = this.#remaining === 0 ? State.Trailers : State.ChunkData;
        break;
      }
      case State.Trailers:
        this.#trailerBytes += line.length;
        if (this.#trailerBytes > MAX_HEAD_BYTES) {
          throw new ResponseParseError('HPE_HEADER_OVERFLOW', `trailers over ${MAX_HEAD_BYTES} bytes`);
        }
        if (text === '') this.#state = State.Done;
        break;
    }
    return eol + 1;
  }
}

/** Where the line starting at `at` ends (its CR), or the end of the head. */
function lineEnd(head: string, at: number): number {
  const end = head.indexOf('\r\n', at);
  return end === -1 ? head.length : end;
}

/** The number written from `at` to the end of `text` (1 to `max` digits, at most 15), or undefined. */
function digitsFrom(text: string, at: number, max: number): number | undefined {
  if (at >= text.length || text.length - at > max) return undefined;
  let n = 0;
  for (let i = at; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!isDigit(c)) return undefined;
    n = n * 10 + (c - 0x30);
  }
  return n;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Which of the six names the header at `at` (`length` characters) has, in any case. */
function knownHeader(head: string, at: number, length: number): Header {
  switch (length) {
    case 10:
      if (sameName(head, at, 'connection')) return Header.Connection;
      if (sameName(head, at, 'keep-alive')) return Header.KeepAlive;
      return Header.Other;
    case 12:
      return sameName(head, at, 'content-type') ? Header.ContentType : Header.Other;
    case 14:
      return sameName(head, at, 'content-length') ? Header.ContentLength : Header.Other;
    case 16:
      return sameName(head, at, 'content-encoding') ? Header.ContentEncoding : Header.Other;
    case 17:
      return sameName(head, at, 'transfer-encoding') ? Header.TransferEncoding : Header.Other;
    default:
      return Header.Other;
  }
}

/** ASCII case-insensitive match of `lower` (lower case letters and '-') at `at`. */
function sameName(head: string, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    if ((head.charCodeAt(at + i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function checkedValue(value: string): string {
  if (INVALID_VALUE.test(value)) {
    throw new ResponseParseError('HPE_INVALID_HEADER_TOKEN', 'a control character in a header value');
  }
  return value;
}

/** Without leading and trailing spaces and tabs (RFC 9110 OWS). */
function trimOws(text: string): string {
  let a = 0;
  let b = text.length;
  while (a < b && (text.charCodeAt(a) === 0x20 || text.charCodeAt(a) === 0x09)) a++;
  while (b > a && (text.charCodeAt(b - 1) === 0x20 || text.charCodeAt(b - 1) === 0x09)) b--;
  return a === 0 && b === text.length ? text : text.slice(a, b);
}
