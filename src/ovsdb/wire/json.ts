/**
 * JSON text <-> values, exact for OVSDB integers.
 *
 * OVSDB integers are 64-bit (RFC 7047 §3.1 "integer"), but JSON.parse maps
 * every number to a double and silently rounds integers beyond 2^53. We keep
 * them exact: `parseJsonExact` returns a `bigint` for an integer literal whose
 * value is beyond Number.MAX_SAFE_INTEGER, and a `number` for everything else.
 *
 * Fast path: a safe-integer literal has at most 16 digits and an unsafe one at
 * least 16, so text with no run of 16 digits anywhere (inside strings or not)
 * cannot hold one, and plain JSON.parse is exact. `hasDigitRun16` decides by
 * sampling every 16th character, about 7% of JSON.parse's time on a
 * uuid-heavy dump (a /\d{16}/ test costs twice that; figures printed by
 * test/unit/ovsdb/wire/json.test.ts). Only text with such a run (a big
 * counter, or a digit string such as a nanosecond timestamp in external_ids)
 * takes the slow path: our own parser below.
 */
import { OvsdbJsonError } from '../errors.js';

/** Parses JSON text; integers beyond ±(2^53 − 1) come back as exact `bigint`s. */
export function parseJsonExact(text: string): unknown {
  if (!hasDigitRun16(text)) {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new OvsdbJsonError(0, (err as Error).message, { cause: err });
    }
  }
  return new ExactParser(text).parseDocument();
}

/**
 * Whether `text` has 16 consecutive ASCII digits. Any such run covers exactly
 * one index i with i % 16 === 15, so only those indexes are probed, and a
 * probe that lands on a digit measures the run around it.
 */
export function hasDigitRun16(text: string): boolean {
  const n = text.length;
  for (let i = 15; i < n; i += 16) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) continue;
    let lo = i;
    while (lo > 0 && isDigit(text.charCodeAt(lo - 1))) lo--;
    let hi = i + 1;
    while (hi < n && isDigit(text.charCodeAt(hi))) hi++;
    if (hi - lo >= 16) return true;
  }
  return false;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * Serialises a value to JSON text, writing `bigint`s as exact integer
 * literals. The common case (no bigint) is one plain JSON.stringify call.
 */
export function stringifyJsonExact(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (err) {
    // BigInt is the TypeError we handle; a cycle throws again below.
    if (!(err instanceof TypeError)) throw err;
  }
  // Rare path: write each bigint as a marked string, then unquote it.
  const text = JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'bigint' ? `${BIGINT_MARK}${v.toString()}` : v,
  );
  return text.replace(BIGINT_TOKEN, '$1');
}

// The marker starts with U+0000, which JSON.stringify writes as the escape
// \u0000, and carries a per-process nonce, so no genuine string in a message
// (a name, an external_ids value) can be mistaken for a marked bigint.
const NONCE = Math.random().toString(36).slice(2, 10);
const BIGINT_MARK = `\u0000bigint-${NONCE}:`;
const BIGINT_TOKEN = new RegExp(`"\\\\u0000bigint-${NONCE}:(-?\\d+)"`, 'g');

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

/**
 * A strict RFC 8259 recursive-descent parser, used only on the slow path.
 * Strings with escapes are handed back to JSON.parse (exact and fast); the
 * rest is scanned here with charCodeAt.
 */
class ExactParser {
  private pos = 0;

  constructor(private readonly text: string) {}

  parseDocument(): unknown {
    this.skipSpace();
    const value = this.parseValue(0);
    this.skipSpace();
    if (this.pos !== this.text.length) this.fail('unexpected text after the value');
    return value;
  }

