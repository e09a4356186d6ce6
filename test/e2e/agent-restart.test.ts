// Restarts (issue 3): `ovnmeta agent` killed with SIGKILL and started again
// adopts what it made — the same namespace (same inode), veth (same
// ifindex) and OVS port (same row) — and serves again; a clean SIGTERM
// leaves the namespaces in place; namespaces nobody needs are torn down at
// start-up, half-made ones repaired.
import { execa } from 'execa';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { run, type Chassis, type Network, type Vm, type VmPort } from '../../src/sandbox/index.js';
import { agentIni, spawnAgent, SECRET } from '../support/agent.js';

const MAIN = resolve(import.meta.dirname, '../../dist/cli/main.js');
import { startChassis } from '../support/chassis.js';
import { startFakeNova, type FakeNova } from '../support/fake-nova.js';
import { createNetwork, createVmPort } from '../support/neutron.js';
import { startVm } from '../support/vm.js';

let chassis: Chassis;
let nova: FakeNova;
let agent: Awaited<ReturnType<typeof spawnAgent>> | undefined;
const made = new Set<string>();

beforeAll(async () => {
  chassis = await startChassis();
  nova = await startFakeNova({ secret: SECRET });
});

afterAll(async () => {
  agent?.process.kill('SIGKILL');
  await agent?.process;
  await nova?.close();
  for (const id of made) {
    await run('ip', ['link', 'del', `tap${id.slice(0, 10)}0`]).catch(() => {});
    await run('ip', ['netns', 'del', `ovnmeta-${id}`]).catch(() => {});
  }
  await chassis?.stop();
});

async function start(): Promise<void> {
  agent = await spawnAgent(chassis, { novaPort: nova.port });
}

async function kill(signal: 'SIGKILL' | 'SIGTERM'): Promise<number | undefined> {
  const a = agent!;
  a.process.kill(signal);
  const result = await a.process;
  agent = undefined;
  return result.exitCode;
}

interface Fingerprint {
  inode: number;
  rootIfindex: number;
  insideIfindex: number;
  ovsInterface: string;
  addresses: string;
}

async function fingerprint(net: Network): Promise<Fingerprint> {
  const id = net.id.slice(0, 10);
  const inode = (await stat(`/run/netns/ovnmeta-${net.id}`)).ino;
  const rootIfindex = Number((await readFile(`/sys/class/net/tap${id}0/ifindex`, 'utf8')).trim());
  const inside = JSON.parse(
    await run('ip', ['-n', `ovnmeta-${net.id}`, '-j', 'addr', 'show', 'dev', `tap${id}1`]),
  ) as {
    ifindex: number;
    addr_info: { local: string; prefixlen: number }[];
  }[];
  return {
    inode,
    rootIfindex,
    insideIfindex: inside[0]!.ifindex,
    ovsInterface: await chassis.vsctl('--bare', '--columns=_uuid', 'find', 'Interface', `name=tap${id}0`),
    addresses: inside[0]!.addr_info
      .map((a) => `${a.local}/${a.prefixlen}`)
      .sort()
      .join(' '),
  };
}

async function served(vm: Vm, port: VmPort): Promise<boolean> {
  const r = await vm
    .curl('http://169.254.169.254/latest/meta-data/instance-id', { timeoutMs: 2000 })
    .catch(() => undefined);
  return r?.status === 200 && r.body === port.instanceId;
}

describe('agent restarts', () => {
  let net: Network;
  let port: VmPort;
  let vm: Vm;

  test('kill -9 and restart adopts the namespace as it is and serves again', async () => {
    net = await createNetwork(chassis, { cidrs: ['10.81.0.0/24'] });
    made.add(net.id);
    port = await createVmPort(net);
    vm = await startVm(chassis, port);
    await start();
    await chassis.waitFor(() => served(vm, port), 20_000, 'served by the first agent');
    const before = await fingerprint(net);

    expect(await kill('SIGKILL')).not.toBe(0);
    // The namespace outlives the agent.
    expect(await fingerprint(net)).toEqual(before);

    await start();
    await chassis.waitFor(() => served(vm, port), 20_000, 'served by the restarted agent');
    expect(await fingerprint(net)).toEqual(before);
    const log = await readFile(agent!.logFile, 'utf8');
    expect(log).not.toMatch(/network torn down/);
    // Only the listener is new (it lives in the agent process); the plumbing
    // and the OVS port were adopted untouched.
    const provisioned = log.split('\n').filter((l) => l.includes('"network provisioned"'));
    expect(provisioned).toHaveLength(1);
    expect(JSON.parse(provisioned[0]!).steps).toEqual({
      host: 'unchanged',
      ovsPort: 'unchanged',
      listener: 'created',
    });
  });

  test('SIGTERM stops cleanly and leaves the namespace in place', async () => {
    const before = await fingerprint(net);
    expect(await kill('SIGTERM')).toBe(0);
    expect(await fingerprint(net)).toEqual(before);
  });

  test('at start-up: stale ovnmeta namespaces go, half-made ones are repaired', async () => {
    // A namespace for a network that has no VM here any more.
    const stale = 'ovnmeta-00000000-dead-beef-0000-000000000000';
    await run('ip', ['netns', 'add', stale]);
    made.add(stale.slice('ovnmeta-'.length));
    // Our network's inside veth deleted, an address removed: half made.
    const id = net.id.slice(0, 10);
    await run('ip', ['-n', `ovnmeta-${net.id}`, 'addr', 'del', '10.81.0.2/24', 'dev', `tap${id}1`]);
    const inode = (await stat(`/run/netns/ovnmeta-${net.id}`)).ino;
    await start();
    await chassis.waitFor(() => served(vm, port), 20_000, 'repaired and served');
    const after = await fingerprint(net);
    expect(after.inode).toBe(inode);
    expect(after.addresses).toBe('10.81.0.2/24 169.254.169.254/32');
    await chassis.waitFor(
      async () => !(await stat(`/run/netns/${stale}`).catch(() => undefined)),
      10_000,
      'stale gone',
    );
  });

  test('`ovnmeta cleanup` removes every ovnmeta namespace, veth and OVS port', async () => {
    expect(await kill('SIGTERM')).toBe(0);
    const ini = join(chassis.dir, 'cleanup.ini');
    await writeFile(ini, agentIni(chassis, { novaPort: nova.port }));
    const r = await execa('node', [MAIN, 'cleanup', '--config-file', ini], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`ovnmeta-${net.id}`);
    const id = net.id.slice(0, 10);
    expect(await stat(`/run/netns/ovnmeta-${net.id}`).catch(() => 'gone')).toBe('gone');
    expect(await stat(`/sys/class/net/tap${id}0`).catch(() => 'gone')).toBe('gone');
    expect(await chassis.vsctl('--bare', '--columns=name', 'find', 'Port', `name=tap${id}0`)).toBe('');
  });
});
