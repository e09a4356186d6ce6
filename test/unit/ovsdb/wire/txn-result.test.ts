import { describe, expect, it } from 'vitest';
import { OvsdbBadReplyError, OvsdbTransactionError } from '../../../../src/ovsdb/errors.js';
import {
  eq,
  namedUuid,
  op,
  pairTransactResult,
  set,
  type WireOperation,
} from '../../../../src/ovsdb/wire/index.js';

const U = '6a0f8a4e-4f3b-4c4e-9e0f-1d2c3b4a5f60';
const ops: WireOperation[] = [
  op.wait('Bridge', [eq('name', 'br-int')], { columns: ['ports'], rows: [{ ports: set([]) }], timeout: 0 }),
  op.insert('Port', { name: 'tap1', interfaces: namedUuid('i') }, 'p'),
  op.mutate('Bridge', [eq('name', 'br-int')], [['ports', 'insert', set([namedUuid('p')])]]),
  op.select('Port', [eq('name', 'tap1')], ['name']),
];

function failureOf(reply: unknown): OvsdbTransactionError {
  try {
    pairTransactResult(ops, reply);
  } catch (err) {
    expect(err).toBeInstanceOf(OvsdbTransactionError);
    return err as OvsdbTransactionError;
  }
  return expect.unreachable();
}

describe('pairTransactResult (RFC 7047 §4.1.3)', () => {
  it('returns per-operation results on success', () => {
    const results = pairTransactResult(ops, [
      {},
      { uuid: ['uuid', U] },
      { count: 1 },
      { rows: [{ name: 'tap1' }] },
    ]);
    expect(results).toEqual([{}, { uuid: U }, { count: 1 }, { rows: [{ name: 'tap1' }] }]);
  });

  it('reports a constraint violation on one operation, later ones not attempted', () => {
    const err = failureOf([{}, { error: 'constraint violation', details: 'tap1 duplicates' }, null, null]);
    expect(err.code).toBe('OVSDB_TXN_FAILED');
    expect(err.retryable).toBe(false);
    expect(err.failures).toEqual([
      { index: 1, error: 'constraint violation', details: 'tap1 duplicates', op: ops[1] },
    ]);
    expect(err.message).toBe(
      'transaction failed: op 1 (insert Port): constraint violation (tap1 duplicates)',
    );
  });

  it('marks a timed-out wait retryable', () => {
    const err = failureOf([{ error: 'timed out', details: '"wait" timed out' }, null, null, null]);
    expect(err.retryable).toBe(true);
    expect(err.failures[0]).toMatchObject({
      index: 0,
      error: 'timed out',
      op: { op: 'wait', table: 'Bridge' },
    });
  });

  it('reads the extra trailing element as the commit error after all operations succeeded', () => {
    const err = failureOf([
      {},
      { uuid: ['uuid', U] },
      { count: 1 },
      { rows: [] },
      {
        error: 'referential integrity violation',
        details: 'Port row tap1 references a missing Interface row',
      },
    ]);
    expect(err.failures).toEqual([
      {
        index: 4,
        error: 'referential integrity violation',
        details: 'Port row tap1 references a missing Interface row',
        op: undefined,
      },
    ]);
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/^transaction failed: commit: referential integrity violation/);
  });

  it('reports "not owner" from an assert', () => {
    const assertOps = [op.assert('ovnmeta'), op.comment('x')];
    try {
      pairTransactResult(assertOps, [{ error: 'not owner', details: 'lock ovnmeta' }, null]);
      expect.unreachable();
    } catch (err) {
      expect((err as OvsdbTransactionError).failures[0]).toMatchObject({ index: 0, error: 'not owner' });
      expect((err as OvsdbTransactionError).retryable).toBe(false);
    }
  });

  it('accepts a short reply that stops at the failing operation', () => {
    const err = failureOf([{}, { error: 'resources exhausted' }]);
    expect(err.failures).toEqual([
      { index: 1, error: 'resources exhausted', details: undefined, op: ops[1] },
    ]);
  });

  const malformed: [string, unknown, RegExp][] = [
    ['not an array', { error: 'x' }, /not an array/],
    ['too many elements', [{}, {}, {}, {}, {}, {}], /6 results for 4 operations/],
    ['null with no failure before', [{}, null, {}, {}], /operation 1 has no result/],
    ['short with no failure', [{}, {}], /operation 2 has no result/],
    ['trailing element that is not an error', [{}, {}, {}, {}, {}], /extra trailing result/],
    ['bad uuid', [{}, { uuid: 'x' }, {}, {}], /result 1 has a malformed uuid/],
    ['bad count', [{}, {}, { count: 'x' }, {}], /malformed count/],
    ['array element', [[], {}, {}, {}], /result 0 is not an object/],
  ];
  for (const [what, reply, message] of malformed) {
    it(`rejects a reply with ${what} as OVSDB_BAD_REPLY`, () => {
      expect(() => pairTransactResult(ops, reply)).toThrow(OvsdbBadReplyError);
      expect(() => pairTransactResult(ops, reply)).toThrow(message);
    });
  }
});
