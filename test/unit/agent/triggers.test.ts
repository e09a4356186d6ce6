import { describe, expect, it } from 'vitest';
import {
  networksTouched,
  routeOvsEvents,
  routeSbEvents,
  type RowEventLike,
} from '../../../src/agent/triggers.js';
import type { SbRow } from '../../../src/agent/sb-rows.js';
import { CHASSIS, DP, NET, OTHER_CHASSIS } from './fixtures.js';

const ctx = { chassis: CHASSIS, networkOfDatapath: (dp: string) => (dp === DP ? NET : undefined) };

function vmRow(over: Record<string, unknown> = {}): SbRow {
  return {
    _uuid: 'pb-1',
    logical_port: 'vm1',
    type: '',
    datapath: DP,
    chassis: CHASSIS,
    additional_chassis: [],
    mac: ['fa:16:3e:00:00:10 172.16.100.10'],
    external_ids: new Map([
      ['neutron:device_id', 'inst-1'],
      ['neutron:revision_number', '3'],
    ]),
    ...over,
  };
}

const metaRow = (ids: Record<string, string> = {}): SbRow =>
  vmRow({
    _uuid: 'pb-meta',
    type: 'localport',
    chassis: undefined,
    external_ids: new Map(Object.entries({ 'neutron:device_owner': 'network:distributed', ...ids })),
  });

const touched = (events: RowEventLike[]) => [...networksTouched(events, ctx).networks];

describe('networksTouched', () => {
  it('a VM port bound here, created or deleted, touches its network', () => {
    expect(touched([{ table: 'Port_Binding', type: 'insert', uuid: 'pb-1', new: vmRow() }])).toEqual([NET]);
    expect(touched([{ table: 'Port_Binding', type: 'delete', uuid: 'pb-1', old: vmRow() }])).toEqual([NET]);
  });

  it('binding and unbinding (chassis or additional_chassis) touch the network', () => {
    const bound = {
      table: 'Port_Binding',
      type: 'update',
      uuid: 'pb-1',
      new: vmRow(),
      old: { chassis: undefined },
    };
    expect(touched([bound as RowEventLike])).toEqual([NET]);
    const unbound = {
      table: 'Port_Binding',
      type: 'update',
      uuid: 'pb-1',
      new: vmRow({ chassis: undefined }),
      old: { chassis: CHASSIS },
    };
    expect(touched([unbound as RowEventLike])).toEqual([NET]);
    const migrating = {
      table: 'Port_Binding',
      type: 'update',
      uuid: 'pb-1',
      new: vmRow({ chassis: OTHER_CHASSIS, additional_chassis: [CHASSIS] }),
      old: { chassis: undefined, additional_chassis: [] },
    };
    expect(touched([migrating as RowEventLike])).toEqual([NET]);
  });

  it('a port requested here (not bound yet) touches its network, and so does its move away', () => {
    const requested = vmRow({ chassis: undefined, requested_chassis: CHASSIS });
    expect(touched([{ table: 'Port_Binding', type: 'insert', uuid: 'pb-1', new: requested }])).toEqual([NET]);
    const away = {
      table: 'Port_Binding',
      type: 'update',
      uuid: 'pb-1',
      new: vmRow({ chassis: undefined, requested_chassis: OTHER_CHASSIS }),
      old: { requested_chassis: CHASSIS },
    };
    expect(touched([away as RowEventLike])).toEqual([NET]);
    const elsewhere = vmRow({ chassis: undefined, requested_chassis: OTHER_CHASSIS });
    expect(touched([{ table: 'Port_Binding', type: 'insert', uuid: 'pb-2', new: elsewhere }])).toEqual([]);
  });

  it('a port of another chassis touches nothing', () => {
    const foreign = vmRow({ chassis: OTHER_CHASSIS });
    expect(touched([{ table: 'Port_Binding', type: 'insert', uuid: 'pb-1', new: foreign }])).toEqual([]);
    const moved = { table: 'Port_Binding', type: 'update', uuid: 'pb-1', new: foreign, old: { mac: [] } };
    expect(touched([moved as RowEventLike])).toEqual([]);
  });

  it('an unrelated external_ids change does no work; a cidrs change on the metadata port does', () => {
    const revision = {
      table: 'Port_Binding',
      type: 'update',
      uuid: 'pb-1',
      new: vmRow(),
      old: {
        external_ids: new Map([
          ['neutron:device_id', 'inst-1'],
          ['neutron:revision_number', '2'],
        ]),
      },
    };
    expect(touched([revision as RowEventLike])).toEqual([]);
    const cidrs = {
      table: 'Port_Binding',
      type: 'update',
      uuid: 'pb-meta',
      new: metaRow({ 'neutron:cidrs': '172.16.100.2/24 10.0.0.2/24' }),
      old: {
        external_ids: new Map([
          ['neutron:device_owner', 'network:distributed'],
          ['neutron:cidrs', '172.16.100.2/24'],
        ]),
      },
    };
    expect(touched([cidrs as RowEventLike])).toEqual([NET]);
  });

  it('the metadata port appearing or disappearing touches the network', () => {
    expect(touched([{ table: 'Port_Binding', type: 'insert', uuid: 'pb-meta', new: metaRow() }])).toEqual([
      NET,
    ]);
    expect(touched([{ table: 'Port_Binding', type: 'delete', uuid: 'pb-meta', old: metaRow() }])).toEqual([
      NET,
    ]);
  });

  it('reports datapaths whose network is not known yet', () => {
    const r = networksTouched(
      [{ table: 'Port_Binding', type: 'insert', uuid: 'pb-1', new: vmRow({ datapath: 'dp-x' }) }],
      ctx,
    );
    expect([...r.networks]).toEqual([]);
    expect([...r.unknownDatapaths]).toEqual(['dp-x']);
  });

  it('a Datapath_Binding appearing touches its network; an unrelated change does not', () => {
    const dp = (ids: Record<string, string>): SbRow => ({
      _uuid: DP,
      external_ids: new Map(Object.entries(ids)),
    });
    expect(
      touched([{ table: 'Datapath_Binding', type: 'insert', uuid: DP, new: dp({ name: `neutron-${NET}` }) }]),
    ).toEqual([NET]);
    const unrelated = {
      table: 'Datapath_Binding',
      type: 'update',
      uuid: DP,
      new: dp({ name: `neutron-${NET}`, name2: 'x' }),
      old: { external_ids: new Map([['name', `neutron-${NET}`]]) },
    };
    expect(touched([unrelated as RowEventLike])).toEqual([]);
  });
});

