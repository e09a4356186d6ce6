// The rest of a cloud, in the Southbound of a sandbox chassis: `ports` VM
// ports bound to `chassisCount` other chassis, spread over networks of
// `perNetwork` ports, each network with its metadata localport, all shaped as
// neutron + northd write them (Port_Binding.external_ids neutron:*, mac,
// Datapath_Binding external_ids name = neutron-<network>).
//
// The rows go straight into the SB, through our own client, in a few big
// transactions: 50,000 ports take a few seconds. Going through the NB
// instead was measured here at 41 s for northd alone to create the 50,000
// Port_Binding rows (plus their logical flows), and ovn-sbctl then times out
// on the grown SB; too slow for a bench run. northd is paused first
// (ovn-northd(8) `pause`: it keeps reading both databases and writes
// nothing) because it deletes SB datapaths and ports that the NB does not
// have; it stays paused until the chassis stops. What the metadata agent can
// see is the same either way: Port_Binding and Datapath_Binding rows (it
// monitors no logical flows).
import { randomUUID } from 'node:crypto';
import { OvsdbClient, map, namedUuid, op, set, uuid, type WireOperation } from '../../src/ovsdb/index.js';
import type { Chassis } from '../../src/sandbox/index.js';

export interface ForeignPortsOptions {
  readonly ports: number;
  readonly perNetwork?: number;
  readonly chassisCount?: number;
  /** Port_Binding inserts per transaction. */
  readonly batch?: number;
}

export interface ForeignPorts {
  /** Port_Binding rows added: VM ports + one metadata localport per network. */
  readonly portBindings: number;
  readonly datapaths: number;
  readonly chassis: number;
  readonly seconds: number;
}

/** Datapath tunnel keys from here up: clear of the sandbox's own networks (northd counts from 1). */
const FIRST_TUNNEL_KEY = 1 << 20;

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/** Pauses northd, then adds the foreign chassis, datapaths and ports. */
export async function addForeignPorts(chassis: Chassis, o: ForeignPortsOptions): Promise<ForeignPorts> {
  const perNetwork = o.perNetwork ?? 100;
  const chassisCount = o.chassisCount ?? 20;
  const batch = o.batch ?? 10_000;
  const networks = Math.ceil(o.ports / perNetwork);
  const t0 = performance.now();
  await chassis.appctl('northd', 'pause');
  const sb = new OvsdbClient({ remote: chassis.sbRemote, database: 'OVN_Southbound', probeIntervalMs: 0 });
  sb.monitor({ SB_Global: {} });
  await sb.start();
  try {
    // Other hypervisors, as their ovn-controller registers them: Chassis with
    // its Encap (not a root table: referenced in the same transaction) and
    // Chassis_Private.
    const hosts: WireOperation[] = [];
    for (let c = 0; c < chassisCount; c++) {
      const name = `foreign-${randomUUID()}`;
      hosts.push(
        op.insert('Encap', { type: 'geneve', ip: `192.0.2.${c + 1}`, chassis_name: name }, `encap${c}`),
        op.insert('Chassis', { name, hostname: `compute-${c}`, encaps: namedUuid(`encap${c}`) }, `ch${c}`),
        op.insert('Chassis_Private', { name, chassis: namedUuid(`ch${c}`) }),
      );
    }
    const hostResults = await sb.transact(hosts);
    const chassisUuids = hostResults.filter((_, i) => i % 3 === 1).map((r) => r.uuid!);

    const datapathOps: WireOperation[] = [];
    const networkIds: string[] = [];
    for (let d = 0; d < networks; d++) {
      const id = randomUUID();
      networkIds.push(id);
      datapathOps.push(
        op.insert('Datapath_Binding', {
          tunnel_key: FIRST_TUNNEL_KEY + d,
          external_ids: map({ 'logical-switch': randomUUID(), name: `neutron-${id}`, name2: `net-${d}` }),
        }),
      );
    }
    const datapaths = (await sb.transact(datapathOps)).map((r) => r.uuid!);

    let rows = 0;
    let ops: WireOperation[] = [];
    const flush = async (): Promise<void> => {
      if (ops.length === 0) return;
      await sb.transact(ops);
      rows += ops.length;
      ops = [];
    };
    for (let d = 0; d < networks; d++) {
      const network = networkIds[d]!;
      const net = `10.${(d >> 8) & 255}.${d & 255}`; // a /24 per network; the address plan is per network
      const datapath = uuid(datapaths[d]!);
      const inThis = Math.min(perNetwork, o.ports - d * perNetwork);
      ops.push(
        op.insert('Port_Binding', {
          logical_port: randomUUID(),
          type: 'localport',
          datapath,
          tunnel_key: 1,
          mac: set([`fa:16:3e:${hex(d >> 8, 2)}:${hex(d & 255, 2)}:02 ${net}.2`]),
          external_ids: map({
            'neutron:cidrs': `${net}.2/24`,
            'neutron:device_id': `ovnmeta-${network}`,
            'neutron:device_owner': 'network:distributed',
            'neutron:network_name': `neutron-${network}`,
            'neutron:project_id': '',
          }),
        }),
      );
      for (let p = 0; p < inThis; p++) {
        const mac = `fa:16:3f:${hex(d >> 8, 2)}:${hex(d & 255, 2)}:${hex(p, 2)}`;
        const ip = `${net}.${p + 10}`;
        ops.push(
          op.insert('Port_Binding', {
            logical_port: randomUUID(),
            datapath,
            tunnel_key: p + 2,
            chassis: uuid(chassisUuids[(d * perNetwork + p) % chassisCount]!),
            mac: set([`${mac} ${ip}`]),
            port_security: set([`${mac} ${ip}`]),
            up: true,
            external_ids: map({
              'neutron:cidrs': `${ip}/24`,
              'neutron:device_id': randomUUID(),
              'neutron:device_owner': 'compute:nova',
              'neutron:host_id': `compute-${p % chassisCount}`,
              'neutron:network_name': `neutron-${network}`,
              'neutron:port_name': '',
              'neutron:project_id': hex(d % 50, 32),
              'neutron:revision_number': '4',
              'neutron:security_group_ids': randomUUID(),
              'neutron:vnic_type': 'normal',
            }),
          }),
        );
      }
      if (ops.length >= batch) await flush();
    }
    await flush();
    return {
      portBindings: rows,
      datapaths: networks,
      chassis: chassisCount,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await sb.close();
  }
}
