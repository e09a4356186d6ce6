// planOvsPort / planOvsPortRemoval against a real ovsdb-server with the
// Open_vSwitch schema (no ovs-vswitchd: only the database matters here).
// Rows are read with a `select` transaction and turned into replica format;
// the planned operations are run with `ovsdb-client transact`; the result is
// checked with ovs-vsctl and by planning again (which must give nothing).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { planOvsPort, planOvsPortRemoval, type OvsRow, type OvsRows } from '../../../src/namespace/index.js';
import { destroyOvsdbServer, startOvsdbServer, type OvsdbServer } from '../../support/ovsdb-server.js';

let server: OvsdbServer;
let n = 0;

beforeAll(async () => {
  server = await startOvsdbServer({ schema: 'ovs', tcp: false });
  await vsctl('init');
  await vsctl('add-br', 'br-int', '--', 'add-br', 'br-ex');
});
afterAll(async () => {
  await destroyOvsdbServer(server);
});

function vsctl(...args: string[]): Promise<string> {
  return execa('ovs-vsctl', [`--db=${server.unixRemote}`, '--no-wait', ...args]).then((r) => r.stdout);
}

/** `ovs-vsctl get`, without the quotes it adds to some strings. */
async function vsget(...args: string[]): Promise<string> {
  return (await vsctl('get', ...args)).replace(/^"(.*)"$/, '$1');
}

/** RFC 7047 §5.1 wire datum -> replica row value. Set columns listed in `sets` always become arrays. */
function decode(value: unknown, isSet: boolean): unknown {
  if (Array.isArray(value)) {
    const [tag, body] = value as [string, unknown];
    if (tag === 'uuid') return isSet ? [body] : body;
    if (tag === 'set') return (body as unknown[]).map((v) => decode(v, false));
    if (tag === 'map')
      return new Map((body as [unknown, unknown][]).map(([k, v]) => [decode(k, false), decode(v, false)]));
  }
  return isSet ? [value] : value;
}

async function readRows(): Promise<OvsRows> {
  const tables = ['Bridge', 'Port', 'Interface'] as const;
  const reply = (await server.transact(tables.map((table) => ({ op: 'select', table, where: [] })))) as {
    rows: Record<string, unknown>[];
  }[];
  const sets = new Set(['ports', 'interfaces']);
  const toMap = (rows: Record<string, unknown>[]) =>
    new Map(
      rows.map((wire) => {
        const row: Record<string, unknown> = {};
        for (const [col, v] of Object.entries(wire)) row[col] = decode(v, sets.has(col));
        return [row._uuid as string, row as OvsRow];
      }),
    );
  return { Bridge: toMap(reply[0]!.rows), Port: toMap(reply[1]!.rows), Interface: toMap(reply[2]!.rows) };
}

async function transact(ops: readonly unknown[]): Promise<unknown[]> {
  const results = await server.transact(ops);
  return results;
}

const failed = (results: unknown[]) =>
  results.filter((r) => r !== null && typeof r === 'object' && 'error' in r);

function portName(): string {
  return `tapovs${process.pid % 10000}-${n++}`.slice(0, 15);
}

async function plugAndConverge(port: string, ifaceId: string): Promise<void> {
  const ops = planOvsPort({ bridge: 'br-int', port, ifaceId }, await readRows());
  expect(ops.length).toBeGreaterThan(0);
  expect(failed(await transact(ops))).toEqual([]);
  expect(planOvsPort({ bridge: 'br-int', port, ifaceId }, await readRows())).toEqual([]);
  expect((await vsctl('list-ports', 'br-int')).split('\n')).toContain(port);
  expect(await vsget('Interface', port, 'external_ids:iface-id')).toBe(ifaceId);
  expect(await vsctl('port-to-br', port)).toBe('br-int');
}

describe('planOvsPort on a real Open_vSwitch database', () => {
  it('plugs a new port; planning again gives nothing', async () => {
    await plugAndConverge(portName(), 'meta-1');
  });

  it('moves a port from another bridge, keeping its row and other external_ids', async () => {
    const port = portName();
    await vsctl(
      'add-port',
      'br-ex',
      port,
      '--',
      'set',
      'Interface',
      port,
      'external_ids:iface-id=old',
      'external_ids:keep=me',
    );
    const uuidBefore = await vsctl('get', 'Port', port, '_uuid');
    await plugAndConverge(port, 'meta-2');
    expect(await vsctl('get', 'Port', port, '_uuid')).toBe(uuidBefore);
    expect(await vsctl('list-ports', 'br-ex')).not.toContain(port);
    expect(await vsget('Interface', port, 'external_ids:keep')).toBe('me');
  });

  it('corrects an internal interface type', async () => {
    const port = portName();
    await vsctl('add-port', 'br-int', port, '--', 'set', 'Interface', port, 'type=internal');
    await plugAndConverge(port, 'meta-3');
    expect(await vsget('Interface', port, 'type')).toBe('');
  });

  it('replaces a bond of the same name in one transaction (GC before the unique index check)', async () => {
    const port = portName();
    await vsctl('add-bond', 'br-int', port, `${port}a`, `${port}b`);
    await plugAndConverge(port, 'meta-4');
    expect(await vsctl('list-ifaces', 'br-int')).not.toContain(`${port}a`);
  });

  it('plans for two networks fit in one transaction', async () => {
    const [a, b] = [portName(), portName()];
    const rows = await readRows();
    const ops = [
      ...planOvsPort({ bridge: 'br-int', port: a, ifaceId: 'ma' }, rows),
      ...planOvsPort({ bridge: 'br-int', port: b, ifaceId: 'mb' }, rows),
    ];
    expect(failed(await transact(ops))).toEqual([]);
    const after = await readRows();
    expect(planOvsPort({ bridge: 'br-int', port: a, ifaceId: 'ma' }, after)).toEqual([]);
    expect(planOvsPort({ bridge: 'br-int', port: b, ifaceId: 'mb' }, after)).toEqual([]);
  });

  it('a stale plan replayed fails as a whole and changes nothing', async () => {
    const port = portName();
    const ops = planOvsPort({ bridge: 'br-int', port, ifaceId: 'meta-5' }, await readRows());
    expect(failed(await transact(ops))).toEqual([]);
    const before = await readRows();
    const replay = await transact(ops);
    expect(failed(replay)).toEqual([expect.objectContaining({ error: 'constraint violation' })]);
    const after = await readRows();
    expect([...after.Port.keys()].sort()).toEqual([...before.Port.keys()].sort());
  });

  it('removal takes the port off every bridge and the rows are garbage-collected', async () => {
    const port = portName();
    await plugAndConverge(port, 'meta-6');
    const ops = planOvsPortRemoval(port, await readRows());
    expect(ops).toHaveLength(1);
    expect(failed(await transact(ops))).toEqual([]);
    const rows = await readRows();
    expect([...rows.Port.values()].some((p) => p.name === port)).toBe(false);
    expect([...rows.Interface.values()].some((i) => i.name === port)).toBe(false);
    expect(planOvsPortRemoval(port, rows)).toEqual([]);
  });
});
