// Streaming parse of a monitor reply's result, row by row, as its bytes
// arrive (pure, no I/O).
//
// A monitor reply holding a whole database (RFC 7047 §4.1.5, ovsdb-server(7)
// §4.1.12/§4.1.15) is tens of megabytes of JSON. Joined into one text and
// parsed, the text alone outweighs the decoded replica. Here the result is
// consumed chunk by chunk: the structure above the rows (a few brackets, the
// table names, the row UUIDs) is tokenised in place, and each <row-update>
// object is cut out, decoded from UTF-8 and JSON-parsed on its own, then
// handed to a RowSink (the replica decodes and keeps it). At most one row's
// text and wire tree exist at a time, and the client's work overlaps the
// server's sending.
//
// Grammar (RFC 7047 §4.1.6 / ovsdb-server(7) §4.1.14):
//   result         = table-updates                          (monitor, monitor_cond)
//                  | "[" found "," last-txn-id "," table-updates "]"   (monitor_cond_since)
//   table-updates  = "{" [ table ":" "{" [ uuid ":" row-update *( "," … ) ] "}" *( "," … ) ] "}"
// A row-update that is not an object or array is still handed to the sink
// (which reports it as a bad row update); any other departure throws, and
// the caller drops the connection (the bytes are consumed, the stream is out
// of step).
import { OvsdbMalformedMessageError } from './errors.js';
import type { ResultStream } from './jsonrpc.js';
import { parseJsonExact } from './wire/json.js';

/** Receives each row update of the result, in order. */
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

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON_BYTE = 0x3a;
const COMMA = 0x2c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isDelimiter = (c: number): boolean =>
  c === COMMA || c === RBRACE || c === RBRACKET || c === COLON_BYTE || isSpace(c);

/** Container kinds on the structural stack. */
const OBJECT = 0;
const ARRAY = 1;
/** What the structural tokeniser expects next. */
const KEY = 0;
const COLON = 1;
const VALUE = 2;
const SEP = 3;

export class MonitorResultStream implements ResultStream {
  readonly #remote: string;
  readonly #begin: BeginRows;
  /** Depth of the <table-updates> object: 1, or 2 inside monitor_cond_since's array. */
  readonly #updatesDepth: number;

  // Structural position, above the rows.
  readonly #kinds: number[] = [];
  #want = VALUE;
  /** Just after an opening bracket (so a closing one may follow). */
  #first = false;
  /** Index of the current element in monitor_cond_since's array. */
  #element = 0;
  #found: boolean | undefined;
  #lastTxnId: string | undefined;
  #table = '';
  #uuid = '';
  #rows: ReturnType<BeginRows> | undefined;
  /** Bytes of a token cut at the end of the previous chunk. */
  #carry: Buffer | undefined;

  // The row being cut out (only while #rowPieces is defined).
  #rowPieces: Buffer[] | undefined;
  #rowDepth = 0;
  #rowInString = false;
  #rowDigits = 0;
  #rowLong = false;

  constructor(method: 'monitor_cond_since' | 'monitor_cond' | 'monitor', begin: BeginRows, remote = 'peer') {
    this.#remote = remote;
    this.#begin = begin;
    this.#updatesDepth = method === 'monitor_cond_since' ? 2 : 1;
  }

  /** The call's result: the rows' result, inside `[found, last-txn-id, …]` for monitor_cond_since. */
  result(): unknown {
    const rows = this.#rows!.result();
    return this.#updatesDepth === 2 ? [this.#found, this.#lastTxnId, rows] : rows;
  }

