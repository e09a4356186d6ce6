// The agent on a real OVN chassis (issue 3), driven by NB writes the way
// neutron-server makes them: namespaces, veths, addresses and OVS ports
// follow bindings, subnets, cidrs and live migration; registration and the
// heartbeat follow the SB; unrelated changes cost nothing.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Agent } from '../../src/agent/index.js';
import { run, type Chassis, type Network, type VmPort, type Vm } from '../../src/sandbox/index.js';
import { startAgent, SECRET } from '../support/agent.js';
import { startChassis } from '../support/chassis.js';
import { startFakeNova, type FakeNova } from '../support/fake-nova.js';
import {
  addFakeChassis,
  addSubnet,
  bindPortElsewhere,
  createNetwork,
  createVmPort,
  deletePort,
} from '../support/neutron.js';
import { startVm } from '../support/vm.js';

let chassis: Chassis;
let nova: FakeNova;
let agent: Agent;

beforeAll(async () => {
  chassis = await startChassis();
  nova = await startFakeNova({ secret: SECRET });
  agent = await startAgent(chassis, { novaPort: nova.port, sbFromOvnRemote: true });
});

afterAll(async () => {
  await agent?.stop();
  await nova?.close();
  // The agent leaves namespaces on stop (a restart must not cut metadata);
  // the test removes what it made.
  await cleanupNamespaces();
  await chassis?.stop();
});

const made = new Set<string>();

async function cleanupNamespaces(): Promise<void> {
  for (const id of made) {
    await run('ip', ['link', 'del', `tap${id.slice(0, 10)}0`]).catch(() => {});
    await run('ip', ['netns', 'del', `ovnmeta-${id}`]).catch(() => {});
  }
}

async function network(cidrs: string[], mtu?: number): Promise<Network> {
  const net = await createNetwork(chassis, { cidrs, ...(mtu ? { mtu } : {}) });
  made.add(net.id);
  return net;
}

interface Plumbing {
  namespace: boolean;
  mac?: string;
  mtu?: number;
  rootMtu?: number;
  addresses: string[];
  bridge?: string;
  ifaceId?: string;
}

