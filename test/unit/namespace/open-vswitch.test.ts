// planOvsPort / planOvsPortRemoval on literal rows in replica format
// (uuid strings, arrays for sets, ReadonlyMap for maps).
import { describe, expect, it } from 'vitest';
import {
  OVS_INDEXES,
  ovsRows,
  planOvsPort,
  planOvsPortRemoval,
  type OvsRow,
  type OvsRows,
} from '../../../src/namespace/index.js';
import { parseSchema, Replica } from '../../../src/ovsdb/index.js';
import { vswitchSchemaJson } from '../schemas.js';

const BR_INT = '00000000-0000-0000-0000-0000000000b1';
const BR_EX = '00000000-0000-0000-0000-0000000000b2';
const P = '00000000-0000-0000-0000-0000000000a1';
const I = '00000000-0000-0000-0000-0000000000c1';
const VM_P = '00000000-0000-0000-0000-0000000000a2';
const spec = { bridge: 'br-int', port: 'tap76af9baf-90', ifaceId: 'meta-port-1' };

function rows(opts: {
  intPorts?: string[];
  exPorts?: string[];
  port?: Partial<OvsRow> | null;
  ifaces?: OvsRow[];
}): OvsRows {
  const bridges: OvsRow[] = [
    { _uuid: BR_INT, name: 'br-int', ports: opts.intPorts ?? [VM_P] },
    { _uuid: BR_EX, name: 'br-ex', ports: opts.exPorts ?? [] },
  ];
  const ports: OvsRow[] = [
    { _uuid: VM_P, name: 'tapvm', interfaces: ['00000000-0000-0000-0000-0000000000c2'] },
  ];
  if (opts.port !== null) ports.push({ _uuid: P, name: spec.port, interfaces: [I], ...opts.port });
  const ifaces: OvsRow[] = opts.ifaces ?? [
    { _uuid: I, name: spec.port, type: '', external_ids: new Map([['iface-id', 'meta-port-1']]) },
  ];
  const map = (list: OvsRow[]) => new Map(list.map((r) => [r._uuid, r]));
  return { Bridge: map(bridges), Port: map(ports), Interface: map(ifaces) };
}

const where = (uuid: string) => [['_uuid', '==', ['uuid', uuid]]];
const freshInsert = [
  {
    op: 'insert',
    table: 'Interface',
    row: { name: spec.port, external_ids: ['map', [['iface-id', 'meta-port-1']]] },
    'uuid-name': 'iface_tap76af9baf_90',
  },
  {
    op: 'insert',
    table: 'Port',
    row: { name: spec.port, interfaces: ['named-uuid', 'iface_tap76af9baf_90'] },
    'uuid-name': 'port_tap76af9baf_90',
  },
  {
    op: 'mutate',
    table: 'Bridge',
    where: where(BR_INT),
    mutations: [['ports', 'insert', ['set', [['named-uuid', 'port_tap76af9baf_90']]]]],
  },
];