  private parseValue(depth: number): unknown {
    if (depth > 1000) this.fail('nesting deeper than 1000');
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case 0x7b /* { */:
        return this.parseObject(depth);
      case 0x5b /* [ */:
        return this.parseArray(depth);
      case 0x22 /* " */:
        return this.parseString();
      case 0x74 /* t */:
        return this.parseWord('true', true);
      case 0x66 /* f */:
        return this.parseWord('false', false);
      case 0x6e /* n */:
        return this.parseWord('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.parseNumber();
        return this.fail(Number.isNaN(c) ? 'unexpected end of text' : 'unexpected character');
    }
  }

  private parseObject(depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.pos++;
    this.skipSpace();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return out;
    }
    for (;;) {
      if (this.text.charCodeAt(this.pos) !== 0x22) this.fail('expected a member name');
      const key = this.parseString();
      this.skipSpace();
      this.expect(0x3a, "':'");
      this.skipSpace();
      const value = this.parseValue(depth + 1);
      // Same semantics as JSON.parse for "__proto__" and duplicates.
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      this.skipSpace();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 0x7d) return out;
      if (c !== 0x2c) this.fail("expected ',' or '}'", -1);
      this.skipSpace();
    }
  }

  private parseArray(depth: number): unknown[] {
    const out: unknown[] = [];
    this.pos++;
    this.skipSpace();
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.parseValue(depth + 1));
      this.skipSpace();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 0x5d) return out;
      if (c !== 0x2c) this.fail("expected ',' or ']'", -1);
      this.skipSpace();
    }
  }

  private parseString(): string {
    const start = this.pos++;
    const text = this.text;
    let escaped = false;
    for (;;) {
      const c = text.charCodeAt(this.pos++);
      if (c === 0x22) break;
      if (c === 0x5c) {
        escaped = true;
        this.pos++;
      } else if (c < 0x20 || Number.isNaN(c)) {
        this.fail(Number.isNaN(c) ? 'unterminated string' : 'control character in string', -1);
      }
    }
    if (!escaped) return text.slice(start + 1, this.pos - 1);
    try {
      return JSON.parse(text.slice(start, this.pos)) as string;
    } catch (err) {
      return this.fail(`bad escape in string: ${(err as Error).message}`, start - this.pos);
    }
  }

  private parseNumber(): number | bigint {
    const text = this.text;
    const start = this.pos;
    let integral = true;
    if (text.charCodeAt(this.pos) === 0x2d) this.pos++;
    const intStart = this.pos;
    this.skipDigits();
    const intDigits = this.pos - intStart;
    if (intDigits === 0) this.fail('expected a digit');
    if (intDigits > 1 && text.charCodeAt(intStart) === 0x30) this.fail('leading zero', intStart - this.pos);
    if (text.charCodeAt(this.pos) === 0x2e) {
      integral = false;
      this.pos++;
      if (this.skipDigits() === 0) this.fail('expected a digit after the decimal point');
    }
    const e = text.charCodeAt(this.pos);
    if (e === 0x65 || e === 0x45) {
      integral = false;
      this.pos++;
      const sign = text.charCodeAt(this.pos);
      if (sign === 0x2b || sign === 0x2d) this.pos++;
      if (this.skipDigits() === 0) this.fail('expected a digit in the exponent');
    }
    const literal = text.slice(start, this.pos);
    if (integral && intDigits >= 16) {
      const big = BigInt(literal);
      if (big > MAX_SAFE || big < MIN_SAFE) return big;
    }
    return Number(literal);
  }

  private skipDigits(): number {
    const start = this.pos;
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (c < 0x30 || c > 0x39 || Number.isNaN(c)) return this.pos - start;
      this.pos++;
    }
  }

  private parseWord<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail(`expected ${word}`);
    this.pos += word.length;
    return value;
  }

  private skipSpace(): void {
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.pos++;
    }
  }

  private expect(code: number, what: string): void {
    if (this.text.charCodeAt(this.pos) !== code) this.fail(`expected ${what}`);
    this.pos++;
  }

  private fail(detail: string, delta = 0): never {
    throw new OvsdbJsonError(this.pos + delta, detail);
  }
}
