import { describe, expect, it } from 'vitest';
import { OvsdbError } from '../../../../src/ovsdb/errors.js';
import { Replica, type Row, type RowEvent } from '../../../../src/ovsdb/replica/index.js';
import { N1, N2, P1, P2, P3, schema } from './fixtures.js';

const snapshot = {
  Net: { [N1]: { initial: { name: 'n1' } }, [N2]: { initial: { name: 'n2' } } },
  Port: {
    [P1]: { initial: { name: 'p1', net: ['uuid', N1], macs: ['set', ['m1']] } },
    [P2]: { initial: { name: 'p2', net: ['uuid', N1] } },
  },
};

function record(replica: Replica): { changes: RowEvent[][]; problems: OvsdbError[] } {
  const seen = { changes: [] as RowEvent[][], problems: [] as OvsdbError[] };
  replica.on('change', (events) => seen.changes.push([...events]));
  replica.on('problems', (problems) => seen.problems.push(...problems));
  return seen;
}

const names = (rows: Iterable<Row>) => [...rows].map((r) => r.name).sort();

describe('Replica', () => {
  it('is built from a literal snapshot with no server', () => {
    const r = new Replica(schema, ['Net', 'Port'], snapshot);
    expect(r.tableNames).toEqual(['Net', 'Port']);
    expect(r.size('Port')).toBe(2);
    expect(r.sizes()).toEqual({ Net: 2, Port: 2 });
    expect(r.get('Port', P1)).toMatchObject({ _uuid: P1, name: 'p1', net: N1, macs: ['m1'] });
    expect(r.get('Port', P3)).toBeUndefined();
    expect(r.table('Net').get(N2)!.name).toBe('n2');
  });

  it('monitors only the requested columns, and refuses unknown tables and columns', () => {
    const r = new Replica(schema, { Port: { columns: ['name', 'net'] } });
    expect(r.columns('Port')).toEqual(['name', 'net']);
    r.applyUpdates(2, { Port: { [P1]: { initial: { name: 'p1' } } } });
    expect(r.get('Port', P1)).toEqual({ _uuid: P1, name: 'p1', net: '00000000-0000-0000-0000-000000000000' });
    expect(() => r.table('Net')).toThrow(expect.objectContaining({ code: 'OVSDB_NOT_MONITORED' }));
    expect(() => new Replica(schema, ['Nope'])).toThrow(
      expect.objectContaining({ code: 'OVSDB_UNKNOWN_TABLE' }),
    );
    expect(() => new Replica(schema, { Port: { columns: ['nope'] } })).toThrow(
      expect.objectContaining({
        code: 'OVSDB_UNKNOWN_COLUMN',
        message: 'column Port.nope is not in schema Test',
      }),
    );
  });

  it('emits one change per update, after the replica is consistent', () => {
    const r = new Replica(schema, ['Net', 'Port'], snapshot);
    const inListener: unknown[] = [];
    r.on('change', (events) => {
      inListener.push(
        events.length,
        r.get('Port', P3)?.name,
        r.get('Port', P2),
        r.byIndex('Port', 'by-net', N2).size,
      );
    });
    r.addIndex('Port', 'by-net', (row) => row.net as string);
    const events = r.applyUpdates(3, {
      Port: { [P3]: { insert: { name: 'p3', net: ['uuid', N2] } }, [P2]: { delete: null } },
    });
    expect(events.map((e) => e.type)).toEqual(['insert', 'delete']);
    expect(inListener).toEqual([2, 'p3', undefined, 1]);
  });

  it('emits nothing for an update that changes nothing', () => {
    const r = new Replica(schema, ['Net', 'Port'], snapshot);
    const seen = record(r);
    expect(r.applyUpdates(2, { Port: { [P1]: { modify: { name: 'p1' } } } })).toEqual([]);
    expect(seen.changes).toEqual([]);
  });

  it('emits problems before the change, and applies the good rows', () => {
    const r = new Replica(schema, ['Net', 'Port'], snapshot);
    const order: string[] = [];
    r.on('problems', () => order.push('problems'));
    r.on('change', () => order.push('change'));
    r.applyUpdates(2, { Port: { [P3]: { modify: { name: 'x' } }, [P2]: { modify: { name: 'p2b' } } } });
    expect(order).toEqual(['problems', 'change']);
    expect(r.get('Port', P2)!.name).toBe('p2b');
  });

  it('runs every listener even when one throws, then rethrows, with the replica consistent', () => {
    const r = new Replica(schema, ['Net', 'Port'], snapshot);
    let second = 0;
    r.on('change', () => {
      throw new Error('listener bug');
    });
    r.on('change', () => second++);
    expect(() => r.applyUpdates(2, { Net: { [N1]: { delete: null } } })).toThrow('listener bug');
    expect(second).toBe(1);
    expect(r.get('Net', N1)).toBeUndefined();
  });

  it('supports once/off and counts listeners', () => {
    const r = new Replica(schema, ['Net']);
    const calls: boolean[] = [];
    r.once('synced', ({ resumed }) => calls.push(resumed));
    expect(r.listenerCount('synced')).toBe(1);
    expect(r.isSynced).toBe(false);
    r.markSynced(false);
    r.markSynced(true);
    expect(calls).toEqual([false]);
    expect(r.isSynced).toBe(true);
    expect(r.listenerCount('synced')).toBe(0);
  });
});

