import { describe, expect, it } from 'vitest';
import { applyTableUpdates, planTables, type Row } from '../../../../src/ovsdb/replica/index.js';
import { N1, N2, P1, P2, P3, schema } from './fixtures.js';

const plans = planTables(schema, ['Port', 'Net']);

/** Rows as a Replica would hold them, from update2 `initial` content. */
function rowsOf(initial: Record<string, Record<string, unknown>>): Map<string, Row> {
  const updates = {
    Port: Object.fromEntries(Object.entries(initial).map(([u, row]) => [u, { initial: row }])),
  };
  const r = applyTableUpdates(2, updates, plans, () => undefined);
  expect(r.problems).toEqual([]);
  return new Map(r.events.map((e) => [e.uuid, e.new!]));
}

const base = {
  name: 'p1',
  tag: 10,
  macs: ['set', ['a', 'b']],
  ids: [
    'map',
    [
      ['k1', 'v1'],
      ['k2', 'v2'],
    ],
  ],
  up: true,
  net: ['uuid', N1],
};

describe('update2 initial/insert (ovsdb-server(7) §4.1.14)', () => {
  it('decodes rows and fills the columns omitted as defaults', () => {
    const r = applyTableUpdates(
      2,
      { Port: { [P1]: { initial: base }, [P2]: { insert: { name: 'p2' } } } },
      plans,
      () => undefined,
    );
    expect(r.problems).toEqual([]);
    expect(r.events.map((e) => [e.type, e.uuid])).toEqual([
      ['insert', P1],
      ['insert', P2],
    ]);
    expect(r.events[0]!.new).toEqual({
      _uuid: P1,
      _version: '00000000-0000-0000-0000-000000000000',
      name: 'p1',
      tag: 10,
      macs: ['a', 'b'],
      ids: new Map([
        ['k1', 'v1'],
        ['k2', 'v2'],
      ]),
      up: true,
      net: N1,
      counter: 0,
    });
    expect(r.events[1]!.new).toEqual({
      _uuid: P2,
      _version: '00000000-0000-0000-0000-000000000000',
      name: 'p2',
      tag: undefined,
      macs: [],
      ids: new Map(),
      up: undefined,
      net: '00000000-0000-0000-0000-000000000000',
      counter: 0,
    });
    expect(r.previous).toEqual([undefined, undefined]);
  });

  it('keeps 64-bit integers exact', () => {
    const r = applyTableUpdates(
      2,
      { Port: { [P1]: { insert: { counter: 2n ** 63n - 1n } } } },
      plans,
      () => undefined,
    );
    expect(r.events[0]!.new!.counter).toBe(9223372036854775807n);
  });
});

describe('update2 modify: the difference rules', () => {
  const current = rowsOf({ [P1]: base });
  const prev = current.get(P1)!;
  const modify = (diff: Record<string, unknown>) =>
    applyTableUpdates(2, { Port: { [P1]: { modify: diff } } }, plans, (t) =>
      t === 'Port' ? current : undefined,
    );

  it('toggles set elements: present ones leave, absent ones join', () => {
    const r = modify({ macs: ['set', ['b', 'c']] });
    expect(r.events).toHaveLength(1);
    const ev = r.events[0]!;
    expect(ev.type).toBe('update');
    expect(ev.new!.macs).toEqual(['a', 'c']);
    expect(ev.old).toEqual({ _uuid: P1, macs: ['a', 'b'] });
    expect(r.previous[0]).toBe(prev);
  });

  it('accepts a one-element set difference as the bare atom', () => {
    expect(modify({ macs: 'a' }).events[0]!.new!.macs).toEqual(['b']);
  });

  it('empties a set when every element is toggled off', () => {
    expect(modify({ macs: ['set', ['a', 'b']] }).events[0]!.new!.macs).toEqual([]);
  });

  it('adds, removes and changes map keys', () => {
    // k1 present with the same value: removed; k2 present, other value: changed; k3 absent: added.
    const r = modify({
      ids: [
        'map',
        [
          ['k1', 'v1'],
          ['k2', 'v2b'],
          ['k3', 'v3'],
        ],
      ],
    });
    const ev = r.events[0]!;
    expect(ev.new!.ids).toEqual(
      new Map([
        ['k2', 'v2b'],
        ['k3', 'v3'],
      ]),
    );
    expect(ev.old).toEqual({
      _uuid: P1,
      ids: new Map([
        ['k1', 'v1'],
        ['k2', 'v2'],
      ]),
    });
  });

  it('replaces scalars and optional values, and sets optionals to empty', () => {
    const r = modify({ name: 'renamed', tag: ['set', []], up: false, net: ['uuid', N2] });
    const ev = r.events[0]!;
    expect(ev.new).toMatchObject({ name: 'renamed', tag: undefined, up: false, net: N2, macs: ['a', 'b'] });
    expect(ev.old).toEqual({ _uuid: P1, name: 'p1', tag: 10, up: true, net: N1 });
  });

  it('sets an empty optional from an update (one-element set form)', () => {
    const cur2 = rowsOf({ [P2]: { name: 'p2' } });
    const r = applyTableUpdates(2, { Port: { [P2]: { modify: { tag: ['set', [7]] } } } }, plans, () => cur2);
    expect(r.events[0]!.new!.tag).toBe(7);
    expect(r.events[0]!.old).toEqual({ _uuid: P2, tag: undefined });
  });

  it('reports nothing when the difference changes nothing', () => {
    const r = modify({ name: 'p1', macs: ['set', []] });
    expect(r.events).toEqual([]);
    expect(r.problems).toEqual([]);
  });

  it('never mutates the rows it reads', () => {
    const snapshot = JSON.stringify([...current.values()], (_k, v: unknown) =>
      v instanceof Map ? [...v] : v,
    );
    modify({ macs: ['set', ['z']], ids: ['map', [['k1', 'x']]], name: 'n' });
    expect(JSON.stringify([...current.values()], (_k, v: unknown) => (v instanceof Map ? [...v] : v))).toBe(
      snapshot,
    );
    expect(current.get(P1)).toBe(prev);
  });

  it('deletes with the whole old row', () => {
    const r = applyTableUpdates(2, { Port: { [P1]: { delete: null } } }, plans, () => current);
    expect(r.events).toEqual([{ table: 'Port', type: 'delete', uuid: P1, old: prev }]);
    expect(r.previous).toEqual([prev]);
  });

  it('reports an insert of a row already held as an update of what differs', () => {
    const r = applyTableUpdates(
      2,
      { Port: { [P1]: { insert: { ...base, name: 'again' } } } },
      plans,
      () => current,
    );
    expect(r.events).toHaveLength(1);
    expect(r.events[0]!.type).toBe('update');
    expect(r.events[0]!.old).toEqual({ _uuid: P1, name: 'p1' });
    const same = applyTableUpdates(2, { Port: { [P1]: { initial: base } } }, plans, () => current);
    expect(same.events).toEqual([]);
  });
});

