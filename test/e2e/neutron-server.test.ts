// The agent on NB contents written by neutron itself: Debian's neutron-server
// (ML2/OVN, test/support/neutron-server.ts) creates a network, an IPv4 and an
// IPv6 slaac subnet and a port bound to the sandbox chassis through its REST
// API; a namespace VM plugged as that port is crawled by cloud-init's own
// OpenStack reader (Debian's cloud-init, MetadataReader.read_v2) through
// the agent, over 169.254.169.254 and over [fe80::a9fe:a9fe%eth0]; deleting
// the port through the API tears the network's namespace down. Both roles:
// first the legacy metadata agent identity (neutron lists an "OVN Metadata
// agent"), then `ovnmeta agent --config-dir` with neutron-ovn-agent's files
// (`[agent] extensions = metadata`): the OVN Neutron agent's Chassis_Private
// keys and heartbeat, log_file, the namespace adopted. Debian's neutron 21
// predates the OVN Neutron agent, so its listing is not checked here.
import { execa, type ResultPromise } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
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
/** `ovnmeta agent --config-dir …`, the OVN Neutron agent phase. */
let cli: ResultPromise | undefined;
/** What the first test made, for the next ones. */
let ring: { networkId: string; portId: string; instanceId: string } | undefined;

const MAIN = resolve(import.meta.dirname, '../../dist/cli/main.js');

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
    async () => {
      cli?.kill('SIGTERM');
      await cli;
    },
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

test('neutron-server drives the NB; cloud-init crawls the whole tree over IPv4 and IPv6 (OVN Metadata agent)', async () => {
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

  ring = { networkId: net.id, portId: port.id, instanceId };
});

test('as the OVN Neutron agent, started from a --config-dir (neutron-ovn-agent files): keys, heartbeat, log_file, VM served', async () => {
  const c = chassis!;
  const { networkId, instanceId } = ring!;
  const namespace = `/run/netns/ovnmeta-${networkId}`;
  const inode = (await stat(namespace)).ino;
  await agent!.stop();
  agent = undefined;

  // neutron-ovn-agent's layout: neutron.conf and neutron_ovn_agent's options
  // in one --config-dir (oslo reads its *.conf, sorted).
  const dir = join(c.dir, 'neutron-ovn-agent.conf.d');
  await mkdir(dir, { recursive: true });
  const logFile = join(c.dir, 'neutron-ovn-agent.log');
  await writeFile(
    join(dir, '00-neutron.conf'),
    [
      '[DEFAULT]',
      `state_path = ${join(c.dir, 'state')}`,
      `log_file = ${logFile}`,
      // neutron's heartbeat delay is max(min(agent_down_time // 3, 10), 3) s.
      'agent_down_time = 9',
      '',
    ].join('\n'),
  );
  await writeFile(
    join(dir, '10-neutron_ovn_agent.conf'),
    [
      '[DEFAULT]',
      'nova_metadata_host = 127.0.0.1',
      `nova_metadata_port = ${nova!.port}`,
      `metadata_proxy_shared_secret = ${SECRET}`,
      '[agent]',
      'extensions = metadata',
      '[ovs]',
      `ovsdb_connection = ${c.ovsDbRemote}`,
      '[ovn]',
      `ovn_sb_connection = ${c.sbRemote}`,
      '[ovnmeta]',
      'metrics_bind =',
      '',
    ].join('\n'),
  );
  const out = join(c.dir, 'neutron-ovn-agent.out');
  cli = execa('node', [MAIN, 'agent', '--config-dir', dir], {
    stdout: { file: out },
    stderr: { file: `${out}.err` },
    reject: false,
  });

  const ext = async (key: string) =>
    (await c.sbctl('get', 'Chassis_Private', c.systemId, `external_ids:"${key}"`).catch(() => '')).replace(
      /"/g,
      '',
    );
  // neutron master: uuid5(chassis UUID, 'ovn_agent'), the chassis UUID being
  // system-id or uuid5 of it in OVN_MONITOR_UUID_NAMESPACE; computed by
  // Debian's python, not by our code.
  const expectedId = (
    await execa('/usr/bin/python3', [
      '-c',
      'import sys, uuid\n' +
        'ns = uuid.UUID("fd7e0970-7164-11ed-80f0-00000003158a")\n' +
        'try:\n    ch = uuid.UUID(sys.argv[1])\nexcept ValueError:\n    ch = uuid.uuid5(ns, sys.argv[1])\n' +
        'print(uuid.uuid5(ch, "ovn_agent"))',
      c.systemId,
    ])
  ).stdout.trim();
  await c.waitFor(
    async () => (await ext('neutron:ovn-neutron-agent-id')) === expectedId,
    30_000,
    'Chassis_Private carries the OVN Neutron agent id',
  );
  expect(await ext('neutron:ovn-bridge')).toBe('br-int');
  // neutron-ovn-agent's _cleanup_previous_tags: the metadata agent's keys go.
  expect(await ext('neutron:ovn-metadata-id')).toBe('');
  expect(await ext('neutron:ovn-metadata-sb-cfg')).toBe('');

  // The heartbeat follows NB_Global.nb_cfg, bumped twice.
  for (let i = 0; i < 2; i++) {
    await c.nbctl('--wait=sb', 'sync');
    const nbCfg = (await c.sbctl('get', 'SB_Global', '.', 'nb_cfg')).trim();
    await c.waitFor(
      async () => (await ext('neutron:ovn-neutron-agent-sb-cfg')) === nbCfg,
      15_000,
      `neutron:ovn-neutron-agent-sb-cfg follows nb_cfg ${nbCfg}`,
    );
  }

  // The namespace was adopted, not recreated, and the VM is crawled again.
  expect((await stat(namespace)).ino).toBe(inode);
  const r = await vm!.exec(['/usr/bin/python3', '-c', READ_V2, 'http://169.254.169.254'], {
    timeoutMs: 60_000,
  });
  expect(r.exitCode, r.stderr).toBe(0);
  expect((JSON.parse(r.stdout) as { metadata: unknown }).metadata).toMatchObject({ uuid: instanceId });

  // log_file from the config dir received the JSON lines; stdout none.
  const lines = (await readFile(logFile, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  // With no --config-file, oslo's default files (Debian's
  // /etc/neutron/neutron.conf here) come first, then the directory's, sorted.
  const read = lines.find((l) => l.msg === 'configuration read') as { config_files: string[] };
  expect(read.config_files.slice(-2)).toEqual([
    join(dir, '00-neutron.conf'),
    join(dir, '10-neutron_ovn_agent.conf'),
  ]);
  expect(lines.find((l) => l.msg === 'registered in Chassis_Private')).toMatchObject({
    role: 'ovn-neutron-agent',
  });
  expect(await readFile(out, 'utf8')).toBe('');
  expect(JSON.stringify(lines)).not.toContain(SECRET);
});

test('port deleted through the API: the namespace is torn down', async () => {
  const { networkId, portId } = ring!;
  const namespace = `/run/netns/ovnmeta-${networkId}`;
  expect(existsSync(namespace)).toBe(true);
  await neutron!.api.remove('port', portId);
  await chassis!.waitFor(
    () => !existsSync(namespace),
    30_000,
    `ovnmeta-${networkId} torn down after the port delete`,
  );
  await neutron!.api.remove('network', networkId);
});