describe('Replica indexes', () => {
  it('are built from existing rows and kept in step on insert, update and delete', () => {
    const r = new Replica(schema, ['Net', 'Port'], snapshot);
    r.addIndex('Port', 'by-net', (row) => row.net as string);
    r.addIndex('Port', 'by-mac', (row) => row.macs as readonly string[]);
    expect(names(r.byIndex('Port', 'by-net', N1))).toEqual(['p1', 'p2']);
    expect(names(r.byIndex('Port', 'by-mac', 'm1'))).toEqual(['p1']);

    r.applyUpdates(2, {
      Port: {
        [P1]: { modify: { net: ['uuid', N2], macs: ['set', ['m1', 'm2', 'm3']] } },
        [P3]: { insert: { name: 'p3', net: ['uuid', N2], macs: ['set', ['m2']] } },
      },
    });
    expect(names(r.byIndex('Port', 'by-net', N1))).toEqual(['p2']);
    expect(names(r.byIndex('Port', 'by-net', N2))).toEqual(['p1', 'p3']);
    expect(names(r.byIndex('Port', 'by-mac', 'm1'))).toEqual([]);
    expect(names(r.byIndex('Port', 'by-mac', 'm2'))).toEqual(['p1', 'p3']);
    // The index holds the current row objects, not stale ones.
    expect([...r.byIndex('Port', 'by-mac', 'm3')][0]).toBe(r.get('Port', P1));

    r.applyUpdates(2, { Port: { [P1]: { modify: { name: 'p1b' } } } });
    expect([...r.byIndex('Port', 'by-net', N2)].find((x) => x._uuid === P1)).toBe(r.get('Port', P1));

    r.applyUpdates(2, { Port: { [P3]: { delete: null }, [P1]: { delete: null } } });
    expect(r.byIndex('Port', 'by-net', N2).size).toBe(0);
    expect(r.byIndex('Port', 'by-mac', 'm2').size).toBe(0);
    expect(names(r.byIndex('Port', 'by-net', N1))).toEqual(['p2']);
  });

  it('leave out rows without a key and rows whose key function throws (reported)', () => {
    const r = new Replica(schema, ['Net', 'Port'], snapshot);
    const seen = record(r);
    r.addIndex('Port', 'tagged', (row) => (row.tag === undefined ? undefined : String(row.tag)));
    r.addIndex('Port', 'fragile', (row) => {
      if (row.name === 'bad') throw new Error('boom');
      return row.name as string;
    });
    r.applyUpdates(2, { Port: { [P3]: { insert: { name: 'bad', tag: 5 } } } });
    expect(names(r.byIndex('Port', 'tagged', '5'))).toEqual(['bad']);
    expect(r.byIndex('Port', 'fragile', 'bad').size).toBe(0);
    expect(seen.problems.map((p) => [p.code, p.message])).toEqual([
      ['OVSDB_INDEX_KEY_FAILED', `index Port/fragile: key function failed on row ${P3}`],
    ]);
    expect((seen.problems[0]!.cause as Error).message).toBe('boom');
    // Deleting the row it could not index is harmless.
    r.applyUpdates(2, { Port: { [P3]: { delete: null } } });
    expect(r.size('Port')).toBe(2);
  });

  it('refuse duplicate and unknown index names', () => {
    const r = new Replica(schema, ['Port']);
    r.addIndex('Port', 'x', () => undefined);
    expect(() => r.addIndex('Port', 'x', () => undefined)).toThrow(
      expect.objectContaining({ code: 'OVSDB_DUPLICATE_INDEX' }),
    );
    expect(() => r.byIndex('Port', 'y', 'k')).toThrow(
      expect.objectContaining({ code: 'OVSDB_UNKNOWN_INDEX' }),
    );
    expect(() => r.addIndex('Net', 'x', () => undefined)).toThrow(
      expect.objectContaining({ code: 'OVSDB_NOT_MONITORED' }),
    );
  });
});

