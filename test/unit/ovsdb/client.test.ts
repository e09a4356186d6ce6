// OvsdbClient on an in-memory server with a fake clock: the protocol
// sequence, resume and resync, fallbacks, deferred updates, backoff,
// probes, _Server checks and bad input. No sockets.
import { afterEach, describe, expect, it } from 'vitest';
import {
  OvsdbClient,
  type ClientStatus,
  type OvsdbClientOptions,
  type RowEvent,
} from '../../../src/ovsdb/index.js';
import {
  FakeClock,
  FakeOvsdbServer,
  NO_REPLY,
  RpcFailure,
  settle,
  txnOf,
  uuidOf,
} from './client-fake-server.js';

const A = uuidOf(1);
const B = uuidOf(2);
const clients: OvsdbClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

function setup(opts: Partial<OvsdbClientOptions> = {}) {
  const clock = new FakeClock();
  const server = new FakeOvsdbServer(clock);
  server.rows.set(A, { name: 'a', n: 1, tags: ['set', ['x']] });
  const client = new OvsdbClient({
    remote: 'unix:/fake/1.sock',
    database: 'Test',
    transport: server.factory,
    clock,
    random: () => 0.5,
    probeIntervalMs: 0,
    ...opts,
  });
  clients.push(client);
  client.monitor({ T: { columns: ['name', 'n', 'tags'] } });
  const statuses: ClientStatus[] = [];
  const events: RowEvent[] = [];
  client.on('status', (s) => {
    statuses.push(s);
    if (s.type === 'connected' && statuses.filter((x) => x.type === 'connected').length === 1) {
      client.replica.on('change', (evs) => events.push(...evs));
    }
  });
  return { clock, server, client, statuses, events };
}

const types = (statuses: ClientStatus[]) => statuses.map((s) => s.type);

describe('OvsdbClient protocol sequence', () => {
  it('reads the schema, checks _Server, monitors with monitor_cond_since and applies update3', async () => {
    const { server, client, statuses, events } = setup();
    await client.start();
    const conn = server.last;
    expect(conn.received.map((m) => m.method)).toEqual([
      'get_schema',
      'monitor',
      'set_db_change_aware',
      'monitor_cond_since',
    ]);
    expect(conn.calls('monitor')[0]!.params).toEqual([
      '_Server',
      '_Server',
      { Database: { columns: ['name', 'model', 'connected', 'leader', 'index'] } },
    ]);
    expect(conn.calls('monitor_cond_since')[0]!.params).toEqual([
      'Test',
      'Test',
      { T: { columns: ['name', 'n', 'tags'] } },
      '00000000-0000-0000-0000-000000000000',
    ]);
    expect(types(statuses)).toEqual(['connecting', 'connected', 'synced']);
    expect(statuses[2]).toEqual({ type: 'synced', remote: 'unix:/fake/1.sock', resumed: false });
    expect(client.replica.get('T', A)).toMatchObject({ name: 'a', n: 1, tags: ['x'] });
    expect(events).toEqual([expect.objectContaining({ type: 'insert', uuid: A })]);

    server.change(B, { name: 'b', n: 2 });
    server.change(A, { name: 'a', n: 5, tags: ['set', ['x']] }, { n: 5 });
    await settle();
    expect(client.replica.get('T', B)).toMatchObject({ name: 'b', n: 2, tags: [] });
    expect(client.replica.get('T', A)!.n).toBe(5);
    expect(events.at(-1)).toMatchObject({ type: 'update', uuid: A, old: { n: 1 } });
  });

  it('drops tables and columns the server schema lacks from the request', async () => {
    const { server, client } = setup();
    client.monitor({ Missing: {}, U: { columns: ['x', 'gone'] } });
    await client.start();
    const requests = server.last.calls('monitor_cond_since')[0]!.params![2];
    expect(requests).toEqual({ T: { columns: ['name', 'n', 'tags'] }, U: { columns: ['x'] } });
  });

  it('falls back to monitor_cond, then monitor, on "unknown method"', async () => {
    const { server, client } = setup();
    server.handlers.set('monitor_cond_since', () => new RpcFailure('unknown method'));
    client.monitor({ T: { columns: ['name', 'n', 'tags'], where: [['n', '>', 0]] } });
    await client.start();
    expect(server.last.calls('monitor_cond')[0]!.params).toEqual([
      'Test',
      'Test',
      { T: { columns: ['name', 'n', 'tags'], where: [['n', '>', 0]] } },
    ]);
    server.change(B, { name: 'b', n: 2 });
    await settle();
    expect(client.replica.get('T', B)?.name).toBe('b');

    const old = setup();
    old.server.handlers.set('monitor_cond_since', () => new RpcFailure('unknown method'));
    old.server.handlers.set('monitor_cond', () => new RpcFailure('unknown method'));
    await old.client.start();
    const plain = old.server.last.received.filter((m) => m.method === 'monitor' && m.params![0] === 'Test');
    expect(plain[0]!.params![2]).toEqual({ T: { columns: ['name', 'n', 'tags'] } }); // no `where`
    old.server.change(A, undefined);
    await settle();
    expect(old.client.replica.get('T', A)).toBeUndefined();
  });

  it('applies updates that arrive in the same chunk as the monitor reply after the snapshot', async () => {
    const { server, client } = setup();
    server.handlers.set('monitor_cond_since', (conn, params) => {
      conn.monitorMethod = 'monitor_cond_since';
      // Reply and a later update back to back in one chunk (RFC 7047 §4: no delimiters).
      conn.sendRaw(
        JSON.stringify({ id: 4, result: [false, txnOf(1), server.snapshot(2)], error: null }) +
          JSON.stringify({
            id: null,
            method: 'update3',
            params: [params[1], txnOf(2), { T: { [A]: { modify: { n: 9 } } } }],
          }),
      );
      return NO_REPLY;
    });
    const problems: unknown[] = [];
    client.on(
      'status',
      (s) => s.type === 'connected' && client.replica.on('problems', (p) => problems.push(...p)),
    );
    await client.start();
    await settle();
    expect(problems).toEqual([]);
    expect(client.replica.get('T', A)!.n).toBe(9);
  });

  it('answers the server echo and ignores notifications for other monitors', async () => {
    const { server, client } = setup();
    await client.start();
    server.last.send({ method: 'echo', params: ['ping'], id: 'echo-7' });
    server.last.send({
      id: null,
      method: 'update3',
      params: ['other', txnOf(5), { T: { [B]: { insert: { name: 'z' } } } }],
    });
    await settle();
    expect(server.last.received.at(-1)).toEqual({ result: ['ping'], error: null, id: 'echo-7' });
    expect(client.replica.get('T', B)).toBeUndefined();
  });
});

