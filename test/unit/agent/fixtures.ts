// Plain SB rows for the agent's pure tests.
import type { DatapathBinding, PortBinding } from '../../../src/agent/sb-rows.js';

export const NET = '76af9baf-9fa4-4631-8f1d-5610ef87a036';
export const CHASSIS = 'c0000000-0000-0000-0000-000000000001';
export const OTHER_CHASSIS = 'c0000000-0000-0000-0000-000000000002';
export const DP = 'd0000000-0000-0000-0000-000000000001';

export function datapath(over: Partial<DatapathBinding> = {}): DatapathBinding {
  return { uuid: DP, networkId: NET, ...over };
}

let n = 0;
export function port(over: Partial<PortBinding> & { ids?: Record<string, string> } = {}): PortBinding {
  const { ids, ...rest } = over;
  n++;
  return {
    uuid: `p0000000-0000-0000-0000-${String(n).padStart(12, '0')}`,
    logicalPort: `port-${n}`,
    type: '',
    datapath: DP,
    chassis: CHASSIS,
    additionalChassis: [],
    requestedChassis: undefined,
    requestedAdditionalChassis: [],
    mac: ['fa:16:3e:00:00:10 172.16.100.10'],
    externalIds: new Map(
      Object.entries(ids ?? { 'neutron:device_id': 'inst-1', 'neutron:project_id': 'proj-1' }),
    ),
    ...rest,
  };
}

export function metadataPort(
  over: Partial<PortBinding> & { ids?: Record<string, string> } = {},
): PortBinding {
  return port({
    type: 'localport',
    chassis: undefined,
    logicalPort: 'meta-port',
    mac: ['fa:16:3e:9d:cc:52 172.16.100.2'],
    ids: {
      'neutron:device_owner': 'network:distributed',
      'neutron:device_id': `ovnmeta-${NET}`,
      'neutron:cidrs': '172.16.100.2/24',
    },
    ...over,
  });
}
