// Lazily parsed <table-updates> for large monitor replies (pure, no I/O).
//
// A monitor reply holding a whole database (RFC 7047 §4.1.5, ovsdb-server(7)
// §4.1.12/§4.1.15) is tens of megabytes of JSON. Parsed in one go, its tree
// of wire rows is several times the size of the decoded replica and lives
// until the replica has consumed all of it. Here one scan over the text finds
// each <row-update> object; the returned <table-updates> is a plain object
// of tables whose values are read-only views that parse a row update only
// when it is read. The replica reads each row once, decodes it and drops the
// wire form, so at most one row's wire tree exists at a time. The text
// itself stays alive until the views are dropped.
//
// The scan only needs to find value boundaries: strings are skipped with
// indexOf (a quote preceded by an even run of backslashes ends one), and
// nested values by bracket depth. Anything unexpected throws, and the caller
// falls back to a plain parse.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

export type JsonParse = (text: string) => unknown;

class Scanner {
  i: number;
  constructor(
    readonly text: string,
    start: number,
    readonly end: number,
  ) {
    this.i = start;
  }

  ws(): void {
    const t = this.text;
    for (;;) {
      const c = t.charCodeAt(this.i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else return;
    }
  }

  expect(c: number): void {
    this.ws();
    if (this.text.charCodeAt(this.i) !== c)
      throw new Error(`expected ${String.fromCharCode(c)} at ${this.i}`);
    this.i++;
  }

  peek(): number {
    this.ws();
    return this.text.charCodeAt(this.i);
  }

  /** Skips a string starting at the current quote; returns its raw contents' range. */
  string(): [number, number] {
    this.expect(QUOTE);
    const t = this.text;
    const from = this.i;
    let at = from;
    for (;;) {
      const q = t.indexOf('"', at);
      if (q < 0 || q >= this.end) throw new Error('unterminated string');
      let k = q;
      while (k > from && t.charCodeAt(k - 1) === BACKSLASH) k--;
      at = q + 1;
      if (((q - k) & 1) === 0) {
        this.i = at;
        return [from, q];
      }
    }
  }

  /** A key: plain contents when unescaped (table names and UUIDs always are). */
  key(): string {
    const [a, b] = this.string();
    const raw = this.text.slice(a, b);
    return raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
  }

  /** Skips any JSON value; returns its range. */
  value(): [number, number] {
    this.ws();
    const t = this.text;
    const start = this.i;
    const c = t.charCodeAt(start);
    if (c === QUOTE) {
      this.string();
      return [start, this.i];
    }
    if (c !== LBRACE && c !== LBRACKET) {
      // Scalar: up to the next delimiter.
      let j = start;
      for (;;) {
        const d = t.charCodeAt(j);
        if (d === COMMA || d === RBRACE || d === RBRACKET || j >= this.end) break;
        j++;
      }
      this.i = j;
      return [start, j];
    }
    let depth = 0;
    let j = start;
    while (j < this.end) {
      const d = t.charCodeAt(j);
      if (d === QUOTE) {
        this.i = j;
        this.string();
        j = this.i;
        continue;
      }
      if (d === LBRACE || d === LBRACKET) depth++;
      else if ((d === RBRACE || d === RBRACKET) && --depth === 0) {
        this.i = j + 1;
        return [start, j + 1];
      }
      j++;
    }
    throw new Error('unterminated value');
  }
}

/**
 * A read-only view of one <table-update>: `for…in` lists the row UUIDs,
 * reading one parses its <row-update> text.
 */
function lazyTable(text: string, rows: Map<string, number>, ends: Int32Array, parse: JsonParse): object {
  const keys = [...rows.keys()];
  return new Proxy(Object.create(null) as object, {
    ownKeys: () => keys,
    has: (_t, k) => typeof k === 'string' && rows.has(k),
    getOwnPropertyDescriptor: (_t, k) =>
      typeof k === 'string' && rows.has(k)
        ? { enumerable: true, configurable: true, writable: false, value: undefined }
        : undefined,
    get: (_t, k) => {
      if (typeof k !== 'string') return undefined;
      const at = rows.get(k);
      return at === undefined ? undefined : parse(text.slice(ends[2 * at]!, ends[2 * at + 1]!));
    },
  });
}

/**
 * Returns the <table-updates> in text[start, end) with every <row-update>
 * parsed on first read by `parse`. Throws on text that is not an object of
 * objects (the caller then parses it plainly).
 */
export function lazyTableUpdates(
  text: string,
  start: number,
  end: number,
  parse: JsonParse,
): Record<string, object> {
  const s = new Scanner(text, start, end);
  const out: Record<string, object> = {};
  s.expect(LBRACE);
  if (s.peek() === RBRACE) return (s.i++, out);
  for (;;) {
    const table = s.key();
    s.expect(COLON);
    s.expect(LBRACE);
    const rows = new Map<string, number>();
    let ranges = new Int32Array(64);
    if (s.peek() !== RBRACE) {
      for (;;) {
        const uuid = s.key();
        s.expect(COLON);
        const [a, b] = s.value();
        const n = rows.size;
        if (2 * n + 2 > ranges.length) {
          const bigger = new Int32Array(ranges.length * 2);
          bigger.set(ranges);
          ranges = bigger;
        }
        ranges[2 * n] = a;
        ranges[2 * n + 1] = b;
        rows.set(uuid, n);
        const c = s.peek();
        s.i++;
        if (c === RBRACE) break;
        if (c !== COMMA) throw new Error(`expected , or } at ${s.i - 1}`);
      }
    } else {
      s.i++;
    }
    out[table] = lazyTable(text, rows, ranges, parse);
    const c = s.peek();
    s.i++;
    if (c === RBRACE) return out;
    if (c !== COMMA) throw new Error(`expected , or } at ${s.i - 1}`);
  }
}

/**
 * The `result` of a monitor reply in text[start, end), lazily: for
 * monitor_cond_since `[found, last-txn-id, <table-updates2>]`, otherwise the
 * <table-updates(2)> itself.
 */
export function lazyMonitorResult(
  method: 'monitor_cond_since' | 'monitor_cond' | 'monitor',
  text: string,
  start: number,
  end: number,
  parse: JsonParse,
): unknown {
  if (method !== 'monitor_cond_since') return lazyTableUpdates(text, start, end, parse);
  const s = new Scanner(text, start, end);
  s.expect(LBRACKET);
  const [fa, fb] = s.value();
  s.expect(COMMA);
  const [ta, tb] = s.value();
  s.expect(COMMA);
  s.ws();
  const [ua, ub] = s.value();
  s.expect(RBRACKET);
  return [
    JSON.parse(text.slice(fa, fb)),
    JSON.parse(text.slice(ta, tb)),
    lazyTableUpdates(text, ua, ub, parse),
  ];
}