describe('Replica.resync', () => {
  it('emits only the real differences and keeps unchanged rows (and their identity)', () => {
    const r = new Replica(schema, ['Net', 'Port'], snapshot);
    r.addIndex('Port', 'by-net', (row) => row.net as string);
    const p1 = r.get('Port', P1);
    const n2 = r.get('Net', N2);
    const seen = record(r);
    let sizesDuringChange: Record<string, number> = {};
    r.on('change', () => (sizesDuringChange = r.sizes()));

    // P1 same content (set order differs), P2 changed, P3 new; N1 gone, N2 same.
    const events = r.resync({
      Net: { [N2]: { initial: { name: 'n2' } } },
      Port: {
        [P1]: { initial: { name: 'p1', net: ['uuid', N1], macs: ['set', ['m1']] } },
        [P2]: { initial: { name: 'p2', net: ['uuid', N2], up: true } },
        [P3]: { initial: { name: 'p3', net: ['uuid', N2] } },
      },
    });
    expect(events.map((e) => [e.table, e.type, e.uuid])).toEqual([
      ['Net', 'delete', N1],
      ['Port', 'update', P2],
      ['Port', 'insert', P3],
    ]);
    expect(events[1]!.old).toEqual({ _uuid: P2, net: N1, up: undefined });
    expect(r.get('Port', P1)).toBe(p1);
    expect(r.get('Net', N2)).toBe(n2);
    expect(seen.changes).toEqual([events]);
    expect(sizesDuringChange).toEqual({ Net: 1, Port: 3 });
    expect(names(r.byIndex('Port', 'by-net', N2))).toEqual(['p2', 'p3']);
    expect(names(r.byIndex('Port', 'by-net', N1))).toEqual(['p1']);
  });

  it('from an identical snapshot emits nothing', () => {
    const r = new Replica(schema, ['Net', 'Port'], snapshot);
    const seen = record(r);
    expect(r.resync(snapshot)).toEqual([]);
    expect(seen.changes).toEqual([]);
  });

  it('accepts an RFC 7047 monitor reply (version 1) and deletes tables absent from it', () => {
    const r = new Replica(schema, ['Net', 'Port'], snapshot);
    const events = r.resync({ Net: { [N1]: { new: { name: 'n1' } }, [N2]: { new: { name: 'n2' } } } }, 1);
    expect(events.map((e) => [e.type, e.uuid]).sort()).toEqual([
      ['delete', P1],
      ['delete', P2],
    ]);
    expect(r.size('Port')).toBe(0);
  });

  it('clear() empties tables and indexes silently and drops the synced mark', () => {
    const r = new Replica(schema, ['Net', 'Port'], snapshot);
    r.addIndex('Port', 'by-net', (row) => row.net as string);
    r.markSynced(false);
    const seen = record(r);
    r.clear();
    expect(r.sizes()).toEqual({ Net: 0, Port: 0 });
    expect(r.byIndex('Port', 'by-net', N1).size).toBe(0);
    expect(r.isSynced).toBe(false);
    expect(seen.changes).toEqual([]);
    // And it fills again from a snapshot, every row an insert.
    expect(r.resync(snapshot).map((e) => e.type)).toEqual(['insert', 'insert', 'insert', 'insert']);
    expect(r.byIndex('Port', 'by-net', N1).size).toBe(2);
  });
});