async function plumbing(net: Network): Promise<Plumbing> {
  const ns = `ovnmeta-${net.id}`;
  const root = `tap${net.id.slice(0, 10)}0`;
  const inside = `tap${net.id.slice(0, 10)}1`;
  if (!existsSync(`/run/netns/${ns}`)) return { namespace: false, addresses: [] };
  const json = await run('ip', ['-n', ns, '-j', 'addr', 'show', 'dev', inside]).catch(() => '[]');
  const link = (
    JSON.parse(json) as { address: string; mtu: number; addr_info: { local: string; prefixlen: number }[] }[]
  )[0];
  const rootJson = await run('ip', ['-j', 'link', 'show', 'dev', root]).catch(() => '[]');
  const rootLink = (JSON.parse(rootJson) as { mtu: number }[])[0];
  const bridge = await chassis.vsctl('port-to-br', root).catch(() => undefined);
  const ifaceId = await chassis
    .vsctl('get', 'Interface', root, 'external_ids:iface-id')
    .then((s) => s.replace(/"/g, ''))
    .catch(() => undefined);
  return {
    namespace: true,
    mac: link?.address,
    mtu: link?.mtu,
    rootMtu: rootLink?.mtu,
    addresses: (link?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`).sort(),
    bridge,
    ifaceId,
  };
}

const until = <T>(fn: () => Promise<T | undefined | false>, what: string, ms = 15_000) =>
  chassis.waitFor(fn, ms, what);

/** Sum of a sample (e.g. `…_count` of a histogram) over all its label sets. */
async function metric(metricName: string, sample: string): Promise<number> {
  const text = await agent.metrics.registry.getSingleMetricAsString(metricName);
  let sum = 0;
  const labelled = sample.includes('{');
  for (const line of text.split('\n')) {
    const hit = labelled
      ? line.startsWith(sample)
      : line.startsWith(`${sample}{`) || line.startsWith(`${sample} `);
    if (hit) sum += Number(line.split(' ').pop());
  }
  return sum;
}

describe('provisioning follows the SB', () => {
  let net: Network;
  let port: VmPort;
  let vm: Vm;

  test('a VM port bound here gets its namespace, veth, MAC, MTU, addresses and OVS port', async () => {
    net = await network(['10.71.0.0/24'], 1442);
    port = await createVmPort(net);
    vm = await startVm(chassis, port);
    const got = await until(async () => {
      const p = await plumbing(net);
      return p.ifaceId && p.addresses.length === 2 ? p : undefined;
    }, 'namespace plumbed');
    expect(got).toEqual({
      namespace: true,
      mac: net.metadataPort.mac,
      mtu: 1442,
      rootMtu: 1442,
      addresses: ['10.71.0.2/24', '169.254.169.254/32'].sort(),
      bridge: 'br-int',
      ifaceId: net.metadataPort.name,
    });
    // ovn-controller plugged the localport: the VM reaches the proxy through OVS.
    const r = await until(async () => {
      const res = await vm
        .curl('http://169.254.169.254/latest/meta-data/instance-id', { timeoutMs: 3000 })
        .catch(() => undefined);
      return res?.status === 200 ? res : undefined;
    }, 'metadata answered');
    expect(r.body).toBe(port.instanceId);
  });

  test('a second subnet with a local port adds its address; cidrs changes follow', async () => {
    await addSubnet(net, '10.72.0.0/24');
    // No local port on the new subnet yet: the address is not wanted.
    await agent.idle();
    expect((await plumbing(net)).addresses).not.toContain('10.72.0.2/24');
    const port2 = await createVmPort(net, { ips: ['10.72.0.10'] });
    const vm2 = await startVm(chassis, port2);
    await until(
      async () => (await plumbing(net)).addresses.includes('10.72.0.2/24'),
      'second subnet address',
    );
    await vm2.stop();
    await deletePort(port2);
    await until(
      async () => !(await plumbing(net)).addresses.includes('10.72.0.2/24'),
      'second subnet address gone',
    );
    // neutron:cidrs of the metadata port changes: the address follows.
    await chassis.nbctl(
      'set',
      'logical_switch_port',
      net.metadataPort.name,
      'addresses="' + net.metadataPort.mac + ' 10.71.0.3"',
      'external_ids:"neutron:cidrs"="10.71.0.3/24"',
    );
    await until(async () => {
      const a = (await plumbing(net)).addresses;
      return a.includes('10.71.0.3/24') && !a.includes('10.71.0.2/24');
    }, 'cidrs change followed');
  });

  test('an unrelated external_ids change does no work', async () => {
    await agent.idle();
    const before = await metric(
      'ovnmeta_reconcile_duration_seconds',
      'ovnmeta_reconcile_duration_seconds_count',
    );
    await chassis.nbctl(
      'set',
      'logical_switch_port',
      port.name,
      'external_ids:"neutron:revision_number"="42"',
    );
    await chassis.nbctl('--wait=sb', 'sync');
    await new Promise((r) => setTimeout(r, 500));
    await agent.idle();
    expect(
      await metric('ovnmeta_reconcile_duration_seconds', 'ovnmeta_reconcile_duration_seconds_count'),
    ).toBe(before);
  });

  test('the VM port unbound (moved to another chassis) tears the network down; back here, it returns', async () => {
    await vm.stop();
    const other = await bindPortElsewhere(chassis, port);
    await until(async () => !(await plumbing(net)).namespace, 'namespace torn down');
    expect(await run('ip', ['link', 'show', `tap${net.id.slice(0, 10)}0`]).catch(() => 'gone')).toBe('gone');
    // Live migration to here: additional_chassis = this chassis.
    await chassis.sbctl('set', 'Port_Binding', port.name, `additional_chassis=${chassis.chassisUuid}`);
    await until(async () => (await plumbing(net)).ifaceId, 'provisioned for the migration target');
    await chassis.sbctl('clear', 'Port_Binding', port.name, 'additional_chassis');
    await until(async () => !(await plumbing(net)).namespace, 'torn down after migration cleared');
    await other.stop();
  });

  test('a VM port deleted tears the network down', async () => {
    const net2 = await network(['10.73.0.0/24']);
    const p = await createVmPort(net2);
    const v = await startVm(chassis, p);
    await until(async () => (await plumbing(net2)).ifaceId, 'provisioned');
    await v.stop();
    await deletePort(p);
    await until(async () => !(await plumbing(net2)).namespace, 'torn down after delete');
  });

  test('a network without a metadata port is not served', async () => {
    const net3 = await network(['10.74.0.0/24']);
    await chassis.nbctl('lsp-del', net3.metadataPort.name);
    const p = await createVmPort(net3);
    const v = await startVm(chassis, p);
    await agent.idle();
    await new Promise((r) => setTimeout(r, 300));
    await agent.idle();
    expect((await plumbing(net3)).namespace).toBe(false);
    await v.stop();
  });
});

describe('monitoring only this chassis', () => {
  test('1,000 foreign VM ports (another chassis, other networks, same network) stay out of the replica', async () => {
    const replicaPorts = () =>
      metric('ovnmeta_replica_rows', 'ovnmeta_replica_rows{db="OVN_Southbound",table="Port_Binding"');
    await agent.idle();
    const before = await replicaPorts();
    const reconciles = await metric(
      'ovnmeta_reconcile_duration_seconds',
      'ovnmeta_reconcile_duration_seconds_count',
    );
    // A served network, and 10 foreign networks; 100 ports each bound to another chassis.
    const served = await network(['10.77.0.0/24']);
    const local = await startVm(chassis, await createVmPort(served));
    await until(async () => (await plumbing(served)).ifaceId, 'served network provisioned');
    const afterLocal = await replicaPorts();
    const fake = await addFakeChassis(chassis);
    const nets = [
      served,
      ...(await Promise.all(Array.from({ length: 9 }, (_, i) => network([`10.${200 + i}.0.0/24`])))),
    ];
    for (const net of nets) {
      const lsps: string[] = [];
      const binds: string[] = [];
      for (let i = 0; i < 100; i++) {
        const name = `foreign-${net.id.slice(0, 8)}-${i}`;
        lsps.push(
          '--',
          'lsp-add',
          net.switchName,
          name,
          '--',
          'lsp-set-addresses',
          name,
          `fa:16:3e:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}:01 unknown`,
        );
        binds.push('--', 'lsp-bind', name, fake.name);
      }
      await chassis.nbctl(...lsps);
      await chassis.nbctl('--wait=sb', 'sync');
      await chassis.sbctl(...binds);
    }
    await chassis.nbctl('--wait=sb', 'sync');
    await new Promise((r) => setTimeout(r, 300));
    await agent.idle();
    // Not one foreign VM port: the replica grew by the 9 foreign networks'
    // metadata ports only (the default conditions select every metadata
    // port, docs/scale.md).
    expect(await replicaPorts()).toBe(afterLocal + 9);
    expect(afterLocal - before).toBe(2); // the local VM port and the network's metadata port
    // The served network was reconciled once or twice while it came up; each
    // foreign network once, for its metadata port (nothing to do there).
    const ran =
      (await metric('ovnmeta_reconcile_duration_seconds', 'ovnmeta_reconcile_duration_seconds_count')) -
      reconciles;
    expect(ran).toBeLessThanOrEqual(4 + 9);
    await local.stop();
    await fake.stop();
  });
});

describe('registration and liveness', () => {
  const ext = async (key: string) =>
    (
      await chassis.sbctl('get', 'Chassis_Private', chassis.systemId, `external_ids:"${key}"`).catch(() => '')
    ).replace(/"/g, '');

  test('registers in Chassis_Private with neutron keys', async () => {
    await until(async () => (await ext('neutron:ovn-metadata-id')) !== '', 'registered');
    expect(await ext('neutron:ovn-bridge')).toBe('br-int');
    expect(await ext('neutron:ovn-metadata-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('NB_Global.nb_cfg bumped: sb-cfg follows', async () => {
    await chassis.nbctl('--wait=sb', 'sync');
    const nbCfg = (await chassis.sbctl('get', 'SB_Global', '.', 'nb_cfg')).trim();
    // The first write is immediate, later ones within the random delay (<= 10 s).
    await until(async () => (await ext('neutron:ovn-metadata-sb-cfg')) === nbCfg, 'sb-cfg follows', 15_000);
  });

  test('Chassis_Private recreated (ovn-controller restart): registers again', async () => {
    const id = await ext('neutron:ovn-metadata-id');
    await chassis.stopController();
    await chassis.startController();
    await until(async () => (await ext('neutron:ovn-metadata-id')) === id, 're-registered', 20_000);
  });

  test('SB server restarted: the agent converges and keeps serving', async () => {
    const net = await network(['10.75.0.0/24']);
    const p = await createVmPort(net);
    const v = await startVm(chassis, p);
    await until(async () => (await plumbing(net)).ifaceId, 'provisioned');
    await chassis.restartSb();
    // A change made after the restart is seen.
    await addSubnet(net, '10.76.0.0/24');
    const p2 = await createVmPort(net, { ips: ['10.76.0.10'] });
    const v2 = await startVm(chassis, p2);
    await until(
      async () => (await plumbing(net)).addresses.includes('10.76.0.2/24'),
      'converged after SB restart',
      30_000,
    );
    const r = await v2.curl('http://169.254.169.254/latest/meta-data/instance-id', { timeoutMs: 5000 });
    expect(r.body).toBe(p2.instanceId);
    await v.stop();
    await v2.stop();
  });
});
