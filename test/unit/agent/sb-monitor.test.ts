import { describe, expect, it } from 'vitest';
import { sameClauses, sbConditions, sbMonitorSpec } from '../../../src/agent/sb-monitor.js';

const base = { systemId: 'ch1', chassis: undefined, datapaths: [], networks: [], additionalChassis: true };

describe('SB monitor conditions', () => {
  it('selects nothing of Port_Binding and Datapath_Binding before the chassis is known', () => {
    expect(sbConditions(base)).toEqual({ Port_Binding: [false], Datapath_Binding: [false] });
    const spec = sbMonitorSpec(base);
    expect(spec.Chassis.where).toEqual([['name', '==', 'ch1']]);
    expect(spec.Chassis_Private.where).toEqual([['name', '==', 'ch1']]);
    expect(spec.SB_Global.where).toBeUndefined();
  });

  it('selects ports bound here, migrating here, and the served networks metadata ports', () => {
    const c = sbConditions({
      ...base,
      chassis: 'c-1',
      datapaths: ['dp-2', 'dp-1'],
      networks: ['net-b', 'net-a'],
    });
    expect(c.Port_Binding).toEqual([
      ['chassis', '==', ['uuid', 'c-1']],
      ['additional_chassis', 'includes', ['uuid', 'c-1']],
      ['external_ids', 'includes', ['map', [['neutron:device_id', 'ovnmeta-net-a']]]],
      ['external_ids', 'includes', ['map', [['neutron:device_id', 'ovnmeta-net-b']]]],
    ]);
    expect(c.Datapath_Binding).toEqual([
      ['_uuid', '==', ['uuid', 'dp-1']],
      ['_uuid', '==', ['uuid', 'dp-2']],
    ]);
  });

  it('leaves additional_chassis out on servers whose schema lacks it', () => {
    const c = sbConditions({ ...base, chassis: 'c-1', additionalChassis: false });
    expect(c.Port_Binding).toEqual([['chassis', '==', ['uuid', 'c-1']]]);
  });

  it('selects ports requested here (neutron requested-chassis, and a migration destination) when the schema has them', () => {
    const c = sbConditions({ ...base, chassis: 'c-1', requestedChassis: { main: true, additional: true } });
    expect(c.Port_Binding).toEqual([
      ['chassis', '==', ['uuid', 'c-1']],
      ['additional_chassis', 'includes', ['uuid', 'c-1']],
      ['requested_chassis', '==', ['uuid', 'c-1']],
      ['requested_additional_chassis', 'includes', ['uuid', 'c-1']],
    ]);
    const old = sbConditions({
      ...base,
      chassis: 'c-1',
      requestedChassis: { main: true, additional: false },
    });
    expect(old.Port_Binding).not.toContainEqual([
      'requested_additional_chassis',
      'includes',
      ['uuid', 'c-1'],
    ]);
  });

  it('is stable under input order, so unchanged interest means no monitor_cond_change', () => {
    const a = sbConditions({ ...base, chassis: 'c', datapaths: ['x', 'y'], networks: ['n1', 'n2'] });
    const b = sbConditions({ ...base, chassis: 'c', datapaths: ['y', 'x'], networks: ['n2', 'n1'] });
    expect(sameClauses(a.Port_Binding, b.Port_Binding)).toBe(true);
    expect(sameClauses(a.Datapath_Binding, b.Datapath_Binding)).toBe(true);
    const c = sbConditions({ ...base, chassis: 'c', datapaths: ['x'], networks: ['n1', 'n2'] });
    expect(sameClauses(a.Datapath_Binding, c.Datapath_Binding)).toBe(false);
  });

  it('static shape: ports bound here and every metadata port; every datapath; unchanged by networks', () => {
    const a = sbConditions({
      ...base,
      chassis: 'c-1',
      shape: 'static',
      datapaths: ['dp-1'],
      networks: ['n1'],
    });
    const b = sbConditions({ ...base, chassis: 'c-1', shape: 'static', datapaths: [], networks: [] });
    expect(a).toEqual({
      Port_Binding: [
        ['chassis', '==', ['uuid', 'c-1']],
        ['additional_chassis', 'includes', ['uuid', 'c-1']],
        ['type', '==', 'localport'],
      ],
      Datapath_Binding: [true],
    });
    expect(b).toEqual(a);
    // before the Chassis row is known: the metadata ports only
    expect(sbConditions({ ...base, shape: 'static' }).Port_Binding).toEqual([['type', '==', 'localport']]);
  });

  it('mode all: Port_Binding and Datapath_Binding without conditions, our chassis rows by name', () => {
    const spec = sbMonitorSpec({ ...base, chassis: 'c-1', networks: ['n1'] }, 'all');
    expect(spec.Port_Binding).toEqual({ columns: spec.Port_Binding.columns });
    expect(spec.Datapath_Binding.where).toBeUndefined();
    expect(spec.Chassis.where).toEqual([['name', '==', 'ch1']]);
    expect(spec.Chassis_Private.where).toEqual([['name', '==', 'ch1']]);
  });
});
