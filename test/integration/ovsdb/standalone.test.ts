// OvsdbClient against a real standalone ovsdb-server with the OVN SB schema:
// initial load, live changes as events, transactions, reconnect after a
// server restart, conditions, over unix and tcp.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { execa } from 'execa';
import { MessageDecoder, OvsdbClient, SnapshotLoad, map, op, type Row } from '../../../src/ovsdb/index.js';
import { stopAllDaemons } from '../../support/daemon.js';
import { destroyOvsdbServer, startOvsdbServer, type OvsdbServer } from '../../support/ovsdb-server.js';
import { nextStatus, record, uuidRe, waitFor } from './helpers.js';

let server: OvsdbServer;
const clients: OvsdbClient[] = [];

beforeAll(async () => {
  server = await startOvsdbServer({ schema: 'sb' });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await destroyOvsdbServer(server);
  await stopAllDaemons();
});

function sbctl(...args: string[]) {
  return execa('ovn-sbctl', [`--db=${server.unixRemote}`, ...args]);
}

function newClient(
  remote: string,
  extra: Partial<ConstructorParameters<typeof OvsdbClient>[0]> = {},
): OvsdbClient {
  const client = new OvsdbClient({ remote, database: 'OVN_Southbound', maxBackoffMs: 500, ...extra });
  clients.push(client);
  return client;
}

describe.each([
  ['unix', () => server.unixRemote],
  ['tcp', () => server.tcpRemote],
])('OvsdbClient over %s (standalone SB)', (_kind, remote) => {
  it('loads the initial content, then sees inserts, updates and deletes as events', async () => {
    const name = `ch-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
    await sbctl('chassis-add', name, 'geneve', '127.0.0.9');
    const client = newClient(remote()).monitor({
      Chassis: { columns: ['name', 'hostname', 'external_ids', 'encaps'] },
      Encap: {},
    });
    const rec = record(client);
    await client.start();
    expect(rec.statuses.map((s) => s.type)).toEqual(['connecting', 'connected', 'synced']);
    expect(rec.statuses.at(-1)).toMatchObject({ type: 'synced', resumed: false, remote: remote() });
    const byName = (): Row | undefined =>
      [...client.replica.table('Chassis').values()].find((r) => r.name === name);
    const row = byName()!;
    expect(row._uuid).toMatch(uuidRe);
    expect(rec.events).toContainEqual(
      expect.objectContaining({ table: 'Chassis', type: 'insert', uuid: row._uuid }),
    );
    expect(client.schema.name).toBe('OVN_Southbound');
    expect(row.encaps).toHaveLength(1);
    const encap = client.replica.get('Encap', (row.encaps as string[])[0]!)!;
    expect(encap.ip).toBe('127.0.0.9');

    rec.events.length = 0;
    await sbctl('set', 'Chassis', name, 'hostname=host-a', 'external_ids:ovn-bridge-mappings=phys:br-ex');
    await waitFor(() => byName()?.hostname === 'host-a', 5_000, 'hostname update');
    const update = rec.events.find((e) => e.type === 'update' && e.table === 'Chassis')!;
    expect(update.old).toMatchObject({ hostname: '' });
    expect(update.new!.external_ids).toEqual(new Map([['ovn-bridge-mappings', 'phys:br-ex']]));

    await sbctl('chassis-del', name);
    await waitFor(() => byName() === undefined, 5_000, 'chassis delete');
    expect(rec.events).toContainEqual(
      expect.objectContaining({ table: 'Chassis', type: 'delete', uuid: row._uuid }),
    );
    expect(client.replica.get('Encap', encap._uuid)).toBeUndefined();
  });

  it('writes Chassis_Private.external_ids with a mutate and sees its own write', async () => {
    const name = `chp-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
    const client = newClient(remote()).monitor({
      Chassis_Private: { columns: ['name', 'external_ids', 'nb_cfg'] },
    });
    await client.start();
    const [inserted] = await client.transact([op.insert('Chassis_Private', { name, nb_cfg: 0 })]);
    expect(inserted!.uuid).toMatch(uuidRe);
    const key = 'neutron:ovn-metadata-id';
    const results = await client.transact([
      op.mutate(
        'Chassis_Private',
        [['name', '==', name]],
        [['external_ids', 'insert', map({ [key]: 'abc' })]],
      ),
    ]);
    expect(results[0]!.count).toBe(1);
    const row = await waitFor(() => {
      const r = client.replica.get('Chassis_Private', inserted!.uuid!);
      return r && (r.external_ids as ReadonlyMap<string, string>).get(key) === 'abc' ? r : undefined;
    });
    expect(row.name).toBe(name);
    const { stdout } = await sbctl('--bare', '--columns=external_ids', 'list', 'Chassis_Private', name);
    expect(stdout).toBe('neutron:ovn-metadata-id=abc');
  });

  it('rejects a failing transaction with OVSDB_TXN_FAILED and keeps working', async () => {
    const client = newClient(remote()).monitor({ SB_Global: {} });
    await client.start();
    const err = await client
      .transact([op.insert('Chassis_Private', { name: 'x' }), op.insert('Chassis_Private', { name: 'x' })])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'OVSDB_TXN_FAILED', retryable: false });
    expect((err as { failures: { error: string }[] }).failures[0]!.error).toBe('constraint violation');
    await expect(client.transact([op.select('SB_Global', [true], ['nb_cfg'])])).resolves.toHaveLength(1);
  });
});

