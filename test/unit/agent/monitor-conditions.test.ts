import { describe, expect, it } from 'vitest';
import { LocalInterest, MonitorConditions } from '../../../src/agent/monitor-conditions.js';
import type { ConditionShape } from '../../../src/agent/sb-monitor.js';
import type { SbRow } from '../../../src/agent/sb-rows.js';
import { SbView, sbIndexes } from '../../../src/agent/sb-view.js';
import type { RowEventLike } from '../../../src/agent/triggers.js';
import type { ConditionsUpdate } from '../../../src/ovsdb/index.js';

const CH = 'c0000000-0000-0000-0000-000000000001';
const OTHER = 'c0000000-0000-0000-0000-000000000002';
const dpUuid = (i: number) => `d0000000-0000-0000-0000-${String(i).padStart(12, '0')}`;
const net = (i: number) => `net-${i}`;

/**
 * The whole SB (`all`) and a replica that holds what the conditions select,
 * filled by the "server" before setConditions resolves, as ovsdb-server does
 * (local port -> its datapath -> the network -> its metadata port). The
 * replica reader counts the work the agent side does: rows visited by table
 * walks and index lookups.
 */
function world() {
  const all = { Port_Binding: new Map<string, SbRow>(), Datapath_Binding: new Map<string, SbRow>() };
  const replica = { Port_Binding: new Map<string, SbRow>(), Datapath_Binding: new Map<string, SbRow>() };
  const work = { rowsWalked: 0, indexLookups: 0 };
  const sent: ConditionsUpdate[] = [];
  let mc: MonitorConditions | undefined;

  const view = new SbView({
    table: (name) => {
      const rows = replica[name as keyof typeof replica] ?? new Map<string, SbRow>();
      // Every row handed out by a walk counts.
      return {
        get: (k: string) => rows.get(k),
        values: function* () {
          for (const r of rows.values()) {
            work.rowsWalked++;
            yield r;
          }
        },
      } as unknown as ReadonlyMap<string, SbRow>;
    },
    byIndex: (table, index, key) => {
      work.indexLookups++;
      const fn = (sbIndexes as Record<string, Record<string, (r: SbRow) => string | undefined>>)[table]![
        index
      ]!;
      // A real replica keeps the index; the fake finds the one row by key.
      return new Set([...replica[table as keyof typeof replica].values()].filter((r) => fn(r) === key));
    },
  });

  /** The server's side: which rows a table's clauses select (the clause shapes sb-monitor.ts uses). */
  const matcher = (c: ConditionsUpdate) => {
    const keys = new Set<string>();
    const dpAll = (c.Datapath_Binding ?? []).includes(true);
    for (const clause of [...(c.Port_Binding ?? []), ...(c.Datapath_Binding ?? [])]) {
      if (typeof clause === 'boolean') continue;
      const [col, , value] = clause as [string, string, unknown];
      keys.add(`${col}=${JSON.stringify(value)}`);
    }
    return (table: keyof typeof all, row: SbRow): boolean => {
      if (table === 'Datapath_Binding')
        return dpAll || keys.has(`_uuid=${JSON.stringify(['uuid', row._uuid])}`);
      if (keys.has(`type=${JSON.stringify(row.type)}`)) return true;
      const id = (row.external_ids as Map<string, string>).get('neutron:device_id');
      return (
        keys.has(`chassis=${JSON.stringify(['uuid', row.chassis])}`) ||
        keys.has(`external_ids=${JSON.stringify(['map', [['neutron:device_id', id]]])}`)
      );
    };
  };

  /** What the server sends for the current conditions: the replica's differences, as events. */
  let selected = matcher({ Port_Binding: [false], Datapath_Binding: [false] });
  const deliver = () => {
    const events: RowEventLike[] = [];
    for (const table of ['Port_Binding', 'Datapath_Binding'] as const) {
      for (const [uuid, row] of all[table]) {
        const want = selected(table, row);
        const have = replica[table].get(uuid);
        if (want && have !== row) {
          replica[table].set(uuid, row);
          // An update's `old` holds the changed columns only, as the replica's events do.
          const changed = have && Object.fromEntries(Object.entries(have).filter(([k, v]) => row[k] !== v));
          for (const k of Object.keys(row)) if (changed && !(k in have!)) changed[k] = undefined;
          events.push(
            changed
              ? { table, type: 'update', uuid, new: row, old: changed }
              : { table, type: 'insert', uuid, new: row },
          );
        } else if (!want && have) {
          replica[table].delete(uuid);
          events.push({ table, type: 'delete', uuid, old: have });
        }
      }
      for (const [uuid, have] of replica[table])
        if (!all[table].has(uuid)) {
          replica[table].delete(uuid);
          events.push({ table, type: 'delete', uuid, old: have });
        }
    }
    if (events.length > 0) mc?.onEvents(events);
  };
  const client = {
    async setConditions(c: ConditionsUpdate) {
      sent.push(c);
      await new Promise((r) => setTimeout(r, 1));
      selected = matcher(c);
      deliver(); // rows arrive before the reply
    },
  };
  const make = (mode: 'conditional' | 'all' = 'conditional', shape: ConditionShape = 'per-network') => {
    mc = new MonitorConditions({
      client,
      mode,
      shape,
      systemId: 'ch1',
      reader: view,
      portBindingColumns: () => new Set<string>(),
      onMonitored: (n) => monitored.push(...n),
      onError: (e) => {
        throw e;
      },
    });
    return mc;
  };
  const monitored: string[] = [];

  let ports = 0;
  const addNetwork = (i: number) => {
    all.Datapath_Binding.set(dpUuid(i), {
      _uuid: dpUuid(i),
      external_ids: new Map([['name', `neutron-${net(i)}`]]),
    });
    addPort(i, undefined, 'localport', `ovnmeta-${net(i)}`);
  };
  /** Returns the port uuid; the SB changes, the server sends what matches. */
  const addPort = (i: number, chassis: string | undefined, type = '', device = `inst-${ports}`): string => {
    const uuid = `p-${++ports}`;
    all.Port_Binding.set(uuid, {
      _uuid: uuid,
      logical_port: uuid,
      type,
      datapath: dpUuid(i),
      chassis,
      mac: ['fa:16:3e:00:00:10 10.0.0.10'],
      external_ids: new Map([
        ['neutron:device_id', device],
        ...(type === 'localport'
          ? [['neutron:device_owner', 'network:distributed'] as [string, string]]
          : []),
      ]),
    });
    return uuid;
  };
  const setPort = (uuid: string, over: Partial<SbRow>) => {
    all.Port_Binding.set(uuid, { ...all.Port_Binding.get(uuid)!, ...over });
  };
  return { all, replica, work, sent, make, monitored, addNetwork, addPort, setPort, deliver };
}

