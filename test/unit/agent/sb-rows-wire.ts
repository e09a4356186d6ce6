// Southbound rows in wire form for the in-memory OVSDB server
// (test/unit/ovsdb/client-fake-server.ts): networks with their datapath,
// metadata localport and a VM port, as neutron writes them.
import type { FakeOvsdbServer } from '../ovsdb/client-fake-server.js';
import { uuidOf } from '../ovsdb/client-fake-server.js';

export const SYSTEM_ID = 'chassis-1';
export const CH = uuidOf(1);
export const OTHER_CH = uuidOf(2);
export const NET_A = 'aaaaaaaa-0000-4000-8000-000000000001';
export const NET_B = 'bbbbbbbb-0000-4000-8000-000000000002';
export const NET_C = 'cccccccc-0000-4000-8000-000000000003';
export const DP: Record<string, string> = {
  [NET_A]: uuidOf(0xa0),
  [NET_B]: uuidOf(0xb0),
  [NET_C]: uuidOf(0xc0),
};

export const map = (o: Record<string, string>) => ['map', Object.entries(o)];
export const ref = (u: string) => ['uuid', u];

export function datapathRow(net: string) {
  return { external_ids: map({ name: `neutron-${net}` }) };
}
export function metadataPortRow(net: string, cidr: string, ip: string) {
  return {
    logical_port: `meta-${net}`,
    type: 'localport',
    datapath: ref(DP[net]!),
    mac: ['set', [`fa:16:3e:9d:cc:52 ${ip}`]],
    external_ids: map({
      'neutron:device_owner': 'network:distributed',
      'neutron:device_id': `ovnmeta-${net}`,
      'neutron:cidrs': cidr,
    }),
  };
}
export function vmPortRow(net: string, ip: string, chassis = CH) {
  return {
    logical_port: `vm-${net}`,
    type: '',
    datapath: ref(DP[net]!),
    chassis: ref(chassis),
    mac: ['set', [`fa:16:3e:00:00:10 ${ip}`]],
    external_ids: map({ 'neutron:device_id': `inst-${net}`, 'neutron:project_id': 'proj-1' }),
  };
}

/** One network in the SB: its datapath, metadata port and a VM port on `chassis`. */
export function addNetwork(sb: FakeOvsdbServer, net: string, n: number, chassis = CH): void {
  sb.put('Datapath_Binding', DP[net]!, datapathRow(net));
  sb.put('Port_Binding', uuidOf(0x100 + n), metadataPortRow(net, `10.0.${n}.2/24`, `10.0.${n}.2`));
  sb.put('Port_Binding', uuidOf(0x200 + n), vmPortRow(net, `10.0.${n}.10`, chassis));
}

/** SB_Global, our Chassis and Chassis_Private rows, and another chassis. */
export function addChassis(sb: FakeOvsdbServer): void {
  sb.put('SB_Global', uuidOf(0x30), { nb_cfg: 7 });
  sb.put('Chassis', CH, { name: SYSTEM_ID });
  sb.put('Chassis', OTHER_CH, { name: 'chassis-2' });
  sb.put('Chassis_Private', uuidOf(0x31), { name: SYSTEM_ID, chassis: ref(CH) });
}
