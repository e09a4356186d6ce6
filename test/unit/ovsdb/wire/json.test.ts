import { describe, expect, it } from 'vitest';
import { OvsdbJsonError } from '../../../../src/ovsdb/errors.js';
import { hasDigitRun16, parseJsonExact, stringifyJsonExact } from '../../../../src/ovsdb/wire/json.js';

describe('parseJsonExact', () => {
  it('matches JSON.parse on ordinary text (fast path)', () => {
    const text =
      '{"id":1,"method":"update2","params":[null,{"T":{"u":{"modify":{"n":["set",[1,2.5,-3e2]]}}}}]}';
    expect(parseJsonExact(text)).toEqual(JSON.parse(text));
  });

  it('keeps integers beyond 2^53 exact, as bigint', () => {
    const v = parseJsonExact(
      '{"a":18446744073709551615,"b":[-9223372036854775808],"c":9007199254740993}',
    ) as {
      a: bigint;
      b: bigint[];
      c: bigint;
    };
    expect(v.a).toBe(18446744073709551615n);
    expect(v.b[0]).toBe(-9223372036854775808n);
    expect(v.c).toBe(9007199254740993n); // JSON.parse would give ...992
  });

  it('gives numbers for safe 16-digit integers, reals and digit runs inside strings', () => {
    const v = parseJsonExact(
      '{"safe":9007199254740991,"neg":-1234567890123456,"real":1234567890123456789.5,"e":12345678901234567e0,"s":"12345678901234567890","t":true,"f":false,"n":null}',
    );
    expect(v).toEqual({
      safe: 9007199254740991,
      neg: -1234567890123456,
      real: Number('1234567890123456789.5'), // a real: rounded, as the server does
      e: Number('12345678901234567e0'),
      s: '12345678901234567890',
      t: true,
      f: false,
      n: null,
    });
  });

  it('agrees with JSON.parse on the slow path for strings with escapes, nesting and whitespace', () => {
    const text =
      ' { "k\\"ey" : [ "a\\\\b" , "\\u00e9\\n" , { } , [ ] , "ünï", 0, -0.5, 1E+3 ] , "big" : 12345678901234567890 } ';
    const v = parseJsonExact(text) as Record<string, unknown>;
    expect(v.big).toBe(12345678901234567890n);
    delete v.big;
    const expected = JSON.parse(text) as Record<string, unknown>;
    delete expected.big;
    expect(v).toEqual(expected);
  });

  it('treats "__proto__" as a plain member, as JSON.parse does', () => {
    const v = parseJsonExact('{"__proto__":{"x":1},"n":12345678901234567890}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__', 'n']);
  });

  const bad = [
    '{"a":1,}',
    '[1 2]',
    '{"a" 1}',
    '"unterminated',
    '01',
    '-',
    '1.',
    '1e',
    'tru',
    '[1]x',
    '"tab\there"',
    '"\\x"',
    '',
  ];
  for (const text of bad) {
    it(`rejects ${JSON.stringify(text)} on both paths with OVSDB_BAD_JSON`, () => {
      for (const t of [text, `[12345678901234567890,${text}]`]) {
        let err: unknown;
        try {
          parseJsonExact(t);
        } catch (e) {
          err = e;
        }
        expect(err, t).toBeInstanceOf(OvsdbJsonError);
        expect((err as OvsdbJsonError).code).toBe('OVSDB_BAD_JSON');
        expect(() => JSON.parse(t)).toThrow(); // and JSON.parse agrees it is invalid
      }
    });
  }

  it('parses a 20,000-row update exactly on both paths: one 2^64-1 integer among them stays a bigint', () => {
    const rows: Record<string, unknown> = {};
    for (let i = 0; i < 20_000; i++)
      rows[`${i.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`] = {
        initial: {
          logical_port: `port-${i}`,
          tunnel_key: i + 1,
          mac: ['set', [`fa:16:3e:00:00:01 10.0.0.${i % 250}`]],
          external_ids: [
            'map',
            [
              ['neutron:device_id', `dev-${i}`],
              ['neutron:cidrs', '10.0.0.5/24'],
            ],
          ],
        },
      };
    const text = JSON.stringify({ id: null, method: 'update2', params: [null, { Port_Binding: rows }] });
    const withBig = text.replace('"tunnel_key":1,', '"tunnel_key":18446744073709551615,');
    type Update = { params: [null, { Port_Binding: Record<string, { initial: { tunnel_key: unknown } }> }] };
    const rowsOf = (t: string) => (parseJsonExact(t) as Update).params[1].Port_Binding;
    const first = '00000000-0000-4000-8000-000000000000';
    const last = `${(19_999).toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`;
    expect(rowsOf(text)).toEqual(JSON.parse(text).params[1].Port_Binding);
    const big = rowsOf(withBig);
    expect(Object.keys(big)).toHaveLength(20_000);
    expect(big[first]!.initial.tunnel_key).toBe(18446744073709551615n);
    expect(big[last]!.initial.tunnel_key).toBe(20_000);
  });
});

describe('hasDigitRun16', () => {
  it('finds a run of 16 digits at every offset and alignment, and nothing shorter', () => {
    for (let pad = 0; pad < 40; pad++) {
      for (const len of [15, 16, 17, 30]) {
        const text = `${'x'.repeat(pad)}${'7'.repeat(len)}${'y'.repeat(pad % 5)}`;
        expect(hasDigitRun16(text), `pad ${pad} len ${len}`).toBe(len >= 16);
      }
    }
    expect(hasDigitRun16('123456789012345a1234567890')).toBe(false);
    expect(hasDigitRun16('')).toBe(false);
  });
});

describe('stringifyJsonExact', () => {
  it('is JSON.stringify when there is no bigint', () => {
    const v = { a: [1, 'x', { b: null }], s: 'bigint:1' };
    expect(stringifyJsonExact(v)).toBe(JSON.stringify(v));
  });

  it('writes bigints as exact integer literals that parse back exactly', () => {
    const v = {
      op: 'mutate',
      mutations: [['n', '+=', 18446744073709551615n]],
      neg: -9223372036854775808n,
      s: 'x',
    };
    const text = stringifyJsonExact(v);
    expect(text).toBe(
      '{"op":"mutate","mutations":[["n","+=",18446744073709551615]],"neg":-9223372036854775808,"s":"x"}',
    );
    expect(parseJsonExact(text)).toEqual(v);
  });

  it('leaves look-alike strings alone', () => {
    const v = { a: 1n, s: '\u0000bigint:5', t: '\\u0000bigint:5' };
    expect(parseJsonExact(stringifyJsonExact(v))).toEqual({
      a: 1,
      s: '\u0000bigint:5',
      t: '\\u0000bigint:5',
    });
  });

  it('still throws on cycles', () => {
    const v: Record<string, unknown> = {};
    v.self = v;
    expect(() => stringifyJsonExact(v)).toThrow(TypeError);
  });
});