describe('MonitorConditions, per-network clauses', () => {
  it('settles in round trips: local ports, then datapaths, then metadata ports', async () => {
    const w = world();
    w.addNetwork(1);
    w.addPort(1, CH);
    const mc = w.make();
    mc.rescan(CH); // the Chassis row arrived
    await mc.settle();
    // chassis clause, then the datapath clause, then the metadata port clause
    expect(w.sent).toHaveLength(3);
    expect(JSON.stringify(w.sent.at(-1))).toContain('ovnmeta-net-1');
    expect(w.replica.Port_Binding.size).toBe(2);
    expect(mc.monitors('net-1')).toBe(true);
    expect(w.monitored).toEqual(['net-1']);
  });

  it('settle() waits for an update already in flight instead of ending early', async () => {
    const w = world();
    w.addNetwork(1);
    w.addPort(1, CH);
    const mc = w.make();
    mc.rescan(CH);
    mc.schedule(); // coalesced
    await mc.settle();
    expect(mc.monitors('net-1')).toBe(true);
    expect(w.sent).toHaveLength(3);
  });

  it('narrows when the last local port of a network leaves, keeps the network while one remains', async () => {
    const w = world();
    w.addNetwork(1);
    w.addNetwork(2);
    const a = w.addPort(1, CH);
    const b = w.addPort(1, CH);
    w.addPort(2, CH);
    const mc = w.make();
    mc.rescan(CH);
    await mc.settle();
    expect([...mc.local.networks()].sort()).toEqual(['net-1', 'net-2']);
    const before = w.sent.length;

    w.setPort(a, { chassis: OTHER });
    w.deliver();
    await mc.settle();
    expect(w.sent.length).toBe(before); // net-1 still has port b
    w.setPort(b, { chassis: undefined });
    w.deliver();
    await mc.settle();
    expect(w.sent.length).toBe(before + 1);
    expect(JSON.stringify(w.sent.at(-1))).not.toContain('net-1');
    expect(mc.monitors('net-1')).toBe(false);
    expect(mc.monitors('net-2')).toBe(true);
  });

  it('event work does not grow with the number of networks: no walk, no index scan, no cond change for unrelated updates', async () => {
    const counts: Record<number, unknown> = {};
    for (const networks of [10, 1000]) {
      const w = world();
      const local: string[] = [];
      for (let i = 1; i <= networks; i++) {
        w.addNetwork(i);
        local.push(w.addPort(i, CH), w.addPort(i, CH));
      }
      w.addNetwork(networks + 1); // no local port yet
      const mc = w.make();
      mc.rescan(CH);
      await mc.settle();
      expect([...mc.local.networks()]).toHaveLength(networks);

      const step = async (change: () => void) => {
        w.work.rowsWalked = 0;
        w.work.indexLookups = 0;
        const sent = w.sent.length;
        change();
        w.deliver(); // the server's update: the events reach onEvents
        // (the test's own diff walks `all`, not the agent's replica reader)
        await mc.settle();
        return { walked: w.work.rowsWalked, lookups: w.work.indexLookups, condChanges: w.sent.length - sent };
      };
      counts[networks] = {
        // neutron rewrites external_ids (revision numbers) and `up` flips: nothing to do
        unrelatedUpdate: await step(() => w.setPort(local[0]!, { up: true })),
        // another port in a network already served: the same conditions
        portInServedNetwork: await step(() => w.addPort(1, CH)),
        // a port in a new network: its datapath, then its metadata port
        portInNewNetwork: await step(() => w.addPort(networks + 1, CH)),
        // that port goes: the network leaves the conditions
        unbind: await step(() => w.setPort(`p-${[...w.all.Port_Binding.keys()].length}`, { chassis: OTHER })),
      };
    }
    expect(counts[10]).toEqual(counts[1000]);
    expect(counts[1000]).toEqual({
      unrelatedUpdate: { walked: 0, lookups: 0, condChanges: 0 },
      portInServedNetwork: { walked: 0, lookups: 0, condChanges: 0 },
      portInNewNetwork: { walked: 0, lookups: 0, condChanges: 2 },
      unbind: { walked: 0, lookups: 0, condChanges: 1 },
    });
  });

  it('a rescan that finds what the events already said changes nothing, and events are idempotent', async () => {
    const w = world();
    w.addNetwork(1);
    const p = w.addPort(1, CH);
    const li = new LocalInterest({ localPorts: () => [], networkOfDatapath: () => 'net-1' });
    li.rescan(CH);
    const insert: RowEventLike = {
      table: 'Port_Binding',
      type: 'insert',
      uuid: p,
      new: w.all.Port_Binding.get(p)!,
    };
    expect(li.apply([insert])).toBe(true);
    expect(li.apply([insert])).toBe(false);
    expect([...li.networks()]).toEqual(['net-1']);
    // a datapath renamed: the network follows
    const dp: RowEventLike = {
      table: 'Datapath_Binding',
      type: 'update',
      uuid: dpUuid(1),
      new: { _uuid: dpUuid(1), external_ids: new Map([['name', 'neutron-net-9']]) },
      old: { external_ids: new Map([['name', 'neutron-net-1']]) },
    };
    expect(li.apply([dp])).toBe(true);
    expect([...li.networks()]).toEqual(['net-9']);
  });

  it('mode all: no conditions on Port_Binding and Datapath_Binding, every network monitored, no cond change ever', async () => {
    const w = world();
    w.addNetwork(1);
    w.addPort(1, CH);
    const mc = w.make('all');
    const spec = mc.monitorSpec();
    expect(spec.Port_Binding.where).toBeUndefined();
    expect(spec.Datapath_Binding.where).toBeUndefined();
    expect(spec.Chassis_Private.where).toEqual([['name', '==', 'ch1']]);
    expect(spec.Chassis.where).toEqual([['name', '==', 'ch1']]);
    mc.rescan(CH);
    mc.onEvents([
      { table: 'Port_Binding', type: 'insert', uuid: 'p-x', new: w.all.Port_Binding.get('p-2')! },
    ]);
    await mc.settle();
    expect(w.sent).toHaveLength(0);
    expect(mc.monitors('net-1')).toBe(true);
    expect(mc.monitors('any-network')).toBe(true);
  });

  it('mode conditional: the start-up spec selects Port_Binding and Datapath_Binding by conditions', () => {
    const mc = world().make('conditional');
    const spec = mc.monitorSpec();
    expect(spec.Port_Binding.where).toEqual([false]);
    expect(spec.Datapath_Binding.where).toEqual([false]);
  });
});

