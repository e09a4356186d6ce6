// The agent on NB contents written by neutron itself: Debian's neutron-server
// (ML2/OVN, test/support/neutron-server.ts) creates a network, an IPv4 and an
// IPv6 slaac subnet and a port bound to the sandbox chassis through its REST
// API; a namespace VM plugged as that port is crawled by cloud-init's own
// OpenStack reader (Debian's cloud-init, MetadataReader.read_v2) through
// the agent, over 169.254.169.254 and over [fe80::a9fe:a9fe%eth0]; deleting
// the port through the API tears the network's namespace down. Role: the
// legacy metadata agent identity (neutron lists an "OVN Metadata agent").
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Agent } from '../../src/agent/index.js';
import { type Chassis, type Network, type Vm, type VmPort } from '../../src/sandbox/index.js';
import { startAgent } from '../support/agent.js';
import { startChassis } from '../support/chassis.js';
import { startFakeNova, type FakeNova } from '../support/fake-nova.js';
import {
  neutronServerMissing,
  startNeutronServer,
  type NeutronResource,
  type NeutronServer,
} from '../support/neutron-server.js';
import { startVm } from '../support/vm.js';
import { SECRET } from '../support/agent.js';

let chassis: Chassis | undefined;
let neutron: NeutronServer | undefined;
let nova: FakeNova | undefined;
let agent: Agent | undefined;
let vm: Vm | undefined;

beforeAll(async () => {
  const missing = neutronServerMissing();
  if (missing) throw new Error(missing);
  chassis = await startChassis({ lockTimeoutMs: 240_000 });
  nova = await startFakeNova({ secret: SECRET });
  neutron = await startNeutronServer(chassis);
  agent = await startAgent(chassis, { novaPort: nova.port });
}, 600_000);

afterAll(async () => {
  const failures: unknown[] = [];
  for (const step of [
    () => vm?.stop(),
    () => agent?.stop(),
    () => neutron?.stop(),
    () => nova?.close(),
    () => chassis?.stop(),
  ]) {
    await Promise.resolve()
      .then(step)
      .catch((err: unknown) => failures.push(err));
  }
  if (failures.length > 0) throw failures[0];
});

const READ_V2 = `
import json, sys
from cloudinit.sources.helpers import openstack, ec2
base = sys.argv[1]
r = openstack.MetadataReader(base, timeout=5, retries=1).read_v2()
r['ec2-at-base'] = ec2.get_instance_metadata(api_version='2009-04-04', metadata_address=base, timeout=5, retries=1)
r.pop('files', None)
print(json.dumps(r, default=lambda b: b.decode() if isinstance(b, bytes) else str(b)))
`;