describe('update (RFC 7047 §4.1.6)', () => {
  const current = rowsOf({ [P1]: base });

  it('applies new-only as insert, old+new as modify, old-only as delete', () => {
    const r = applyTableUpdates(
      1,
      {
        Port: {
          [P2]: { new: { name: 'p2', macs: 'm' } },
          // "new" carries every column; "old" only the changed one.
          [P1]: { old: { name: 'p1' }, new: { ...base, name: 'p1b' } },
        },
        Net: {},
      },
      plans,
      (t) => (t === 'Port' ? current : undefined),
    );
    expect(r.problems).toEqual([]);
    expect(r.events.map((e) => e.type)).toEqual(['insert', 'update']);
    expect(r.events[0]!.new).toMatchObject({ name: 'p2', macs: ['m'] });
    expect(r.events[1]!.old).toEqual({ _uuid: P1, name: 'p1' });
    expect(r.events[1]!.new).toMatchObject({
      name: 'p1b',
      macs: ['a', 'b'],
      ids: new Map([
        ['k1', 'v1'],
        ['k2', 'v2'],
      ]),
    });

    const d = applyTableUpdates(1, { Port: { [P1]: { old: base } } }, plans, () => current);
    expect(d.events).toEqual([{ table: 'Port', type: 'delete', uuid: P1, old: current.get(P1) }]);
  });
});