describe('OvsdbClient reconnect, resume and resync', () => {
  it('resumes with monitor_cond_since found=true after a drop (deltas only, no resync)', async () => {
    const { server, client, statuses, events } = setup();
    await client.start();
    server.change(B, { name: 'b', n: 2 });
    await settle();
    const beforeDrop = events.length;
    server.last.drop();
    await settle();
    expect(server.conns).toHaveLength(2); // reconnected at once after a synced session
    const since = server.last.calls('monitor_cond_since')[0]!.params![3];
    expect(since).toBe(txnOf(2));
    expect(statuses.at(-1)).toEqual({ type: 'synced', remote: 'unix:/fake/1.sock', resumed: true });
    expect(client.stats).toMatchObject({ syncs: 2, resumes: 1, resyncs: 1, disconnects: 1 });
    expect(events.length).toBe(beforeDrop); // nothing re-emitted
  });

  it('resyncs with only the real differences when the txn id is not found', async () => {
    const { server, client, events, statuses } = setup();
    server.resumable = false;
    server.rows.set(B, { name: 'b', n: 2 });
    await client.start();
    events.length = 0;
    server.last.drop();
    // While away: A changes, B goes, C comes.
    server.rows.set(A, { name: 'a', n: 7, tags: ['set', ['x']] });
    server.rows.delete(B);
    server.rows.set(uuidOf(3), { name: 'c', n: 3 });
    await settle();
    expect(statuses.at(-1)).toMatchObject({ type: 'synced', resumed: false });
    expect(events.map((e) => `${e.type}:${e.uuid}`).sort()).toEqual(
      [`update:${A}`, `delete:${B}`, `insert:${uuidOf(3)}`].sort(),
    );
    expect(events.find((e) => e.type === 'update')!.old).toEqual({ _uuid: A, n: 1 });
  });

  it('re-monitors after monitor_canceled', async () => {
    const { server, client } = setup();
    await client.start();
    server.last.send({ id: null, method: 'monitor_canceled', params: ['Test'] });
    await settle();
    expect(server.conns).toHaveLength(2);
    expect(server.last.calls('monitor_cond_since')).toHaveLength(1);
    expect(client.status).toMatchObject({ type: 'synced' });
  });

  it('fails pending transactions with OVSDB_DISCONNECTED and never resends them', async () => {
    const { server, client } = setup();
    await client.start();
    server.handlers.set('transact', () => NO_REPLY);
    const pending = client.transact([{ op: 'insert', table: 'T', row: { name: 'q' } }]);
    await settle();
    server.last.drop();
    await expect(pending).rejects.toMatchObject({ code: 'OVSDB_DISCONNECTED', retryable: true });
    await settle();
    expect(server.last.calls('transact')).toHaveLength(0);
  });

  it('fails a transaction unanswered after transactTimeoutMs with OVSDB_TRANSACT_TIMEOUT, not before', async () => {
    const { server, client, clock } = setup({ transactTimeoutMs: 5_000 });
    await client.start();
    server.handlers.set('transact', () => NO_REPLY);
    let outcome: unknown;
    const pending = client
      .transact([{ op: 'insert', table: 'T', row: { name: 'q' } }])
      .catch((e: unknown) => {
        outcome = e;
      });
    await clock.advance(4_999);
    expect(outcome).toBeUndefined();
    await clock.advance(1);
    await pending;
    expect(outcome).toMatchObject({ code: 'OVSDB_TRANSACT_TIMEOUT', retryable: true, timeoutMs: 5_000 });
    // The connection stays: the next transaction is answered.
    server.handlers.delete('transact');
    await expect(client.transact([{ op: 'insert', table: 'T', row: { name: 'r' } }])).resolves.toHaveLength(
      1,
    );
  });

  it('returns transact results and throws OVSDB_TXN_FAILED on an operation error', async () => {
    const { server, client } = setup();
    await client.start();
    await expect(client.transact([{ op: 'insert', table: 'T', row: { name: 'q' } }])).resolves.toEqual([
      { uuid: uuidOf(500) },
    ]);
    server.handlers.set('transact', () => [{ error: 'constraint violation', details: 'dup' }]);
    await expect(client.transact([{ op: 'insert', table: 'T', row: {} }])).rejects.toMatchObject({
      code: 'OVSDB_TXN_FAILED',
    });
    expect(server.last.calls('transact')[0]!.params).toEqual([
      'Test',
      { op: 'insert', table: 'T', row: { name: 'q' } },
    ]);
  });

  it('backs off exponentially with jitter up to maxBackoffMs, one attempt at a time', async () => {
    const { server, client, clock } = setup({ maxBackoffMs: 2_000 });
    server.refuse.add('unix:/fake/1.sock');
    void client.start();
    await clock.advance(20_000);
    const gaps = server.attempts.slice(1).map((a, i) => a.at - server.attempts[i]!.at);
    // random() = 0.5 -> 3/4 of the cap: 250, 500, 1000, 2000 (capped), …
    expect(gaps.slice(0, 6)).toEqual([188, 375, 750, 1500, 1500, 1500]);
    expect(clock.pending).toBe(1); // a single loop waiting
    server.refuse.clear();
    await clock.advance(1_500);
    expect(client.status).toMatchObject({ type: 'synced' });
    // A successful sync resets the backoff: after a drop, reconnect at once.
    server.refuse.add('unix:/fake/1.sock');
    const n = server.attempts.length;
    server.last.drop();
    await clock.advance(0);
    expect(server.attempts.length).toBe(n + 1);
    await clock.advance(188);
    expect(server.attempts.length).toBe(n + 2);
  });

  it('moves on to the next cluster member at once and backs off only after a full round', async () => {
    const { server, client, clock } = setup({
      remote: 'unix:/fake/1.sock,unix:/fake/2.sock,unix:/fake/3.sock',
    });
    for (const r of ['unix:/fake/1.sock', 'unix:/fake/2.sock', 'unix:/fake/3.sock']) server.refuse.add(r);
    void client.start();
    await clock.advance(0);
    expect(server.attempts.map((a) => a.at)).toEqual([0, 0, 0]);
    expect(new Set(server.attempts.map((a) => a.remote)).size).toBe(3);
    await clock.advance(188);
    expect(server.attempts.map((a) => a.at)).toEqual([0, 0, 0, 188, 188, 188]);
    server.refuse.clear();
    await clock.advance(1_000);
    expect(client.status).toMatchObject({ type: 'synced' });
  });
});

