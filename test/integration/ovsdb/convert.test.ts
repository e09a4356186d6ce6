// An online schema conversion (ovsdb-client convert, as an OVN upgrade does):
// the db-change-aware client gets monitor_canceled (ovsdb-server(7) §4.1.18),
// reconnects, reads the new schema and keeps one replica, with the same
// listeners, that goes on following changes.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execa } from 'execa';
import { OvsdbClient } from '../../../src/ovsdb/index.js';
import { stopAllDaemons } from '../../support/daemon.js';
import {
  SCHEMAS,
  destroyOvsdbServer,
  startOvsdbServer,
  type OvsdbServer,
} from '../../support/ovsdb-server.js';
import { nextStatus, record, waitFor } from './helpers.js';

let server: OvsdbServer;
beforeAll(async () => {
  server = await startOvsdbServer({ schema: 'sb', tcp: false });
});
afterAll(async () => {
  await destroyOvsdbServer(server);
  await stopAllDaemons();
});

it('follows an online schema conversion with the same replica and listeners', async () => {
  const sbctl = (...args: string[]) => execa('ovn-sbctl', [`--db=${server.unixRemote}`, ...args]);
  await sbctl('chassis-add', 'conv-1', 'geneve', '127.0.2.1');
  const client = new OvsdbClient({
    remote: server.unixRemote,
    database: 'OVN_Southbound',
    maxBackoffMs: 200,
  });
  client.monitor({ Chassis: {}, SB_Global: { columns: ['nb_cfg'] } });
  const rec = record(client);
  try {
    await client.start();
    const replica = client.replica;
    const problems: unknown[] = [];
    replica.on('problems', (p) => problems.push(...p));
    const oldVersion = client.schema.version;
    expect([...replica.table('Chassis').values()].map((r) => r.name)).toEqual(['conv-1']);

    // A newer schema: one more column in Chassis, version bumped.
    const schema = JSON.parse(await readFile(SCHEMAS.sb, 'utf8')) as {
      version: string;
      tables: Record<string, { columns: Record<string, unknown> }>;
    };
    schema.version = schema.version.replace(/\d+$/, (n) => String(Number(n) + 1));
    schema.tables.Chassis!.columns.upgrade_note = { type: { key: 'string', min: 0, max: 1 } };
    const file = join(server.dir, 'new.ovsschema');
    await writeFile(file, JSON.stringify(schema));
    rec.events.length = 0;
    const dropped = nextStatus(client, 'disconnected');
    const synced = nextStatus(client, 'synced');
    await execa('ovsdb-client', ['convert', server.unixRemote, file]);
    expect((await dropped).error.message).toMatch(/monitor canceled/);
    await synced;
    expect(client.schema.version).toBe(schema.version);
    expect(client.schema.version).not.toBe(oldVersion);
    expect(client.replica).toBe(replica);
    // Same rows; the resync reports only what really changed: the conversion
    // rewrote the row, so its _version (and nothing else) is new.
    expect([...replica.table('Chassis').values()].map((r) => r.name)).toEqual(['conv-1']);
    expect(rec.events).toHaveLength(1);
    expect(Object.keys(rec.events[0]!.old!).sort()).toEqual(['_uuid', '_version']);
    // The new column is not requested: the replica's decoders do not know it.
    expect(problems).toEqual([]);
    // Changes keep flowing to the same listeners.
    await sbctl('chassis-add', 'conv-2', 'geneve', '127.0.2.2');
    await waitFor(() => [...replica.table('Chassis').values()].some((r) => r.name === 'conv-2'));
    expect(rec.events).toContainEqual(expect.objectContaining({ table: 'Chassis', type: 'insert' }));
  } finally {
    await client.close();
  }
});