  /** Consumes chunk[start..]; returns the offset just past the result, or -1 if it continues. */
  write(chunk: Buffer, start: number): number {
    let buf = chunk;
    let i = start;
    let base = 0; // chunk offset = buf offset - base
    if (this.#carry !== undefined) {
      buf = Buffer.concat([this.#carry, chunk.subarray(start)]);
      base = this.#carry.length - start;
      this.#carry = undefined;
      i = 0;
    }
    const n = buf.length;
    while (i < n) {
      if (this.#rowPieces !== undefined) {
        i = this.#scanRow(buf, i, i);
        if (i < 0) return -1;
        this.#want = SEP;
        continue;
      }
      const c = buf[i]!;
      if (isSpace(c)) {
        i++;
        continue;
      }
      const want = this.#want;
      const first = this.#first;
      this.#first = false;
      if (c === QUOTE) {
        const end = stringEnd(buf, i + 1);
        if (end < 0) return this.#keep(buf, i, first);
        if (want === KEY) this.#key(decodeString(buf, i, end + 1));
        else if (want === VALUE) this.#value(decodeString(buf, i, end + 1));
        else throw this.#bad('unexpected string');
        i = end + 1;
      } else if (c === LBRACE || c === LBRACKET) {
        if (want !== VALUE) throw this.#bad(`unexpected ${String.fromCharCode(c)}`);
        if (this.#kinds.length === this.#updatesDepth + 1) {
          // A <row-update>: cut it out whole.
          this.#rowPieces = [];
          this.#rowDepth = 0;
          this.#rowInString = false;
          this.#rowDigits = 0;
          this.#rowLong = false;
          i = this.#scanRow(buf, i, i);
          if (i < 0) return -1;
          this.#want = SEP;
        } else {
          this.#open(c === LBRACE ? OBJECT : ARRAY);
          i++;
        }
      } else if (c === RBRACE || c === RBRACKET) {
        const kind = c === RBRACE ? OBJECT : ARRAY;
        if (
          this.#kinds.at(-1) !== kind ||
          !(want === SEP || (first && want === (kind === OBJECT ? KEY : VALUE)))
        )
          throw this.#bad(`unexpected ${String.fromCharCode(c)}`);
        this.#kinds.pop();
        this.#want = SEP;
        i++;
        if (this.#kinds.length === 0) {
          if (this.#rows === undefined) throw this.#bad('no <table-updates> in the result');
          return i - base;
        }
      } else if (c === COMMA) {
        if (want !== SEP) throw this.#bad('unexpected ,');
        if (this.#kinds.at(-1) === OBJECT) {
          this.#want = KEY;
        } else {
          this.#want = VALUE;
          this.#element++;
        }
        i++;
      } else if (c === COLON_BYTE) {
        if (want !== COLON) throw this.#bad('unexpected :');
        this.#want = VALUE;
        i++;
      } else {
        // A literal (true, false, null, a number): up to the next delimiter.
        if (want !== VALUE) throw this.#bad('unexpected literal');
        let j = i + 1;
        while (j < n && !isDelimiter(buf[j]!)) j++;
        if (j === n) return this.#keep(buf, i, first);
        let value: unknown;
        try {
          value = JSON.parse(buf.toString('latin1', i, j));
        } catch {
          throw this.#bad(
            `invalid literal ${JSON.stringify(buf.toString('latin1', i, Math.min(j, i + 20)))}`,
          );
        }
        this.#value(value);
        i = j;
      }
    }
    return -1;
  }

  /** Keeps buf[from..] for the next chunk (a token cut in two). */
  #keep(buf: Buffer, from: number, first: boolean): number {
    this.#carry = Buffer.from(buf.subarray(from));
    this.#first = first; // the token is read again
    return -1;
  }

  #open(kind: number): void {
    const depth = this.#kinds.length;
    if (depth === 0) {
      if (this.#updatesDepth === 2 ? kind !== ARRAY : kind !== OBJECT)
        throw this.#bad('the monitor result has an unexpected shape');
    } else if (depth === this.#updatesDepth - 1) {
      // The <table-updates> object itself (monitor_cond_since: element 2).
      if (kind !== OBJECT || this.#element !== 2) throw this.#bad('misplaced <table-updates>');
    } else if (depth !== this.#updatesDepth || kind !== OBJECT) {
      throw this.#bad('a <table-update> is not an object');
    }
    this.#kinds.push(kind);
    this.#want = kind === OBJECT ? KEY : VALUE;
    this.#first = true;
    if (this.#kinds.length === this.#updatesDepth) this.#rows = this.#begin(this.#found, this.#lastTxnId);
  }

  #key(key: string): void {
    const depth = this.#kinds.length;
    if (depth === this.#updatesDepth) this.#table = key;
    else if (depth === this.#updatesDepth + 1) this.#uuid = key;
    else throw this.#bad(`unexpected key ${JSON.stringify(key)}`);
    this.#want = COLON;
  }

  /** A string or literal value above the rows, or a <row-update> that is neither object nor array. */
  #value(value: unknown): void {
    const depth = this.#kinds.length;
    if (depth === this.#updatesDepth + 1) {
      this.#rows!.row(this.#table, this.#uuid, value); // reported there as a bad row update
    } else if (depth === 1 && this.#updatesDepth === 2 && this.#element === 0 && typeof value === 'boolean') {
      this.#found = value;
    } else if (depth === 1 && this.#updatesDepth === 2 && this.#element === 1 && typeof value === 'string') {
      this.#lastTxnId = value;
    } else {
      throw this.#bad(`unexpected ${JSON.stringify(value)}`);
    }
    this.#want = SEP;
  }

  /**
   * Scans the row being cut out from buf[i]; this chunk's part of it starts
   * at buf[rowStart] (earlier parts are in #rowPieces). Returns the offset
   * past its end once it is complete and delivered, or -1 after keeping
   * this chunk's part of it.
   */
  #scanRow(buf: Buffer, i: number, rowStart: number): number {
    const n = buf.length;
    let depth = this.#rowDepth;
    let inString = this.#rowInString;
    let digits = this.#rowDigits;
    let long = this.#rowLong;
    while (i < n) {
      if (inString) {
        // A quote preceded by an even run of backslashes ends the string;
        // a string cut at the chunk end resumes at the next chunk's start
        // (where a pending escape is told apart by the backslash run kept
        // in the previous piece).
        const q = buf.indexOf(QUOTE, i);
        if (q < 0) {
          i = n;
          break;
        }
        i = q + 1;
        if (escapedQuote(buf, q, rowStart, this.#rowPieces!)) continue;
        inString = false;
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
        const pieces = this.#rowPieces!;
        this.#rowPieces = undefined;
        const text =
          pieces.length === 0
            ? buf.toString('utf8', rowStart, i)
            : Buffer.concat([...pieces, buf.subarray(rowStart, i)]).toString('utf8');
        let update: unknown;
        try {
          // Only a row with a 16+ digit run outside strings can hold an
          // integer beyond 2^53 (RFC 7047 §3.1 integers are 64-bit).
          update = long ? parseJsonExact(text) : JSON.parse(text);
        } catch (error) {
          throw new OvsdbMalformedMessageError(
            this.#remote,
            `monitor reply: row ${this.#table} ${this.#uuid} is not valid JSON`,
            error,
          );
        }
        this.#rows!.row(this.#table, this.#uuid, update);
        return i;
      }
    }
    this.#rowPieces!.push(buf.subarray(rowStart));
    this.#rowDepth = depth;
    this.#rowInString = inString;
    this.#rowDigits = digits;
    this.#rowLong = long;
    return -1;
  }

  #bad(detail: string): OvsdbMalformedMessageError {
    return new OvsdbMalformedMessageError(this.#remote, `monitor reply: ${detail}`);
  }
}

/** Offset of the quote ending the string whose contents start at `from`, or -1. */
function stringEnd(buf: Buffer, from: number): number {
  let at = from;
  for (;;) {
    const q = buf.indexOf(QUOTE, at);
    if (q < 0) return -1;
    let k = q;
    while (k > from && buf[k - 1] === BACKSLASH) k--;
    if (((q - k) & 1) === 0) return q;
    at = q + 1;
  }
}

/** Whether the quote at buf[q] is escaped: an odd run of backslashes before it, across pieces. */
function escapedQuote(buf: Buffer, q: number, floor: number, pieces: readonly Buffer[]): boolean {
  let k = q;
  while (k > floor && buf[k - 1] === BACKSLASH) k--;
  let run = q - k;
  if (k === floor) {
    // The run reaches the start of this chunk's part: continue into earlier pieces.
    for (let p = pieces.length - 1; p >= 0; p--) {
      const piece = pieces[p]!;
      let j = piece.length;
      while (j > 0 && piece[j - 1] === BACKSLASH) j--;
      run += piece.length - j;
      if (j > 0) break;
    }
  }
  return (run & 1) === 1;
}

/** The JSON string buf[from..to) (quotes included), unescaped when needed. */
function decodeString(buf: Buffer, from: number, to: number): string {
  const raw = buf.toString('utf8', from + 1, to - 1);
  return raw.includes('\\') ? (JSON.parse(buf.toString('utf8', from, to)) as string) : raw;
}
