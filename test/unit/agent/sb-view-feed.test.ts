// SbView and IdentityFeed over a real Replica built from a literal SB
// snapshot (the OVN SB schema Debian ships, from test/fixtures; no server).
import { beforeEach, describe, expect, it } from 'vitest';
import { IdentityFeed } from '../../../src/agent/identity-feed.js';
import { SB_COLUMNS } from '../../../src/agent/sb-monitor.js';
import { SbView, sbIndexes } from '../../../src/agent/sb-view.js';
import type { RowEventLike } from '../../../src/agent/triggers.js';
import { Replica } from '../../../src/ovsdb/index.js';
import { IdentityIndex } from '../../../src/proxy/index.js';
import { sbSchema } from '../schemas.js';

const schema = sbSchema();
const NET = '76af9baf-9fa4-4631-8f1d-5610ef87a036';
const CH = 'c0000000-0000-4000-8000-000000000001';
const OTHER = 'c0000000-0000-4000-8000-000000000002';
const DP = 'd0000000-0000-4000-8000-000000000001';
const uuidN = (i: number): string => `a0000000-0000-4000-8000-00000000000${i}`;
const [VM1, VM2, MIG, META] = [uuidN(1), uuidN(2), uuidN(3), uuidN(4)] as const;

const pb = (over: Record<string, unknown>) => ({
  initial: { type: '', datapath: ['uuid', DP], tunnel_key: 1, ...over },
});

function snapshot() {
  return {
    Chassis: { [CH]: { initial: { name: 'ch1' } } },
    Datapath_Binding: {
      [DP]: { initial: { tunnel_key: 1, external_ids: ['map', [['name', `neutron-${NET}`]]] } },
    },
    Port_Binding: {
      [VM1]: pb({
        logical_port: 'vm1',
        chassis: ['uuid', CH],
        mac: 'fa:16:3e:00:00:01 10.0.0.11',
        external_ids: [
          'map',
          [
            ['neutron:device_id', 'inst-1'],
            ['neutron:project_id', 'proj'],
          ],
        ],
      }),
      [VM2]: pb({
        logical_port: 'vm2',
        chassis: ['uuid', OTHER],
        mac: 'fa:16:3e:00:00:02 10.0.0.12',
        external_ids: [
          'map',
          [
            ['neutron:device_id', 'inst-2'],
            ['neutron:project_id', 'proj'],
          ],
        ],
      }),
      [MIG]: pb({
        logical_port: 'vm3',
        chassis: ['uuid', OTHER],
        additional_chassis: ['uuid', CH],
        mac: 'fa:16:3e:00:00:03 10.0.0.13 fd00::13',
        external_ids: [
          'map',
          [
            ['neutron:device_id', 'inst-3'],
            ['neutron:project_id', 'proj'],
          ],
        ],
      }),
      [META]: pb({
        logical_port: 'meta',
        type: 'localport',
        mac: 'fa:16:3e:00:00:aa 10.0.0.2',
        external_ids: [
          'map',
          [
            ['neutron:device_owner', 'network:distributed'],
            ['neutron:cidrs', '10.0.0.2/24'],
          ],
        ],
      }),
    },
  };
}

let replica: Replica;
let view: SbView;
let index: IdentityIndex;
let feed: IdentityFeed;
const problems: string[] = [];

beforeEach(() => {
  const tables = Object.fromEntries(
    (['Chassis', 'Port_Binding', 'Datapath_Binding'] as const).map((t) => [
      t,
      { columns: [...SB_COLUMNS[t]] },
    ]),
  );
  replica = new Replica(schema, tables);
  for (const [table, indexes] of Object.entries(sbIndexes)) {
    for (const [name, fn] of Object.entries(indexes)) replica.addIndex(table, name, fn);
  }
  replica.resync(snapshot());
  view = new SbView(replica);
  index = new IdentityIndex();
  feed = new IdentityFeed(
    index,
    view,
    () => CH,
    (port, err) => problems.push(`${port}: ${String(err)}`),
  );
  for (const dp of [DP]) feed.refeed([dp]);
});

const apply = (updates: unknown) =>
  feed.onEvents(replica.applyUpdates(2, updates) as readonly RowEventLike[]);

describe('SbView', () => {
  it('gathers one network through indexes: local ports (bound or migrating here) and the metadata port', () => {
    expect(view.chassisUuid('ch1')).toBe(CH);
    const inputs = view.inputs(NET, CH);
    expect(inputs.datapath).toEqual({ uuid: DP, networkId: NET });
    expect(inputs.localPorts.map((p) => p.logicalPort).sort()).toEqual(['vm1', 'vm3']);
    expect(inputs.metadataPorts.map((p) => p.logicalPort)).toEqual(['meta']);
    expect(view.scanLocalNetworks(CH)).toEqual({ datapaths: new Set([DP]), networks: new Set([NET]) });
    expect(view.inputs('unknown-net', CH).datapath).toBeUndefined();
  });
});

describe('IdentityFeed', () => {
  it('indexes the ports of this chassis, IPv4 and IPv6, and not the others', () => {
    expect(index.lookup(NET, '10.0.0.11')).toMatchObject({ kind: 'found', instanceId: 'inst-1' });
    expect(index.lookup(NET, '10.0.0.13')).toMatchObject({ kind: 'found', instanceId: 'inst-3' });
    expect(index.lookup(NET, 'fd00::13')).toMatchObject({ kind: 'found', instanceId: 'inst-3' });
    expect(index.lookup(NET, '10.0.0.12')).toEqual({ kind: 'none' });
    expect(index.lookup(NET, '10.0.0.2')).toEqual({ kind: 'none' });
    expect(problems).toEqual([]);
  });

  it('follows unbinding, IP changes and deletes as the events come', () => {
    // An optional column's update2 difference is its new value (ovsdb_datum_diff).
    apply({ Port_Binding: { [VM1]: { modify: { chassis: ['set', []] } } } });
    expect(index.lookup(NET, '10.0.0.11')).toEqual({ kind: 'none' });
    apply({
      Port_Binding: {
        [MIG]: {
          modify: { mac: ['set', ['fa:16:3e:00:00:03 10.0.0.13 fd00::13', 'fa:16:3e:00:00:03 10.0.0.99']] },
        },
      },
    });
    expect(index.lookup(NET, '10.0.0.13')).toEqual({ kind: 'none' });
    expect(index.lookup(NET, '10.0.0.99')).toMatchObject({ kind: 'found', instanceId: 'inst-3' });
    apply({ Port_Binding: { [MIG]: { delete: null } } });
    expect(index.lookup(NET, '10.0.0.99')).toEqual({ kind: 'none' });
  });

  it('keeps ports bound elsewhere out of the index (sb_monitor = all holds the whole cloud), and a rebind works', () => {
    // VM2 is bound to another chassis from the start: never indexed.
    expect(index.size).toBe(2);
    // VM1 unbound, then bound again: kept (unbound) in between, found again after.
    apply({ Port_Binding: { [VM1]: { modify: { chassis: ['set', []] } } } });
    expect(index.size).toBe(2);
    apply({ Port_Binding: { [VM1]: { modify: { chassis: ['uuid', CH] } } } });
    expect(index.lookup(NET, '10.0.0.11')).toMatchObject({ kind: 'found', instanceId: 'inst-1' });
    // VM2 bound here now: indexed.
    apply({ Port_Binding: { [VM2]: { modify: { chassis: ['uuid', CH] } } } });
    expect(index.lookup(NET, '10.0.0.12')).toMatchObject({ kind: 'found', instanceId: 'inst-2' });
  });
});