describe('malformed updates become coded problems; the other rows still apply', () => {
  const current = rowsOf({ [P1]: base });
  const rows = (t: string) => (t === 'Port' ? current : undefined);

  it('reports each defect with its code and keeps the good rows', () => {
    const r = applyTableUpdates(
      2,
      {
        Nope: { [P1]: { insert: {} } },
        Port: {
          'not-a-uuid': { insert: { name: 'x' } },
          [P2]: { insert: { name: 5 } },
          [P3]: { insert: { name: 'good', tag: ['set', [1]] } },
          [N1]: { modify: { name: 'ghost' } },
          [N2]: { delete: null },
          ['33333333-3333-4333-8333-333333333333']: { insert: {}, delete: null },
          ['44444444-4444-4444-8444-444444444444']: { upsert: {} },
          ['55555555-5555-4555-8555-555555555555']: 'insert',
          ['66666666-6666-4666-8666-666666666666']: { insert: { name: 'extra', nope: 1 } },
          [P1]: { modify: { macs: ['map', []] } },
        },
        Net: [],
      },
      plans,
      rows,
    );
    expect(r.problems.map((p) => [p.code, p.message])).toEqual([
      ['OVSDB_UNKNOWN_TABLE', 'table Nope is not in the monitored tables'],
      ['OVSDB_BAD_ROW_UPDATE', 'row update Port not-a-uuid: the row key is not a UUID'],
      ['OVSDB_BAD_DATUM', 'Port.name: expected a string, got 5'],
      ['OVSDB_UNKNOWN_ROW', `cannot modify row Port ${N1}: not in the replica`],
      ['OVSDB_UNKNOWN_ROW', `cannot delete row Port ${N2}: not in the replica`],
      [
        'OVSDB_BAD_ROW_UPDATE',
        'row update Port 33333333-3333-4333-8333-333333333333: 2 members, expected exactly one',
      ],
      [
        'OVSDB_BAD_ROW_UPDATE',
        'row update Port 44444444-4444-4444-8444-444444444444: unknown member "upsert"',
      ],
      [
        'OVSDB_BAD_ROW_UPDATE',
        'row update Port 55555555-5555-4555-8555-555555555555: row update is not a JSON object',
      ],
      ['OVSDB_UNKNOWN_COLUMN', 'column Port.nope is not in the monitored columns'],
      ['OVSDB_BAD_DATUM', expect.stringMatching(/^Port\.macs: expected /)],
      ['OVSDB_BAD_ROW_UPDATE', 'row update Net *: table-update is not a JSON object'],
    ]);
    expect(r.events.map((e) => [e.type, e.uuid, e.new?.name])).toEqual([
      ['insert', P3, 'good'],
      ['insert', '66666666-6666-4666-8666-666666666666', 'extra'],
    ]);
  });

  it('reports a table-updates that is not an object', () => {
    const r = applyTableUpdates(3, null, plans, rows);
    expect(r.problems.map((p) => p.code)).toEqual(['OVSDB_BAD_ROW_UPDATE']);
    expect(r.events).toEqual([]);
  });

  it('rejects a bad update (version 1) too', () => {
    const r = applyTableUpdates(1, { Port: { [P2]: {}, [P3]: { new: 'x' } } }, plans, rows);
    expect(r.problems.map((p) => p.message)).toEqual([
      `row update Port ${P2}: neither "old" nor "new"`,
      `row update Port ${P3}: "new" is not a row object`,
    ]);
  });
});

describe('row constructors', () => {
  it('build the same rows with and without code generation', async () => {
    const { rowConstructors } = await import('../../../../src/ovsdb/replica/table-plan.js');
    const columns = plans.get('Port')!.columns;
    const generated = rowConstructors(columns);
    const plain = rowConstructors(columns, false);
    const a = generated.create(P1);
    expect(a).toEqual(plain.create(P1));
    expect(Object.keys(a)).toEqual(['_uuid', ...columns.map((c) => c.name)]);
    a.name = 'changed';
    const copyA = generated.copy(a);
    expect(copyA).toEqual(plain.copy(a));
    expect(copyA).not.toBe(a);
    expect(copyA.name).toBe('changed');
  });
});

describe('update2 difference rules, randomised against the ovsdb-server diff', () => {
  // mulberry32: a seeded PRNG, so a failure reproduces.
  function prng(seed: number): () => number {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const rand = prng(7047);
  const pick = (n: number) => Math.floor(rand() * n);
  const someKeys = () => [...new Set(Array.from({ length: pick(6) }, () => `k${pick(8)}`))];

  it('applying the server diff of (before, after) to before gives after, 500 times', () => {
    for (let trial = 0; trial < 500; trial++) {
      const beforeSet = someKeys();
      const afterSet = someKeys();
      const beforeMap = new Map(someKeys().map((k) => [k, `v${pick(3)}`]));
      const afterMap = new Map(someKeys().map((k) => [k, `v${pick(3)}`]));
      // ovsdb_datum_diff(): the symmetric difference for sets; for maps the
      // pairs whose key is in one only, plus changed keys with the new value.
      const setDiff = [
        ...beforeSet.filter((x) => !afterSet.includes(x)),
        ...afterSet.filter((x) => !beforeSet.includes(x)),
      ];
      const mapDiff: [string, string][] = [];
      for (const [k, v] of beforeMap) if (!afterMap.has(k)) mapDiff.push([k, v]);
      for (const [k, v] of afterMap) if (beforeMap.get(k) !== v) mapDiff.push([k, v]);

      const current = rowsOf({ [P1]: { name: 'p', macs: ['set', beforeSet], ids: ['map', [...beforeMap]] } });
      const r = applyTableUpdates(
        2,
        { Port: { [P1]: { modify: { macs: ['set', setDiff], ids: ['map', mapDiff] } } } },
        plans,
        () => current,
      );
      expect(r.problems).toEqual([]);
      const now = r.events[0]?.new ?? current.get(P1)!;
      expect([...(now.macs as string[])].sort(), `trial ${trial}`).toEqual([...afterSet].sort());
      expect(now.ids, `trial ${trial}`).toEqual(afterMap);
      const changed = setDiff.length > 0 || mapDiff.length > 0;
      expect(r.events.length).toBe(changed ? 1 : 0);
    }
  });
});
