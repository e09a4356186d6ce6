// OvsdbClient over SSL (ovs-pki certificates, chain verified, no host name)
// against the Open_vSwitch schema, and bad input that must not crash it:
// unknown tables, invalid operations, a peer that speaks garbage.
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { OvsdbClient, map, op } from '../../../src/ovsdb/index.js';
import { stopAllDaemons } from '../../support/daemon.js';
import { destroyOvsdbServer, startOvsdbServer, type OvsdbServer } from '../../support/ovsdb-server.js';
import { nextStatus, record, testLogger, waitFor } from './helpers.js';

let server: OvsdbServer;
beforeAll(async () => {
  server = await startOvsdbServer({ schema: 'ovs', tcp: false, ssl: true });
  await execa('ovs-vsctl', [`--db=${server.unixRemote}`, '--no-wait', 'init']);
});
afterAll(async () => {
  await destroyOvsdbServer(server);
  await stopAllDaemons();
});

describe('OvsdbClient over ssl: (Open_vSwitch schema)', () => {
  it('connects with key, certificate and CA, loads and follows ovs-vsctl writes', async () => {
    const client = new OvsdbClient({
      remote: server.sslRemote,
      database: 'Open_vSwitch',
      ssl: server.sslFiles,
    });
    client.monitor({
      Open_vSwitch: { columns: ['external_ids', 'bridges'] },
      Bridge: { columns: ['name', 'datapath_type'] },
    });
    const rec = record(client);
    try {
      await client.start();
      expect(client.replica.table('Open_vSwitch').size).toBe(1);
      const br = `brt${process.pid % 100000}`;
      await execa('ovs-vsctl', [
        `--db=${server.unixRemote}`,
        '--no-wait',
        'add-br',
        br,
        '--',
        'set',
        'bridge',
        br,
        'datapath_type=netdev',
      ]);
      const bridge = await waitFor(() =>
        [...client.replica.table('Bridge').values()].find((r) => r.name === br),
      );
      expect(bridge.datapath_type).toBe('netdev');
      expect(rec.events).toContainEqual(expect.objectContaining({ table: 'Bridge', type: 'insert' }));
      // Write external_ids through the client, read them back with ovs-vsctl.
      const ovs = [...client.replica.table('Open_vSwitch').values()][0]!;
      await client.transact([
        op.mutate(
          'Open_vSwitch',
          [['_uuid', '==', ['uuid', ovs._uuid]]],
          [['external_ids', 'insert', map({ 'system-id': 'ch-ssl' })]],
        ),
      ]);
      const { stdout } = await execa('ovs-vsctl', [
        `--db=${server.unixRemote}`,
        'get',
        'open',
        '.',
        'external_ids:system-id',
      ]);
      expect(stdout).toBe('ch-ssl');
      await waitFor(
        () =>
          (client.replica.get('Open_vSwitch', ovs._uuid)!.external_ids as ReadonlyMap<string, string>).get(
            'system-id',
          ) === 'ch-ssl',
      );
    } finally {
      await client.close();
    }
  });

  it('refuses a server whose certificate is not signed by the given CA', async () => {
    const other = await mkdtemp(join(tmpdir(), 'ovsdbt-ca-'));
    try {
      await execa('ovs-pki', [`--dir=${other}/pki`, 'init', '--force']);
      const client = new OvsdbClient({
        remote: server.sslRemote,
        database: 'Open_vSwitch',
        ssl: { ...server.sslFiles, caCert: join(other, 'pki/switchca/cacert.pem') },
        maxBackoffMs: 200,
      });
      client.monitor({ Open_vSwitch: {} });
      const failed = nextStatus(client, 'disconnected');
      void client.start();
      expect((await failed).error.code).toBe('OVSDB_CONNECT_FAILED');
      await client.close();
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

describe('OvsdbClient and bad input (real server)', () => {
  it('skips an unknown table, reports invalid operations as errors, and keeps its connection', async () => {
    const client = new OvsdbClient({ remote: server.unixRemote, database: 'Open_vSwitch' });
    client.monitor({ No_Such_Table: {}, Bridge: { columns: ['name', 'no_such_column'] } });
    try {
      await client.start();
      expect(() => client.replica.table('No_Such_Table')).toThrow(
        expect.objectContaining({ code: 'OVSDB_NOT_MONITORED' }),
      );
      const bad = await client
        .transact([{ op: 'insert', table: 'Bridge', row: { name: 7 } } as never])
        .catch((e: unknown) => e);
      expect(bad).toMatchObject({ code: 'OVSDB_TXN_FAILED' });
      const unknown = await client
        .transact([{ op: 'frobnicate', table: 'Bridge' } as never])
        .catch((e: unknown) => e);
      expect(unknown).toMatchObject({ code: 'OVSDB_TXN_FAILED' });
      expect(client.status).toMatchObject({ type: 'synced' });
      expect(client.stats.disconnects).toBe(0);
    } finally {
      await client.close();
    }
  });

  it('survives a peer that sends garbage, then converges once a real server answers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ovsdbt-rogue-'));
    const path = join(dir, 'rogue.sock');
    const sockets = new Set<Socket>();
    let rogue: Server | undefined = createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.end('{"id":null,"method":"update3"} ]]] not json');
    });
    const closeRogue = async (): Promise<void> => {
      const r = rogue;
      rogue = undefined;
      if (!r) return;
      const closed = new Promise<void>((resolve) => r.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    };
    await new Promise<void>((r) => rogue!.listen(path, r));
    const client = new OvsdbClient({
      remote: `unix:${path}`,
      database: 'Open_vSwitch',
      maxBackoffMs: 100,
      logger: testLogger,
    });
    client.monitor({ Bridge: { columns: ['name'] } });
    const rec = record(client);
    try {
      const started = client.start();
      await waitFor(
        () => rec.statuses.filter((s) => s.type === 'disconnected').length >= 3,
        10_000,
        'rejections',
      );
      const codes = new Set(rec.statuses.flatMap((s) => (s.type === 'disconnected' ? [s.error.code] : [])));
      expect([...codes].every((c) => ['OVSDB_MALFORMED_MESSAGE', 'OVSDB_DISCONNECTED'].includes(c))).toBe(
        true,
      );
      expect(codes.has('OVSDB_MALFORMED_MESSAGE')).toBe(true);
      // Replace the rogue with a proxy to the real server's socket.
      await closeRogue();
      await rm(path, { force: true });
      await execa('ln', ['-s', server.sock, path]);
      await started;
      expect(client.status).toMatchObject({ type: 'synced' });
    } finally {
      await client.close();
      await closeRogue();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