describe('planOvsPort', () => {
  it('inserts Interface and Port and adds the port to the bridge when absent', () => {
    expect(planOvsPort(spec, rows({ port: null, ifaces: [] }))).toEqual(freshInsert);
  });

  it('is empty when the port is right', () => {
    expect(planOvsPort(spec, rows({ intPorts: [VM_P, P] }))).toEqual([]);
  });

  it('uses a port index when given instead of scanning', () => {
    const r = rows({ intPorts: [VM_P, P] });
    const seen: string[] = [];
    const indexed: OvsRows = {
      ...r,
      portByName: (name) => {
        seen.push(name);
        return r.Port.get(P);
      },
    };
    expect(planOvsPort(spec, indexed)).toEqual([]);
    expect(seen).toEqual([spec.port]);
  });

  it('uses a bridge-by-port index when given instead of scanning the bridges', () => {
    const r = rows({ intPorts: [P], exPorts: [P] });
    const seen: string[] = [];
    const indexed: OvsRows = {
      ...r,
      bridgesOfPort: (portUuid) => {
        seen.push(portUuid);
        return [r.Bridge.get(BR_INT)!];
      },
    };
    expect(planOvsPort(spec, indexed)).toEqual([]);
    expect(seen).toEqual([P]);
  });

  it('plans the same over a replica carrying OVS_INDEXES as over a scan of the same rows', () => {
    const r = rows({ intPorts: [VM_P], exPorts: [P] });
    const wire = (row: OvsRow): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      for (const [col, v] of Object.entries(row)) {
        if (col === '_uuid') continue;
        if (col === 'ports' || col === 'interfaces')
          out[col] = ['set', (v as string[]).map((u) => ['uuid', u])];
        else if (v instanceof Map) out[col] = ['map', [...v.entries()]];
        else out[col] = v;
      }
      return out;
    };
    const snapshot: Record<string, Record<string, { initial: Record<string, unknown> }>> = {};
    for (const table of ['Bridge', 'Port', 'Interface'] as const) {
      snapshot[table] = {};
      for (const row of r[table].values()) snapshot[table][row._uuid] = { initial: wire(row) };
    }
    const replica = new Replica(
      parseSchema(vswitchSchemaJson()),
      {
        Bridge: { columns: ['name', 'ports'] },
        Port: { columns: ['name', 'interfaces'] },
        Interface: { columns: ['name', 'type', 'external_ids'] },
      },
      snapshot,
    );
    for (const [table, indexes] of Object.entries(OVS_INDEXES)) {
      for (const [name, fn] of Object.entries(indexes)) replica.addIndex(table, name, fn);
    }
    const moved = planOvsPort(spec, r);
    expect(moved.length).toBeGreaterThan(0);
    expect(planOvsPort(spec, ovsRows(replica))).toEqual(moved);
    expect(planOvsPortRemoval(spec.port, ovsRows(replica))).toEqual(planOvsPortRemoval(spec.port, r));
  });

  it('fixes a wrong iface-id with a map mutation that keeps other keys', () => {
    const ifaces = [
      {
        _uuid: I,
        name: spec.port,
        type: '',
        external_ids: new Map([
          ['iface-id', 'old'],
          ['attached-mac', 'x'],
        ]),
      },
    ];
    expect(planOvsPort(spec, rows({ intPorts: [P], ifaces }))).toEqual([
      {
        op: 'mutate',
        table: 'Interface',
        where: where(I),
        mutations: [
          ['external_ids', 'delete', ['set', ['iface-id']]],
          ['external_ids', 'insert', ['map', [['iface-id', 'meta-port-1']]]],
        ],
      },
    ]);
  });

  it('adds a missing iface-id', () => {
    const ifaces = [{ _uuid: I, name: spec.port, type: '', external_ids: new Map() }];
    expect(planOvsPort(spec, rows({ intPorts: [P], ifaces }))[0]).toMatchObject({
      op: 'mutate',
      table: 'Interface',
    });
  });

  it('resets a non-system interface type', () => {
    const ifaces = [
      { _uuid: I, name: spec.port, type: 'internal', external_ids: new Map([['iface-id', 'meta-port-1']]) },
    ];
    expect(planOvsPort(spec, rows({ intPorts: [P], ifaces }))).toEqual([
      { op: 'update', table: 'Interface', where: where(I), row: { type: '' } },
    ]);
  });

  it('moves the port from another bridge, keeping the row', () => {
    expect(planOvsPort(spec, rows({ exPorts: [P] }))).toEqual([
      {
        op: 'mutate',
        table: 'Bridge',
        where: where(BR_EX),
        mutations: [['ports', 'delete', ['set', [['uuid', P]]]]],
      },
      {
        op: 'mutate',
        table: 'Bridge',
        where: where(BR_INT),
        mutations: [['ports', 'insert', ['set', [['uuid', P]]]]],
      },
    ]);
  });

  it('removes the port from any other bridge even when it is also on ours', () => {
    expect(planOvsPort(spec, rows({ intPorts: [P], exPorts: [P] }))).toEqual([
      {
        op: 'mutate',
        table: 'Bridge',
        where: where(BR_EX),
        mutations: [['ports', 'delete', ['set', [['uuid', P]]]]],
      },
    ]);
  });

  it('replaces a port of the wrong shape (a bond) with a fresh one', () => {
    const ifaces = [
      { _uuid: I, name: 'eth-a', type: '', external_ids: new Map() },
      { _uuid: 'c3', name: 'eth-b', type: '', external_ids: new Map() },
    ];
    const ops = planOvsPort(spec, rows({ intPorts: [P], port: { interfaces: [I, 'c3'] }, ifaces }));
    expect(ops).toEqual([
      {
        op: 'mutate',
        table: 'Bridge',
        where: where(BR_INT),
        mutations: [['ports', 'delete', ['set', [['uuid', P]]]]],
      },
      ...freshInsert,
    ]);
  });

  it('replaces a port whose single interface has another name', () => {
    const ifaces = [
      { _uuid: I, name: 'other', type: '', external_ids: new Map([['iface-id', 'meta-port-1']]) },
    ];
    const ops = planOvsPort(spec, rows({ intPorts: [P], ifaces }));
    expect(ops.slice(1)).toEqual(freshInsert);
  });

  it('names uuid-names after the port so several networks fit one transaction', () => {
    const other = { ...spec, port: 'tapdeadbeef-00' };
    const r = rows({ port: null, ifaces: [] });
    const names = [...planOvsPort(spec, r), ...planOvsPort(other, r)].flatMap((o) =>
      o.op === 'insert' ? [o['uuid-name']] : [],
    );
    expect(new Set(names).size).toBe(4);
    for (const n of names) expect(n).toMatch(/^[_a-zA-Z][_a-zA-Z0-9]*$/); // RFC 7047 §3.1 <id>
  });

  it('throws a coded, retryable error when the bridge is missing', () => {
    expect(() => planOvsPort({ ...spec, bridge: 'br-nope' }, rows({}))).toThrow(
      expect.objectContaining({ code: 'NETNS_OVS_BRIDGE_MISSING', retryable: true, bridge: 'br-nope' }),
    );
  });
});

describe('planOvsPortRemoval', () => {
  it('takes the port off every bridge that holds it', () => {
    expect(planOvsPortRemoval(spec.port, rows({ intPorts: [VM_P, P], exPorts: [P] }))).toEqual([
      {
        op: 'mutate',
        table: 'Bridge',
        where: where(BR_INT),
        mutations: [['ports', 'delete', ['set', [['uuid', P]]]]],
      },
      {
        op: 'mutate',
        table: 'Bridge',
        where: where(BR_EX),
        mutations: [['ports', 'delete', ['set', [['uuid', P]]]]],
      },
    ]);
  });

  it('is empty when the port is gone', () => {
    expect(planOvsPortRemoval(spec.port, rows({ port: null }))).toEqual([]);
  });
});