describe('MonitorConditions, static clauses (the default)', () => {
  it('selects every metadata port and datapath from the start; only the Chassis row changes the clauses', async () => {
    const w = world();
    w.addNetwork(1);
    w.addNetwork(2);
    w.addPort(1, CH);
    w.addPort(2, OTHER);
    const mc = w.make('conditional', 'static');
    expect(mc.monitorSpec().Port_Binding.where).toEqual([['type', '==', 'localport']]);
    expect(mc.monitorSpec().Datapath_Binding.where).toEqual([true]);
    mc.rescan(CH);
    await mc.settle();
    expect(w.sent).toEqual([
      {
        Port_Binding: [
          ['chassis', '==', ['uuid', CH]],
          ['type', '==', 'localport'],
        ],
        Datapath_Binding: [true],
      },
    ]);
    // its port, both networks' metadata ports, both datapaths
    expect(w.replica.Port_Binding.size).toBe(3);
    expect(w.replica.Datapath_Binding.size).toBe(2);
    expect(mc.monitors('net-1') && mc.monitors('net-2')).toBe(true);
    mc.rescan(CH); // a reconnect: same chassis, nothing to send
    await mc.settle();
    expect(w.sent).toHaveLength(1);
  });

  it('event work does not grow with the number of networks: no walk, no lookup, no cond change', async () => {
    const counts: Record<number, unknown> = {};
    for (const networks of [10, 1000]) {
      const w = world();
      const local: string[] = [];
      for (let i = 1; i <= networks + 1; i++) w.addNetwork(i);
      for (let i = 1; i <= networks; i++) local.push(w.addPort(i, CH), w.addPort(i, CH));
      const mc = w.make('conditional', 'static');
      mc.rescan(CH);
      await mc.settle();
      const step = async (change: () => void) => {
        w.work.rowsWalked = 0;
        w.work.indexLookups = 0;
        const sent = w.sent.length;
        change();
        w.deliver();
        await mc.settle();
        return { walked: w.work.rowsWalked, lookups: w.work.indexLookups, condChanges: w.sent.length - sent };
      };
      counts[networks] = [
        await step(() => w.setPort(local[0]!, { up: true })),
        await step(() => w.addPort(networks + 1, CH)),
        await step(() => w.setPort(local[1]!, { chassis: OTHER })),
      ];
    }
    expect(counts[10]).toEqual(counts[1000]);
    expect(counts[1000]).toEqual(Array(3).fill({ walked: 0, lookups: 0, condChanges: 0 }));
  });
});
