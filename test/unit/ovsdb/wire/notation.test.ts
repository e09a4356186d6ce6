import { describe, expect, it } from 'vitest';
import { sbSchema } from '../../schemas.js';
import { OvsdbConditionError, OvsdbDecodeError } from '../../../../src/ovsdb/errors.js';
import {
  ALL_ROWS,
  condition,
  eq,
  excludes,
  includes,
  map,
  mutation,
  namedUuid,
  op,
  set,
  uuid,
  validateConditions,
  type ConditionFunction,
  type WireCondition,
} from '../../../../src/ovsdb/wire/index.js';

const U = '6a0f8a4e-4f3b-4c4e-9e0f-1d2c3b4a5f60';

describe('notation helpers (RFC 7047 §5.1)', () => {
  it('build the wire forms', () => {
    expect(uuid(U)).toEqual(['uuid', U]);
    expect(namedUuid('row1')).toEqual(['named-uuid', 'row1']);
    expect(set(['a', 1, true])).toEqual(['set', ['a', 1, true]]);
    expect(set(new Set(['x']))).toEqual(['set', ['x']]);
    expect(set([])).toEqual(['set', []]);
    const pairs = [['k', 'v']] as const;
    expect(map(pairs)).toEqual(['map', [['k', 'v']]]);
    expect(map(new Map([['k', uuid(U)]]))).toEqual(['map', [['k', ['uuid', U]]]]);
    expect(map({ 'neutron:cidrs': '10.0.0.5/24', a: 'b' })).toEqual([
      'map',
      [
        ['neutron:cidrs', '10.0.0.5/24'],
        ['a', 'b'],
      ],
    ]);
  });

  it('reject malformed uuids and uuid-names', () => {
    expect(() => uuid('6a0f8a4e')).toThrow(OvsdbDecodeError);
    expect(() => namedUuid('1abc')).toThrow(/not an <id>/);
  });
});

describe('operations (RFC 7047 §5.2)', () => {
  it('builders give the RFC shapes', () => {
    const where: WireCondition[] = [eq('name', 'br-int')];
    expect(op.insert('Port', { name: 'tap1' }, 'p')).toEqual({
      op: 'insert',
      table: 'Port',
      row: { name: 'tap1' },
      'uuid-name': 'p',
    });
    expect(op.insert('Port', { name: 'tap1' })).toEqual({
      op: 'insert',
      table: 'Port',
      row: { name: 'tap1' },
    });
    expect(op.select('Bridge', where, ['ports'])).toEqual({
      op: 'select',
      table: 'Bridge',
      where: [['name', '==', 'br-int']],
      columns: ['ports'],
    });
    expect(op.update('Bridge', where, { fail_mode: 'secure' })).toEqual({
      op: 'update',
      table: 'Bridge',
      where,
      row: { fail_mode: 'secure' },
    });
    expect(op.mutate('Bridge', where, [mutation('ports', 'insert', set([namedUuid('p')]))])).toEqual({
      op: 'mutate',
      table: 'Bridge',
      where,
      mutations: [['ports', 'insert', ['set', [['named-uuid', 'p']]]]],
    });
    expect(op.delete('Port', where)).toEqual({ op: 'delete', table: 'Port', where });
    expect(op.wait('Bridge', where, { columns: ['ports'], rows: [{ ports: set([]) }], timeout: 0 })).toEqual({
      op: 'wait',
      table: 'Bridge',
      where,
      columns: ['ports'],
      until: '==',
      rows: [{ ports: ['set', []] }],
      timeout: 0,
    });
    expect(op.commit(true)).toEqual({ op: 'commit', durable: true });
    expect(op.abort()).toEqual({ op: 'abort' });
    expect(op.comment('ovnmeta: add tap1')).toEqual({ op: 'comment', comment: 'ovnmeta: add tap1' });
    expect(op.assert('lock1')).toEqual({ op: 'assert', lock: 'lock1' });
  });

  it('rejects bad uuid-names and mutators', () => {
    expect(() => op.insert('Port', {}, 'bad-name')).toThrow(OvsdbDecodeError);
    expect(() => mutation('ports', '^=' as never, 1)).toThrow(/unknown mutator/);
  });
});

describe('conditions (RFC 7047 §5.1)', () => {
  const sb = sbSchema();

  it('accepts valid conditions for each column kind', () => {
    const ok: WireCondition[] = [
      ALL_ROWS,
      false,
      eq('chassis', uuid(U)),
      eq('chassis', set([])),
      ['tunnel_key', '<=', 100],
      ['tunnel_key', '>', 1],
      includes('mac', 'fa:16:3e:00:00:01 10.0.0.5'),
      includes('external_ids', map({ 'neutron:device_owner': 'network:distributed' })),
      excludes('additional_chassis', set([uuid(U)])),
      eq('_uuid', namedUuid('pb')),
      condition('logical_port', '!=', 'x'),
    ];
    expect(() => validateConditions(sb, 'Port_Binding', ok)).not.toThrow();
  });

  const bad: [string, WireCondition, string, RegExp][] = [
    ['unknown column', eq('nope', 'x'), 'OVSDB_UNKNOWN_COLUMN', /Port_Binding\.nope/],
    ['ordering on a string', ['logical_port', '<', 'x'], 'OVSDB_BAD_CONDITION', /only to scalar integer/],
    ['ordering on an optional integer', ['tag', '<', 5], 'OVSDB_BAD_CONDITION', /only to scalar integer/],
    [
      'unknown function',
      ['tunnel_key', '=~' as ConditionFunction, 1],
      'OVSDB_BAD_CONDITION',
      /unknown function/,
    ],
    [
      'wrong atom type',
      eq('tunnel_key', 'one'),
      'OVSDB_BAD_CONDITION',
      /Port_Binding\.tunnel_key.*not a integer/,
    ],
    ['bare string for a uuid', eq('chassis', U), 'OVSDB_BAD_CONDITION', /not a uuid/],
    ['set for a map column', includes('external_ids', set(['a'])), 'OVSDB_BAD_CONDITION', /must be a map/],
    ['not a triple', ['mac', '=='] as unknown as WireCondition, 'OVSDB_BAD_CONDITION', /not \[column/],
  ];
  for (const [what, cond, code, message] of bad) {
    it(`rejects ${what} with ${code}`, () => {
      try {
        validateConditions(sb, 'Port_Binding', [cond]);
        expect.unreachable();
      } catch (err) {
        expect((err as { code: string }).code).toBe(code);
        expect((err as Error).message).toMatch(message);
      }
    });
  }

  it('rejects an unknown table and an unknown function in condition()', () => {
    expect(() => validateConditions(sb, 'Nope', [])).toThrow(/table Nope/);
    expect(() => condition('a', 'like' as ConditionFunction, 1)).toThrow(OvsdbConditionError);
  });
});
