// Replays update2 notifications recorded from a real ovsdb-server
// (fixtures/capture-update2-session.mjs) and checks that the replica ends
// exactly where the server's own `select` says the rows are: the
// ovsdb-server(7) §4.1.14 difference rules as the server applies them (set
// toggles, map add/remove/change, emptied optionals, a one-element set diff
// sent as a bare atom, weak references dropped), plus 64-bit integers.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Replica, type RowEvent } from '../../../../src/ovsdb/replica/index.js';
import { decodeValue, parseJsonExact, parseSchema, valuesEqual } from '../../../../src/ovsdb/wire/index.js';

const dir = new URL('./fixtures/', import.meta.url);
const schema = parseSchema(JSON.parse(readFileSync(new URL('capture.ovsschema', dir), 'utf8')));
const session = JSON.parse(readFileSync(new URL('update2-session.json', dir), 'utf8')) as {
  server: string;
  monitorReply: string;
  notifications: string[];
  select: string;
};

type Message = { result?: unknown; params?: unknown[] };
const parse = (text: string) => parseJsonExact(text) as Message;

function replay(): { replica: Replica; events: RowEvent[][] } {
  const replica = new Replica(schema, ['T', 'U']);
  const events: RowEvent[][] = [];
  replica.on('problems', (p) => expect.unreachable(p.map((e) => e.message).join('; ')));
  replica.resync(parse(session.monitorReply).result);
  for (const text of session.notifications) events.push(replica.applyUpdates(2, parse(text).params![1]));
  return { replica, events };
}

describe(`update2 session recorded from ${session.server}`, () => {
  it('ends with exactly the rows the server selects', () => {
    const { replica } = replay();
    const [tRows, uRows] = (parse(session.select).result as { rows: Record<string, unknown>[] }[]).map(
      (r) => r.rows,
    );
    for (const [table, rows] of [
      ['T', tRows!],
      ['U', uRows!],
    ] as const) {
      expect(replica.size(table)).toBe(rows.length);
      for (const wire of rows) {
        const uuid = (wire._uuid as [string, string])[1];
        const row = replica.get(table, uuid);
        expect(row, `${table} ${uuid}`).toBeDefined();
        for (const [column, type] of schema.tables.get(table)!.columns) {
          const expected = decodeValue(wire[column], type, `${table}.${column}`);
          expect(valuesEqual(row![column], expected), `${table}.${column}: ${String(row![column])}`).toBe(
            true,
          );
        }
      }
    }
  });

  it('reports each step as the right events, with only the changed columns in old', () => {
    const { events } = replay();
    // Within one notification the server orders rows by UUID: compare as sorted.
    const summary = events.map((batch) =>
      batch
        .map(
          (e) => [e.table, e.type, e.old && e.type === 'update' ? Object.keys(e.old).sort() : null] as const,
        )
        .sort((a, b) => `${a[0]} ${a[1]}`.localeCompare(`${b[0]} ${b[1]}`)),
    );
    expect(summary).toEqual([
      [
        ['T', 'insert', null],
        ['T', 'insert', null],
        ['U', 'insert', null],
        ['U', 'insert', null],
      ],
      [['T', 'update', ['_uuid', '_version', 'tags']]],
      [['T', 'update', ['_uuid', '_version', 'ids']]],
      [['T', 'update', ['_uuid', '_version', 'flag', 'kind', 'name']]],
      [['T', 'update', ['_uuid', '_version', 'count', 'flag', 'nums', 'ratio']]],
      [
        ['T', 'update', ['_uuid', '_version', 'peer', 'peers']],
        ['U', 'delete', null],
      ],
      [
        ['T', 'delete', null],
        ['T', 'insert', null],
      ],
      [['T', 'update', ['_uuid', '_version', 'count', 'tags']]],
    ]);
    const t1 = events[0]!.find((e) => e.new?.name === 't1')!.new!;
    expect(t1.count).toBe(4611686018427387905n);
    const t2 = events[0]!.find((e) => e.new?.name === 't2')!.new!;
    expect(t2).toMatchObject({
      count: 0,
      ratio: 0,
      flag: undefined,
      tags: [],
      peer: undefined,
      kind: undefined,
    });
    const step4 = events[4]![0]!;
    expect(step4.new!.count).toBe(-9223372036854775808n);
    expect(step4.old!.count).toBe(4611686018427387905n);
    expect(step4.new!.nums).toEqual(new Map());
    expect(events[3]![0]!.old).toMatchObject({ flag: undefined, kind: 'a', name: 't1' });
  });

  it('a resync from the final state emits nothing', () => {
    const { replica } = replay();
    const snapshot: Record<string, Record<string, unknown>> = {};
    const [tRows, uRows] = (parse(session.select).result as { rows: Record<string, unknown>[] }[]).map(
      (r) => r.rows,
    );
    for (const [table, rows] of [
      ['T', tRows!],
      ['U', uRows!],
    ] as const) {
      snapshot[table] = Object.fromEntries(
        rows.map((row) => {
          const { _uuid, ...rest } = row;
          return [(_uuid as [string, string])[1], { initial: rest }];
        }),
      );
    }
    expect(replica.resync(snapshot)).toEqual([]);
  });
});