describe('OvsdbClient _Server checks', () => {
  const members = 'unix:/fake/1.sock,unix:/fake/2.sock';

  it('refuses a clustered member that is not connected, and one that is not the leader with leaderOnly', async () => {
    const { server, client, statuses } = setup({ remote: members, leaderOnly: true });
    server.serverDb.set('unix:/fake/1.sock', {
      model: 'clustered',
      connected: false,
      leader: false,
      index: 5,
    });
    server.serverDb.set('unix:/fake/2.sock', {
      model: 'clustered',
      connected: true,
      leader: false,
      index: 5,
    });
    void client.start();
    await settle();
    const errors = statuses.flatMap((s) => (s.type === 'disconnected' ? [s.error.message] : []));
    expect(errors).toHaveLength(2);
    expect(errors.join()).toMatch(/not connected to its cluster/);
    expect(errors.join()).toMatch(/not the leader/);
    expect(
      statuses
        .filter((s) => s.type === 'disconnected')
        .every((s) => s.type === 'disconnected' && s.error.code === 'OVSDB_DB_UNAVAILABLE'),
    ).toBe(true);
    server.serverDb.set('unix:/fake/2.sock', { model: 'clustered', connected: true, leader: true, index: 6 });
    await server.clock!.advance(1_000);
    expect(client.status).toMatchObject({ type: 'synced', remote: 'unix:/fake/2.sock' });
  });

  it('refuses a member whose Raft index is older than one already seen', async () => {
    const { server, client, clock, statuses } = setup({ remote: members });
    server.serverDb.set('unix:/fake/1.sock', {
      model: 'clustered',
      connected: true,
      leader: true,
      index: 10,
    });
    server.serverDb.set('unix:/fake/2.sock', {
      model: 'clustered',
      connected: true,
      leader: false,
      index: 7,
    });
    await client.start();
    const first = client.status!.remote;
    if (first === 'unix:/fake/2.sock') {
      // Seen index 7 first: both are acceptable; make 1 the one we sit on.
      server.last.drop();
      await clock.advance(0);
    }
    expect(client.status).toMatchObject({ type: 'synced', remote: 'unix:/fake/1.sock' });
    statuses.length = 0;
    server.refuse.add('unix:/fake/1.sock'); // 1 goes away: only the stale member is left
    server.last.drop();
    await clock.advance(0);
    const stale = statuses.find((s) => s.type === 'disconnected' && s.remote === 'unix:/fake/2.sock');
    expect(stale).toMatchObject({ error: { code: 'OVSDB_DB_UNAVAILABLE' } });
    expect((stale as { error: Error }).error.message).toMatch(/stale \(Raft index 7 < 10/);
    // After a whole failed round the index is forgotten, so a recreated
    // cluster with lower indexes is accepted again.
    await clock.advance(5_000);
    expect(client.status).toMatchObject({ type: 'synced', remote: 'unix:/fake/2.sock' });
  });

  it('leaves a member whose _Server row turns leader=false while leaderOnly', async () => {
    const { server, client, clock } = setup({ remote: members, leaderOnly: true });
    server.serverDb.set('unix:/fake/1.sock', { model: 'clustered', connected: true, leader: true, index: 3 });
    server.serverDb.set('unix:/fake/2.sock', { model: 'clustered', connected: true, leader: true, index: 3 });
    await client.start();
    const conn = server.last;
    conn.send({
      id: null,
      method: 'update',
      params: [
        '_Server',
        {
          Database: {
            [uuidOf(999)]: {
              new: { name: 'Test', model: 'clustered', connected: true, leader: false, index: 4 },
            },
          },
        },
      ],
    });
    await clock.advance(0);
    expect(conn.open).toBe(false);
    expect(server.conns.length).toBeGreaterThan(1);
  });
});

describe('OvsdbClient inactivity probe', () => {
  it('sends echo after one silent interval and drops after the next', async () => {
    const { server, client, clock, statuses } = setup({ probeIntervalMs: 1_000 });
    await client.start();
    const conn = server.last;
    server.handlers.set('echo', () => NO_REPLY); // a hung server
    await clock.advance(1_000); // data was heard since connect: no echo yet
    expect(conn.calls('echo')).toHaveLength(0);
    await clock.advance(1_000);
    expect(conn.calls('echo')).toHaveLength(1);
    await clock.advance(999);
    expect(conn.open).toBe(true);
    await clock.advance(1);
    expect(conn.open).toBe(false);
    expect(statuses.find((s) => s.type === 'disconnected')).toMatchObject({
      error: { code: 'OVSDB_PROBE_TIMEOUT' },
    });
  });

  it('keeps a connection whose server answers the echo', async () => {
    const { server, client, clock } = setup({ probeIntervalMs: 1_000 });
    await client.start();
    await clock.advance(10_000);
    expect(server.conns).toHaveLength(1);
    expect(server.last.open).toBe(true);
    expect(server.last.calls('echo').length).toBeGreaterThanOrEqual(4);
  });
});

describe('OvsdbClient bad input and state', () => {
  it('drops a connection that sends garbage, reconnects and converges', async () => {
    const { server, client, clock, statuses } = setup();
    await client.start();
    server.last.sendRaw('{"id":null,"method":"update3","params":["Test"]} #garbage#');
    await clock.advance(0);
    expect(statuses.find((s) => s.type === 'disconnected')).toMatchObject({
      error: { code: 'OVSDB_MALFORMED_MESSAGE' },
    });
    expect(client.status).toMatchObject({ type: 'synced' });
  });

  it('skips a stray reply and malformed row updates without dropping the connection', async () => {
    const { server, client, clock } = setup();
    await client.start();
    server.last.send({ id: 12345, result: [], error: null });
    server.last.send({
      id: null,
      method: 'update3',
      params: [
        'Test',
        txnOf(9),
        {
          Nope: { [B]: { insert: {} } },
          T: { [B]: { insert: { name: 'ok', n: 'NaN' } }, [uuidOf(4)]: { insert: { name: 'fine' } } },
        },
      ],
    });
    await clock.advance(0);
    expect(server.conns).toHaveLength(1);
    expect(client.replica.get('T', uuidOf(4))?.name).toBe('fine');
  });

  it('resyncs when an update modifies a row the replica does not hold', async () => {
    const { server, client, clock } = setup();
    await client.start();
    server.last.send({
      id: null,
      method: 'update3',
      params: ['Test', txnOf(9), { T: { [uuidOf(77)]: { modify: { n: 1 } } } }],
    });
    await clock.advance(0);
    expect(server.conns).toHaveLength(2);
    // The txn id was forgotten: a full snapshot, not a resume.
    expect(server.last.calls('monitor_cond_since')[0]!.params![3]).toBe(
      '00000000-0000-0000-0000-000000000000',
    );
  });

  it('sends monitor_cond_change and keeps the conditions for the next monitor request', async () => {
    const { server, client, clock } = setup();
    await client.start();
    await client.setConditions({ T: [['name', '==', 'a']] });
    expect(server.last.calls('monitor_cond_change')[0]!.params).toEqual([
      'Test',
      'Test',
      { T: [{ where: [['name', '==', 'a']] }] },
    ]);
    server.last.drop();
    await clock.advance(0);
    expect(server.last.calls('monitor_cond_since')[0]!.params![2]).toEqual({
      T: { columns: ['name', 'n', 'tags'], where: [['name', '==', 'a']] },
    });
    await expect(client.setConditions({ T: [['nope', '==', 1]] })).rejects.toMatchObject({
      code: 'OVSDB_UNKNOWN_COLUMN',
    });
    await expect(client.setConditions({ U: [true] })).rejects.toMatchObject({ code: 'OVSDB_CLIENT_STATE' });
  });

  it('rejects transact while disconnected, monitor() after start(), and everything after close()', async () => {
    const { server, client } = setup();
    server.refuse.add('unix:/fake/1.sock');
    const started = client.start();
    await settle();
    await expect(client.transact([])).rejects.toMatchObject({ code: 'OVSDB_DISCONNECTED' });
    expect(() => client.monitor({ U: {} })).toThrow(expect.objectContaining({ code: 'OVSDB_CLIENT_STATE' }));
    expect(() => client.replica).toThrow(expect.objectContaining({ code: 'OVSDB_CLIENT_STATE' }));
    await client.close(); // cuts the backoff wait short
    await expect(started).rejects.toMatchObject({ code: 'OVSDB_CLIENT_CLOSED' });
    await expect(client.transact([])).rejects.toMatchObject({ code: 'OVSDB_CLIENT_CLOSED' });
    await expect(client.start()).rejects.toMatchObject({ code: 'OVSDB_CLIENT_CLOSED' });
  });
});
