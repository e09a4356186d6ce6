// OvsdbClient with every server message cut into small chunks, so that each
// monitor reply is decoded row by row as it arrives (decoder.ts) straight
// into the replica: initial load, resume with deltas, resync of
// differences, and each monitor method. The in-memory server is that of
// client.test.ts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MessageDecoder, OvsdbClient, SnapshotLoad, type RowEvent } from '../../../src/ovsdb/index.js';
import { FakeClock, FakeOvsdbServer, RpcFailure, settle, txnOf, uuidOf } from './client-fake-server.js';

const clients: OvsdbClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

const ROWS = 300;

function setup(chunkBytes: number) {
  const server = new FakeOvsdbServer(new FakeClock());
  server.chunkBytes = chunkBytes;
  for (let i = 1; i <= ROWS; i++)
    server.rows.set(uuidOf(i), { name: `port "${i}" ü{}`, n: i, tags: ['set', ['x', `t${i % 7}`]] });
  const client = new OvsdbClient({
    remote: 'unix:/fake/1.sock',
    database: 'Test',
    transport: server.factory,
    probeIntervalMs: 0,
  });
  clients.push(client);
  client.monitor({ T: { columns: ['name', 'n', 'tags'] } });
  const batches: (readonly RowEvent[])[] = [];
  client.once('status', () =>
    client.once('status', () => client.replica.on('change', (evs) => batches.push(evs))),
  );
  return { server, client, batches };
}

/** For each chunk pushed to a decoder from now on: the rows added to a SnapshotLoad before it. */
function observeLoad(): number[] {
  const adds = vi.spyOn(SnapshotLoad.prototype, 'add');
  const push = MessageDecoder.prototype.push;
  const rowsAtChunk: number[] = [];
  vi.spyOn(MessageDecoder.prototype, 'push').mockImplementation(function (this: MessageDecoder, chunk) {
    rowsAtChunk.push(adds.mock.calls.length);
    push.call(this, chunk);
  });
  return rowsAtChunk;
}

const names = (client: OvsdbClient) =>
  [...client.replica.table('T').values()].map((r) => `${r.n}:${String(r.name)}:${String(r.tags)}`).sort();

describe('OvsdbClient, monitor replies streamed in small chunks', () => {
  it.each([13, 64, 1000])(
    'loads %i-byte chunks into the replica, one change batch of inserts',
    async (size) => {
      const { server, client, batches } = setup(size);
      // Counts the rows loaded when each chunk came in, to prove that rows
      // reached the replica's load before the reply had fully arrived.
      const rowsAtChunk = observeLoad();
      await client.start();
      vi.restoreAllMocks();
      expect(rowsAtChunk.some((n) => n > 0 && n < ROWS)).toBe(true);
      expect(client.replica.size('T')).toBe(ROWS);
      expect(client.replica.get('T', uuidOf(7))).toEqual({
        _uuid: uuidOf(7),
        name: 'port "7" ü{}',
        n: 7,
        tags: ['x', 't0'],
      });
      expect(batches).toHaveLength(1);
      expect(batches[0]!.every((e) => e.type === 'insert')).toBe(true);
      expect(server.last.calls('monitor_cond_since')).toHaveLength(1);
    },
  );

  it('resumes with streamed deltas (found=true), applied as update3', async () => {
    const { server, client, batches } = setup(50);
    await client.start();
    batches.length = 0;
    server.handlers.set('monitor_cond_since', (conn) => {
      conn.monitorMethod = 'monitor_cond_since';
      return [
        true,
        txnOf(9),
        {
          T: {
            [uuidOf(1)]: { modify: { n: 100 } },
            [uuidOf(2)]: { delete: null },
            [uuidOf(900)]: { insert: { name: 'new' } },
          },
        },
      ];
    });
    server.last.drop();
    await settle();
    expect(client.status).toEqual({ type: 'synced', remote: 'unix:/fake/1.sock', resumed: true });
    expect(client.replica.get('T', uuidOf(1))!.n).toBe(100);
    expect(client.replica.get('T', uuidOf(2))).toBeUndefined();
    expect(client.replica.get('T', uuidOf(900))!.name).toBe('new');
    expect(
      batches
        .flat()
        .map((e) => `${e.type}:${e.uuid}`)
        .sort(),
    ).toEqual([`update:${uuidOf(1)}`, `delete:${uuidOf(2)}`, `insert:${uuidOf(900)}`].sort());
  });

  it('resyncs from a streamed snapshot, emitting only the differences', async () => {
    const { server, client, batches } = setup(50);
    server.resumable = false;
    await client.start();
    batches.length = 0;
    server.last.drop();
    server.rows.set(uuidOf(3), { name: 'changed', n: 3, tags: ['set', ['x', 't3']] });
    server.rows.delete(uuidOf(4));
    await settle();
    expect(client.status).toMatchObject({ type: 'synced', resumed: false });
    expect(
      batches
        .flat()
        .map((e) => `${e.type}:${e.uuid}`)
        .sort(),
    ).toEqual([`update:${uuidOf(3)}`, `delete:${uuidOf(4)}`].sort());
    expect(client.replica.size('T')).toBe(ROWS - 1);
  });

  it.each(['monitor_cond', 'monitor'])('streams the reply of %s too (older servers)', async (method) => {
    const { server, client } = setup(64);
    server.handlers.set('monitor_cond_since', () => new RpcFailure('unknown method'));
    if (method === 'monitor') server.handlers.set('monitor_cond', () => new RpcFailure('unknown method'));
    await client.start();
    expect(server.last.monitorMethod).toBe(method);
    expect(client.replica.size('T')).toBe(ROWS);
    expect(names(client)).toContain('7:port "7" ü{}:x,t0');
  });
});
