// observeOvs over Open_vSwitch rows in replica format.
import { describe, expect, it } from 'vitest';
import { indexOvs, observeOvs, type OvsTables } from '../../../src/verify/index.js';

type Row = { _uuid: string; [k: string]: unknown };
const table = (...rows: Row[]) => new Map(rows.map((r) => [r._uuid, r]));
const ids = (o: Record<string, string>) => new Map(Object.entries(o));

function tables(): OvsTables & {
  Bridge: Map<string, Row>;
  Port: Map<string, Row>;
  Interface: Map<string, Row>;
} {
  return {
    Bridge: table(
      { _uuid: 'b-int', name: 'br-int', ports: ['p-int', 'p-meta'] },
      { _uuid: 'b-ex', name: 'br-ex', ports: ['p-old'] },
    ),
    Port: table(
      { _uuid: 'p-int', name: 'br-int', interfaces: ['i-int'] },
      { _uuid: 'p-meta', name: 'tapnet0', interfaces: ['i-meta'] },
      { _uuid: 'p-old', name: 'tapold', interfaces: ['i-old'] },
    ),
    Interface: table(
      { _uuid: 'i-int', name: 'br-int', external_ids: ids({}), ofport: 65534 },
      {
        _uuid: 'i-meta',
        name: 'tapnet0',
        external_ids: ids({ 'iface-id': 'meta' }),
        ofport: 3,
        error: undefined,
      },
      { _uuid: 'i-old', name: 'tapold', external_ids: ids({ 'iface-id': 'other' }), ofport: 4 },
    ),
  };
}

describe('observeOvs', () => {
  it('sees the port on the integration bridge with its iface-id and ofport', () => {
    expect(observeOvs(indexOvs(tables()), 'br-int', 'tapnet0', 'meta')).toEqual({
      bridge: 'br-int',
      bridgeExists: true,
      bridgesOfPort: ['br-int'],
      iface: { ifaceId: 'meta', ofport: 3, error: undefined },
      duplicates: [],
    });
  });

  it('sees every bridge holding the port, and a missing one', () => {
    const t = tables();
    t.Bridge.set('b-ex', { _uuid: 'b-ex', name: 'br-ex', ports: ['p-old', 'p-meta'] });
    expect(observeOvs(indexOvs(t), 'br-int', 'tapnet0', 'meta').bridgesOfPort).toEqual(['br-ex', 'br-int']);
    const none = observeOvs(indexOvs(t), 'br-int', 'tapnothere0', 'meta');
    expect(none.bridgesOfPort).toEqual([]);
    expect(none.iface).toBeUndefined();
    expect(observeOvs(indexOvs(t), 'br-nope', 'tapnet0', 'meta').bridgeExists).toBe(false);
  });

  it('finds another Interface claiming the same metadata port', () => {
    const t = tables();
    t.Interface.set('i-old', {
      _uuid: 'i-old',
      name: 'tapold',
      external_ids: ids({ 'iface-id': 'meta' }),
      ofport: 4,
    });
    expect(observeOvs(indexOvs(t), 'br-int', 'tapnet0', 'meta').duplicates).toEqual([
      { iface: 'tapold', bridges: ['br-ex'] },
    ]);
  });

  it('reads ofport -1 and the error of an Interface vswitchd could not open', () => {
    const t = tables();
    t.Interface.set('i-meta', {
      _uuid: 'i-meta',
      name: 'tapnet0',
      external_ids: ids({ 'iface-id': 'meta' }),
      ofport: -1,
      error: 'could not open network device tapnet0 (No such device)',
    });
    expect(observeOvs(indexOvs(t), 'br-int', 'tapnet0', 'meta').iface).toEqual({
      ifaceId: 'meta',
      ofport: -1,
      error: 'could not open network device tapnet0 (No such device)',
    });
  });
});
