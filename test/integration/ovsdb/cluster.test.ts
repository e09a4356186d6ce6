// OvsdbClient against a real 3-member Raft cluster of the OVN SB database:
// resume with deltas only (monitor_cond_since found=true), leadership
// transfer, a killed member, leaderOnly, and the inactivity probe dropping a
// SIGSTOPped member.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { OvsdbClient, type OvsdbClientOptions } from '../../../src/ovsdb/index.js';
import { stopAllDaemons } from '../../support/daemon.js';
import { startOvsdbCluster, type OvsdbCluster } from '../../support/ovsdb-server.js';
import { nextStatus, record, testLogger, waitFor } from './helpers.js';

let cluster: OvsdbCluster;
const clients: OvsdbClient[] = [];

beforeAll(async () => {
  cluster = await startOvsdbCluster({ schema: 'sb' });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  // Every test leaves all members running and resumed.
  stopped.clear();
  for (const m of cluster.members) {
    if (!m.running) await m.start();
    else m.sigcont();
  }
  await Promise.all(
    cluster.members.map((m) => execa('ovsdb-client', ['wait', m.unixRemote, 'OVN_Southbound', 'connected'])),
  );
});
afterAll(async () => {
  await cluster?.stop();
  await stopAllDaemons();
});

/**
 * ovn-sbctl against the running, unstopped members. Retried: right after a
 * member dies the cluster may be electing a leader for a second or two.
 */
async function sbctl(...args: string[]) {
  const db = cluster.members
    .filter((m, i) => m.running && !stopped.has(i))
    .map((m) => m.unixRemote)
    .join(',');
  for (let attempt = 1; ; attempt++) {
    try {
      return await execa('ovn-sbctl', [`--db=${db}`, '--timeout=5', ...args]);
    } catch (error) {
      if (attempt >= 10) throw error;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}
const stopped = new Set<number>();

function newClient(extra: Partial<OvsdbClientOptions> = {}): OvsdbClient {
  const client = new OvsdbClient({
    remote: cluster.unixRemote,
    database: 'OVN_Southbound',
    maxBackoffMs: 400,
    logger: testLogger,
    ...extra,
  });
  clients.push(client);
  return client;
}

const unique = (p: string): string => `${p}-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;

/** Index of the member a client is connected to. */
function memberOf(client: OvsdbClient): number {
  const remote = client.status!.remote;
  return cluster.members.findIndex((m) => m.unixRemote === remote || m.tcpRemote === remote);
}

describe('OvsdbClient on a Raft cluster', () => {
  it('resumes after a reconnect with deltas only (found=true, no resync)', async () => {
    const before = unique('before');
    await sbctl('chassis-add', before, 'geneve', '127.0.1.1');
    const client = newClient().monitor({ Chassis: { columns: ['name', 'hostname'] } });
    const rec = record(client);
    await client.start();
    expect(client.stats).toMatchObject({ syncs: 1, resyncs: 1, resumes: 0 });
    const names = () => new Set([...client.replica.table('Chassis').values()].map((r) => r.name));
    expect(names()).toContain(before);

    // Kill the member the client uses; write while it reconnects elsewhere.
    const victim = memberOf(client);
    rec.events.length = 0;
    const synced = nextStatus(client, 'synced');
    await cluster.members[victim]!.kill();
    const during = unique('during');
    await sbctl('chassis-add', during, 'geneve', '127.0.1.2');
    const s = await synced;
    expect(s).toMatchObject({ type: 'synced', resumed: true });
    expect(memberOf(client)).not.toBe(victim);
    await waitFor(() => names().has(during), 5_000, 'row written during the outage');
    expect(client.stats).toMatchObject({ resyncs: 1, resumes: 1 });
    // Deltas only: the row that was there before was not re-sent as an insert.
    expect(rec.events.filter((e) => e.new?.name === before)).toEqual([]);
    expect(rec.events.filter((e) => e.type === 'insert').map((e) => e.new!.name)).toContain(during);
    await sbctl('chassis-del', before, '--', 'chassis-del', during);
  });

  it('follows a leadership transfer and keeps transacting (leaderOnly)', async () => {
    const client = newClient({ leaderOnly: true }).monitor({
      SB_Global: {},
      Chassis_Private: { columns: ['name'] },
    });
    await client.start();
    const leader = await cluster.leader();
    expect(memberOf(client)).toBe(leader);

    const dropped = nextStatus(client, 'disconnected');
    const moved = nextStatus(client, 'synced');
    await cluster.members[leader]!.appctl('cluster/failure-test', 'transfer-leadership');
    // _Server's Database row says leader=false: the client leaves at once.
    expect((await dropped).error.code).toBe('OVSDB_DB_UNAVAILABLE');
    await moved;
    const newLeader = await cluster.leader();
    expect(newLeader).not.toBe(leader);
    await waitFor(
      () => memberOf(client) === newLeader && client.status!.type === 'synced',
      10_000,
      'on new leader',
    );
    const name = unique('lead');
    const [r] = await client.transact([{ op: 'insert', table: 'Chassis_Private', row: { name } }]);
    await waitFor(() => client.replica.get('Chassis_Private', r!.uuid!), 5_000, 'own insert');
    await sbctl('destroy', 'Chassis_Private', name);
  });

  it('drops a SIGSTOPped member through the inactivity probe and moves on', async () => {
    const client = newClient({ probeIntervalMs: 300 }).monitor({ Chassis: { columns: ['name'] } });
    record(client);
    await client.start();
    const stuck = memberOf(client);
    const disconnected = nextStatus(client, 'disconnected');
    const synced = nextStatus(client, 'synced');
    const t0 = Date.now();
    stopped.add(stuck);
    cluster.members[stuck]!.sigstop();
    const d = await disconnected;
    const waited = Date.now() - t0;
    expect(d.error.code).toBe('OVSDB_PROBE_TIMEOUT');
    expect(waited).toBeGreaterThanOrEqual(550);
    expect(waited).toBeLessThan(3_000);
    await synced;
    expect(memberOf(client)).not.toBe(stuck);
    const name = unique('probe');
    await sbctl('chassis-add', name, 'geneve', '127.0.1.3');
    await waitFor(() => [...client.replica.table('Chassis').values()].some((r) => r.name === name), 5_000);
    await sbctl('chassis-del', name);
  });

  it('uses the tcp remotes of all members and survives two members going away in turn', async () => {
    const client = newClient({ remote: cluster.tcpRemote }).monitor({ Chassis: { columns: ['name'] } });
    await client.start();
    const first = memberOf(client);
    let synced = nextStatus(client, 'synced');
    await cluster.members[first]!.kill();
    await synced;
    const second = memberOf(client);
    expect(second).not.toBe(first);
    await cluster.members[first]!.start();
    await execa('ovsdb-client', ['wait', cluster.members[first]!.unixRemote, 'OVN_Southbound', 'connected']);
    synced = nextStatus(client, 'synced');
    await cluster.members[second]!.kill();
    await synced;
    expect([first, second]).not.toContain(-1);
    expect(memberOf(client)).not.toBe(second);
    const name = unique('tcp');
    await sbctl('chassis-add', name, 'geneve', '127.0.1.4');
    await waitFor(() => [...client.replica.table('Chassis').values()].some((r) => r.name === name), 5_000);
    await sbctl('chassis-del', name);
  });
});