describe('OvsdbClient reconnect (standalone SB)', () => {
  it('converges after the server is killed and restarted, with a resync of only real differences', async () => {
    const keep = `keep-${process.pid}`;
    const gone = `gone-${process.pid}`;
    await sbctl(
      'chassis-add',
      keep,
      'geneve',
      '127.0.0.10',
      '--',
      'chassis-add',
      gone,
      'geneve',
      '127.0.0.11',
    );
    const client = newClient(server.tcpRemote).monitor({ Chassis: { columns: ['name', 'hostname'] } });
    const rec = record(client);
    await client.start();
    const names = () => new Set([...client.replica.table('Chassis').values()].map((r) => r.name));
    expect(names()).toContain(gone);

    const disconnected = nextStatus(client, 'disconnected');
    await server.kill();
    expect((await disconnected).error.code).toBe('OVSDB_DISCONNECTED');
    // Change the database while the client is away: it must converge.
    const synced = nextStatus(client, 'synced');
    await server.restart();
    await sbctl('chassis-del', gone, '--', 'set', 'Chassis', keep, 'hostname=after');
    expect(await synced).toMatchObject({ resumed: false }); // standalone: full snapshot
    await waitFor(
      () =>
        !names().has(gone) &&
        [...client.replica.table('Chassis').values()].some((r) => r.hostname === 'after'),
    );
    expect(client.stats.resyncs).toBeGreaterThanOrEqual(2);
    // The resync emitted no insert for rows that were there all along.
    const afterReconnect = rec.events.filter(
      (e) => e.table === 'Chassis' && e.type === 'insert' && e.new!.name === keep,
    );
    expect(afterReconnect).toHaveLength(1); // only from the initial load
    await sbctl('chassis-del', keep);
  });

  it('narrows and widens monitor conditions (monitor_cond_change)', async () => {
    const a = `cond-a-${process.pid}`;
    const b = `cond-b-${process.pid}`;
    await sbctl('chassis-add', a, 'geneve', '127.0.0.12', '--', 'chassis-add', b, 'geneve', '127.0.0.13');
    const client = newClient(server.unixRemote).monitor({
      Chassis: { columns: ['name'], where: [['name', '==', a]] },
    });
    const rec = record(client);
    await client.start();
    const names = () => [...client.replica.table('Chassis').values()].map((r) => r.name).sort();
    expect(names()).toEqual([a]);
    rec.events.length = 0;
    await client.setConditions({ Chassis: [['name', '==', b]] });
    await waitFor(() => names().join() === b, 5_000, 'narrowed to b');
    expect(rec.events.map((e) => e.type).sort()).toEqual(['delete', 'insert']);
    await client.setConditions({ Chassis: [['name', 'includes', a], true] });
    await waitFor(() => names().includes(a) && names().includes(b), 5_000, 'widened');
    // Conditions survive a reconnect.
    await client.setConditions({ Chassis: [['name', '==', a]] });
    await waitFor(() => names().join() === a, 5_000, 'back to a');
    const synced = nextStatus(client, 'synced');
    await server.restart();
    await synced;
    expect(names()).toEqual([a]);
    await sbctl('chassis-del', a, '--', 'chassis-del', b);
  });

  it('loads a large database (the monitor reply streamed row by row) exactly as select returns it', async () => {
    const writer = newClient(server.unixRemote).monitor({ SB_Global: {} });
    await writer.start();
    const [dp] = await writer.transact([
      op.insert('Datapath_Binding', { tunnel_key: 4000 + (process.pid % 1000) }),
    ]);
    const ops = [];
    for (let i = 0; i < 3_000; i++) {
      ops.push(
        op.insert('Port_Binding', {
          logical_port: `big-${process.pid}-${i}`,
          datapath: ['uuid', dp!.uuid!],
          tunnel_key: i + 1,
          mac: `fa:16:3e:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')} 10.9.${i >> 8}.${i & 255}`,
          external_ids: map({
            'neutron:cidrs': `10.9.${i >> 8}.${i & 255}/16`,
            'neutron:device_id': `dev "${i}" {x}`,
          }),
        }),
      );
    }
    await writer.transact(ops);
    const client = newClient(server.tcpRemote).monitor({
      Port_Binding: { columns: ['logical_port', 'mac', 'external_ids', 'datapath'] },
    });
    // The reply spans many socket chunks: rows must have reached the
    // replica's load while later chunks were still to come.
    const adds = vi.spyOn(SnapshotLoad.prototype, 'add');
    const push = MessageDecoder.prototype.push;
    const rowsAtChunk: number[] = [];
    vi.spyOn(MessageDecoder.prototype, 'push').mockImplementation(function (this: MessageDecoder, chunk) {
      rowsAtChunk.push(adds.mock.calls.length);
      push.call(this, chunk);
    });
    await client.start();
    vi.restoreAllMocks();
    expect(rowsAtChunk.some((n) => n > 0 && n < 3_000)).toBe(true);
    const [selected] = await client.transact([
      op.select(
        'Port_Binding',
        [['datapath', '==', ['uuid', dp!.uuid!]]],
        ['_uuid', 'logical_port', 'external_ids'],
      ),
    ]);
    const wireRows = selected!.rows as {
      _uuid: [string, string];
      logical_port: string;
      external_ids: [string, [string, string][]];
    }[];
    expect(wireRows).toHaveLength(3_000);
    for (const w of wireRows) {
      const row = client.replica.get('Port_Binding', w._uuid[1])!;
      expect(row.logical_port).toBe(w.logical_port);
      expect(row.external_ids).toEqual(new Map(w.external_ids[1]));
    }
    await writer.transact([
      op.delete('Port_Binding', [['datapath', '==', ['uuid', dp!.uuid!]]]),
      op.delete('Datapath_Binding', [['_uuid', '==', ['uuid', dp!.uuid!]]]),
    ]);
  });
});
