import { describe, expect, it } from 'vitest';
import { OvsdbDecodeError } from '../../../../src/ovsdb/errors.js';
import {
  columnCodec,
  decodeValue,
  defaultValue,
  EMPTY_MAP,
  EMPTY_SET,
  encodeValue,
  valuesEqual,
  type RowValue,
} from '../../../../src/ovsdb/wire/datum.js';
import { parseJsonExact } from '../../../../src/ovsdb/wire/json.js';
import { parseColumnType, type ColumnType } from '../../../../src/ovsdb/wire/schema.js';

const U1 = '6a0f8a4e-4f3b-4c4e-9e0f-1d2c3b4a5f60';
const U2 = 'f0e1d2c3-b4a5-4968-8776-655443322110';
const type = (json: unknown): ColumnType => parseColumnType(json, 'T.c');

// [description, column type, wire JSON text, row value, canonical wire form]
const cases: [string, unknown, string, RowValue, unknown][] = [
  ['integer scalar', 'integer', '42', 42, 42],
  ['negative integer', 'integer', '-7', -7, -7],
  [
    'integer beyond 2^53 stays exact',
    'integer',
    '18446744073709551615',
    18446744073709551615n,
    18446744073709551615n,
  ],
  ['negative big integer', 'integer', '-9223372036854775808', -9223372036854775808n, -9223372036854775808n],
  ['16-digit safe integer is a number', 'integer', '1234567890123456', 1234567890123456, 1234567890123456],
  ['real', 'real', '1.5', 1.5, 1.5],
  ['real given as an integer literal', 'real', '3', 3, 3],
  ['boolean', 'boolean', 'true', true, true],
  ['string', 'string', '"br-int"', 'br-int', 'br-int'],
  ['empty string', 'string', '""', '', ''],
  ['uuid', 'uuid', `["uuid","${U1}"]`, U1, ['uuid', U1]],
  ['scalar sent as one-element set', 'string', '["set",["x"]]', 'x', 'x'],
  ['optional present (bare atom)', { key: 'integer', min: 0 }, '5', 5, 5],
  ['optional present (set form)', { key: 'integer', min: 0 }, '["set",[5]]', 5, 5],
  ['optional empty', { key: 'integer', min: 0 }, '["set",[]]', undefined, ['set', []]],
  ['optional uuid', { key: 'uuid', min: 0 }, `["uuid","${U2}"]`, U2, ['uuid', U2]],
  ['set', { key: 'string', min: 0, max: 'unlimited' }, '["set",["a","b"]]', ['a', 'b'], ['set', ['a', 'b']]],
  ['set of one as bare atom', { key: 'string', min: 0, max: 'unlimited' }, '"a"', ['a'], ['set', ['a']]],
  ['empty set', { key: 'string', min: 0, max: 'unlimited' }, '["set",[]]', [], ['set', []]],
  [
    'set of uuids',
    { key: 'uuid', min: 0, max: 'unlimited' },
    `["set",[["uuid","${U1}"],["uuid","${U2}"]]]`,
    [U1, U2],
    [
      'set',
      [
        ['uuid', U1],
        ['uuid', U2],
      ],
    ],
  ],
  [
    'map',
    { key: 'string', value: 'string', min: 0, max: 'unlimited' },
    '["map",[["a","1"],["b","2"]]]',
    new Map([
      ['a', '1'],
      ['b', '2'],
    ]),
    [
      'map',
      [
        ['a', '1'],
        ['b', '2'],
      ],
    ],
  ],
  [
    'map of integers to uuids',
    { key: 'integer', value: 'uuid', min: 0, max: 'unlimited' },
    `["map",[[1,["uuid","${U1}"]]]]`,
    new Map([[1, U1]]),
    ['map', [[1, ['uuid', U1]]]],
  ],
  [
    'empty map',
    { key: 'string', value: 'string', min: 0, max: 'unlimited' },
    '["map",[]]',
    new Map(),
    ['map', []],
  ],
];

describe('datum round trips (RFC 7047 §5.1)', () => {
  for (const [what, t, text, value, wire] of cases) {
    it(what, () => {
      const decoded = decodeValue(parseJsonExact(text), type(t), 'T.c');
      expect(decoded).toEqual(value);
      const encoded = encodeValue(decoded, type(t));
      expect(encoded).toEqual(wire);
      // And the canonical form decodes to the same value again.
      expect(valuesEqual(decodeValue(encoded, type(t), 'T.c'), decoded)).toBe(true);
    });
  }

  it('shares the frozen empty set and map', () => {
    expect(decodeValue(['set', []], type({ key: 'string', min: 0, max: 'unlimited' }), 'T.c')).toBe(
      EMPTY_SET,
    );
    const m = decodeValue(
      ['map', []],
      type({ key: 'string', value: 'string', min: 0, max: 'unlimited' }),
      'T.c',
    );
    expect(m).toBe(EMPTY_MAP);
    expect(() => (m as Map<string, string>).set('x', 'y')).toThrow(TypeError);
  });
});