test('neutron-server drives the NB; cloud-init crawls the whole tree over IPv4 and IPv6; port delete tears down', async () => {
  const c = chassis!;
  const api = neutron!.api;
  const agents = await c.waitFor(
    async () => {
      const list = await api.list('agents');
      return list.some((a) => a.agent_type === 'OVN Metadata agent' && a.host === c.name && a.alive === true)
        ? list
        : undefined;
    },
    60_000,
    'neutron lists an alive OVN Metadata agent',
  );
  expect(agents.find((a) => a.agent_type === 'OVN Controller agent')?.alive).toBe(true);

  const project = 'p-e2e';
  const net = await api.create('network', { name: 'e2e', project_id: project });
  await api.create('subnet', {
    network_id: net.id,
    ip_version: 4,
    cidr: '10.77.0.0/24',
    project_id: project,
  });
  await api.create('subnet', {
    network_id: net.id,
    ip_version: 6,
    cidr: 'fd77::/64',
    ipv6_ra_mode: 'slaac',
    ipv6_address_mode: 'slaac',
    project_id: project,
  });
  const instanceId = crypto.randomUUID();
  const port = await api.create('port', {
    network_id: net.id,
    project_id: project,
    device_id: instanceId,
    device_owner: 'compute:nova',
    'binding:host_id': c.name,
  });
  expect(port['binding:vif_type']).toBe('ovs');
  const [meta] = await api.list('ports', `network_id=${net.id}&device_owner=network:distributed`);
  const ipsOf = (p: NeutronResource) =>
    (p.fixed_ips as { ip_address: string; subnet_id: string }[]).map((f) => f.ip_address);
  const prefix = (ip: string) => (ip.includes(':') ? 64 : 24);
  const metaIps = ipsOf(meta!);
  const network: Network = {
    chassis: c,
    id: net.id,
    switchName: `neutron-${net.id}`,
    mtu: net.mtu as number,
    subnets: ['10.77.0.0/24', 'fd77::/64'],
    metadataPort: {
      name: meta!.id,
      mac: meta!.mac_address as string,
      ips: metaIps,
      cidrs: metaIps.map((i) => `${i}/${prefix(i)}`),
    },
  };
  const vmIps = ipsOf(port);
  const vmPort: VmPort = {
    network,
    name: port.id,
    mac: port.mac_address as string,
    ips: vmIps,
    cidrs: vmIps.map((i) => `${i}/${prefix(i)}`),
    instanceId,
    projectId: project,
  };
  const userData = `#cloud-config\nhostname: e2e-${instanceId.slice(0, 8)}\n`;
  nova!.setInstance(instanceId, {
    userData,
    keypair: { name: 'k1', type: 'ssh', publicKey: 'ssh-ed25519 AAAAC3Nza e2e@test' },
    networkData: {
      links: [{ id: 'tap0', type: 'ovs', ethernet_mac_address: vmPort.mac }],
      networks: [],
      services: [],
    },
    vendorData: { from: 'fake-nova' },
  });
  vm = await startVm(c, vmPort, { ipv6: true, bindTimeoutMs: 30_000 });
  await c.waitFor(
    async () => {
      const r = await vm!
        .curl('http://169.254.169.254/latest/meta-data/instance-id', { timeoutMs: 2000 })
        .catch(() => undefined);
      return r?.status === 200 && r.body === instanceId;
    },
    60_000,
    'the VM served its instance id',
  );

  for (const base of ['http://169.254.169.254', `http://[fe80::a9fe:a9fe%${vm.device}]`]) {
    const before = nova!.requests.length;
    const r = await vm.exec(['/usr/bin/python3', '-c', READ_V2, base], { timeoutMs: 60_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as Record<string, Record<string, unknown> & unknown>;
    expect(result.metadata).toMatchObject({
      uuid: instanceId,
      project_id: project,
      public_keys: { k1: 'ssh-ed25519 AAAAC3Nza e2e@test' },
    });
    expect(result.userdata).toBe(userData);
    expect(result.vendordata).toEqual({ from: 'fake-nova' });
    expect(result.vendordata2).toEqual({ static: { from: 'fake-nova' } });
    expect(result.networkdata).toMatchObject({ links: [{ ethernet_mac_address: vmPort.mac }] });
    for (const tree of ['ec2-metadata', 'ec2-at-base'] as const) {
      expect(result[tree]).toMatchObject({
        'instance-id': instanceId,
        'public-keys': { k1: 'ssh-ed25519 AAAAC3Nza e2e@test' },
        placement: { 'availability-zone': 'nova' },
      });
    }
    const seen = nova!.requests.slice(before);
    expect(seen.every((s) => s.signatureValid)).toBe(true);
    const urls = new Set(seen.map((s) => s.url));
    for (const u of [
      '/openstack',
      '/openstack/2018-08-27/meta_data.json',
      '/openstack/2018-08-27/vendor_data2.json',
      '/2009-04-04/meta-data/',
    ])
      expect(urls).toContain(u);
    const v6 = seen.filter((s) => String(s.headers['x-forwarded-for']).startsWith('fe80:'));
    if (base.includes('[')) expect(v6.length).toBeGreaterThan(0);
    else expect(v6).toEqual([]);
  }

  const namespace = `/run/netns/ovnmeta-${net.id}`;
  expect(existsSync(namespace)).toBe(true);
  await api.remove('port', port.id);
  await c.waitFor(() => !existsSync(namespace), 30_000, `ovnmeta-${net.id} torn down after the port delete`);
  await api.remove('network', net.id);
});