describe('routeSbEvents', () => {
  const ev = (table: string, type: RowEventLike['type'], row: SbRow = { _uuid: 'x' }): RowEventLike => ({
    table,
    type,
    uuid: row._uuid,
    new: type === 'delete' ? undefined : row,
    old: type === 'delete' ? row : type === 'update' ? {} : undefined,
  });

  it('names the registration rows and the networks touched', () => {
    const r = routeSbEvents(
      [ev('Chassis_Private', 'update'), ev('SB_Global', 'update'), ev('Port_Binding', 'insert', vmRow())],
      ctx,
    );
    expect(r).toEqual({
      networks: new Set([NET]),
      chassisPrivate: 'changed',
      sbGlobal: true,
    });
  });

  it("a recreated Chassis_Private says so; the Chassis row is the session's and routes nowhere", () => {
    const r = routeSbEvents(
      [ev('Chassis_Private', 'update'), ev('Chassis_Private', 'insert'), ev('Chassis', 'insert')],
      ctx,
    );
    expect(r).toEqual({
      networks: new Set(),
      chassisPrivate: 'inserted',
      sbGlobal: false,
    });
  });
});

describe('routeOvsEvents', () => {
  const served = new Map([
    ['tap76af9baf-90', 'net-1'],
    ['tapaaaaaaaa-00', 'net-2'],
  ]);
  it('a Port or Interface row of ours names its network; others name none', () => {
    const nets = routeOvsEvents(
      [
        { table: 'Interface', type: 'delete', uuid: 'i1', old: { _uuid: 'i1', name: 'tap76af9baf-90' } },
        { table: 'Port', type: 'insert', uuid: 'p1', new: { _uuid: 'p1', name: 'vm-port' } },
      ],
      served,
    );
    expect(nets).toEqual(new Set(['net-1']));
  });

  it('a Bridge change that matters names every served network; a ports-only change none', () => {
    const bridge = { _uuid: 'b', name: 'br-int' };
    expect(
      routeOvsEvents(
        [{ table: 'Bridge', type: 'update', uuid: 'b', new: bridge, old: { datapath_type: '' } }],
        served,
      ),
    ).toEqual(new Set(['net-1', 'net-2']));
    expect(
      routeOvsEvents(
        [{ table: 'Bridge', type: 'update', uuid: 'b', new: bridge, old: { ports: [] } }],
        served,
      ),
    ).toEqual(new Set());
  });
});