describe('datum decoding rejects nonsense with OVSDB_BAD_DATUM naming the column', () => {
  const bad: [string, unknown, unknown, RegExp][] = [
    ['string for integer', 'integer', '1', /expected an integer, got "1"/],
    ['fraction for integer', 'integer', 1.5, /expected an integer/],
    ['number for string', 'string', 1, /expected a string/],
    ['bad uuid', 'uuid', ['uuid', 'nope'], /expected a uuid/],
    ['named-uuid in a row', 'uuid', ['named-uuid', 'x'], /expected a uuid/],
    ['two elements for a scalar', 'string', ['set', ['a', 'b']], /exactly one element, got 2/],
    ['empty set for a scalar', 'string', ['set', []], /exactly one element, got 0/],
    ['two elements for an optional', { key: 'string', min: 0 }, ['set', ['a', 'b']], /at most one element/],
    [
      'too many for max',
      { key: 'string', min: 0, max: 2 },
      ['set', ['a', 'b', 'c']],
      /3 elements, outside min 0 max 2/,
    ],
    ['empty for min 1 set', { key: 'string', min: 1, max: 3 }, ['set', []], /0 elements/],
    ['malformed set', { key: 'string', min: 0, max: 3 }, ['set', 'a'], /\["set", \[atoms\]\]/],
    ['set for a map', { key: 'string', value: 'string', min: 0, max: 'unlimited' }, ['set', []], /a map/],
    ['bad pair', { key: 'string', value: 'string', min: 0, max: 'unlimited' }, ['map', [['a']]], /pair/],
    [
      'bad map value',
      { key: 'string', value: 'integer', min: 0, max: 'unlimited' },
      ['map', [['a', 'b']]],
      /integer/,
    ],
    [
      'duplicate map key',
      { key: 'string', value: 'string', min: 0, max: 'unlimited' },
      [
        'map',
        [
          ['a', '1'],
          ['a', '2'],
        ],
      ],
      /duplicate key/,
    ],
    ['missing value', 'string', undefined, /got nothing/],
  ];
  for (const [what, t, wire, message] of bad) {
    it(what, () => {
      try {
        decodeValue(wire, type(t), 'Port_Binding.mac');
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(OvsdbDecodeError);
        expect((err as OvsdbDecodeError).code).toBe('OVSDB_BAD_DATUM');
        expect((err as Error).message).toMatch(/^Port_Binding\.mac: /);
        expect((err as Error).message).toMatch(message);
      }
    });
  }

  it('encodeValue rejects a value of the wrong shape', () => {
    expect(() => encodeValue('x', type('integer'), 'T.c')).toThrow(/T\.c: expected a integer/);
    expect(() => encodeValue('not-a-uuid', type('uuid'))).toThrow(OvsdbDecodeError);
    expect(() => encodeValue('a', type({ key: 'string', min: 0, max: 'unlimited' }))).toThrow(/array/);
    expect(() => encodeValue([], type({ key: 'string', value: 'string', min: 0, max: 3 }))).toThrow(/Map/);
  });
});

describe('column codecs', () => {
  it('decodes update2 diffs without cardinality checks', () => {
    const c = columnCodec('T', 'c', type({ key: 'string', min: 1, max: 2 }));
    expect(c.kind).toBe('set');
    expect(c.decodeDiff(['set', ['a', 'b', 'c']])).toEqual(['a', 'b', 'c']);
    expect(() => c.decode(['set', ['a', 'b', 'c']])).toThrow(/3 elements/);
  });

  it('knows each kind and its default (RFC 7047 §5.2.1)', () => {
    const kinds = [
      ['integer', 'scalar', 0],
      ['uuid', 'scalar', '00000000-0000-0000-0000-000000000000'],
      [{ key: 'boolean', min: 0 }, 'optional', undefined],
      [{ key: 'string', min: 0, max: 'unlimited' }, 'set', []],
      [{ key: 'string', min: 1, max: 'unlimited' }, 'set', ['']],
      [{ key: 'string', value: 'integer', min: 0, max: 'unlimited' }, 'map', new Map()],
      [{ key: 'string', value: 'integer', min: 1, max: 'unlimited' }, 'map', new Map([['', 0]])],
    ] as const;
    for (const [t, kind, dflt] of kinds) {
      const c = columnCodec('T', 'c', type(t));
      expect(c.kind).toBe(kind);
      expect(c.defaultValue).toEqual(dflt);
      expect(defaultValue(type(t))).toEqual(dflt);
    }
  });
});

describe('valuesEqual', () => {
  it('compares sets regardless of order and maps by entries', () => {
    expect(valuesEqual(['a', 'b'], ['b', 'a'])).toBe(true);
    expect(valuesEqual(['a', 'b'], ['a', 'c'])).toBe(false);
    const big = Array.from({ length: 20 }, (_, i) => `x${i}`);
    expect(valuesEqual(big, [...big].reverse())).toBe(true);
    expect(valuesEqual(big, [...big.slice(1), 'y'])).toBe(false);
    expect(valuesEqual(new Map([['a', 1]]), new Map([['a', 1]]))).toBe(true);
    expect(valuesEqual(new Map([['a', 1]]), new Map([['a', 2]]))).toBe(false);
    expect(valuesEqual(new Map([['a', 1]]), new Map([['b', 1]]))).toBe(false);
    expect(valuesEqual(2n ** 64n, 2n ** 64n)).toBe(true);
    expect(valuesEqual(undefined, '')).toBe(false);
    expect(valuesEqual([], new Map())).toBe(false);
  });
});
