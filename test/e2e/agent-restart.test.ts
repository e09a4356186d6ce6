// Restarts (issue 3): `ovnmeta agent` killed with SIGKILL and started again
// adopts what it made — the same namespace (same inode), veth (same
// ifindex) and OVS port (same row) — and serves again; a clean SIGTERM
// leaves the namespaces in place; namespaces nobody needs are torn down at
// start-up, half-made ones repaired. The listening sockets belong to the
// listener holder (issue 10): a request made while no agent runs waits in
// the backlog and is answered by the next agent; `ovnmeta release` frees
// port 80.
import { execa } from 'execa';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { run, type Chassis, type Network, type Vm, type VmPort } from '../../src/sandbox/index.js';
import { ListenerHolder } from '../../src/proxy/index.js';
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

// Neither node's default (511) nor the kernel's cap (somaxconn, 4096 here).
const BACKLOG = 1000;
const INI = { novaPort: 0, extra: `[DEFAULT]\nmetadata_backlog = ${BACKLOG}` };

async function start(): Promise<void> {
  agent = await spawnAgent(chassis, { ...INI, novaPort: nova.port });
}

const holderSocket = (): string => join(chassis.dir, 'state', 'ovnmeta-listeners.sock');

/** `ss -ltn` in the network's namespace: backlog (Send-Q) of each listener on port 80. */
async function port80Backlogs(net: Network): Promise<number[]> {
  const ss = await run('ip', ['netns', 'exec', `ovnmeta-${net.id}`, 'ss', '-Hltn', 'sport = :80']);
  return ss
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => Number(l.trim().split(/\s+/)[2]));
}

function listenerLines(log: string): Record<string, unknown>[] {
  return log
    .split('\n')
    .filter((l) => l.includes('"metadata listener ready"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
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

    // Asked while no agent runs: the connection waits in the holder's
    // backlog and the restarted agent answers it.
    const meanwhile = vm.curl('http://169.254.169.254/latest/meta-data/instance-id', { timeoutMs: 30_000 });
    await start();
    expect(await meanwhile).toEqual({ status: 200, body: port.instanceId });
    await chassis.waitFor(() => served(vm, port), 20_000, 'served by the restarted agent');
    expect(await fingerprint(net)).toEqual(before);
    const log = await readFile(agent!.logFile, 'utf8');
    // The socket was the holder's already, not bound again.
    expect(listenerLines(log).map((l) => [l.network, l.adopted])).toEqual([[net.id, 1]]);
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

  test("the listening socket has metadata_backlog, not node's default", async () => {
    expect(await port80Backlogs(net)).toEqual([BACKLOG]);
  });

  test('SIGTERM stops cleanly and leaves the namespace in place', async () => {
    const before = await fingerprint(net);
    expect(await kill('SIGTERM')).toBe(0);
    expect(await fingerprint(net)).toEqual(before);
  });

  test('after SIGTERM the holder keeps port 80; `ovnmeta release` frees it and leaves the namespace', async () => {
    const before = await fingerprint(net);
    expect(await port80Backlogs(net)).toEqual([BACKLOG]);
    const ini = join(chassis.dir, 'release.ini');
    await writeFile(ini, agentIni(chassis, { ...INI, novaPort: nova.port }));
    const r = await execa('node', [MAIN, 'release', '--config-file', ini], { reject: false });
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([
      0,
      'listener holder ended: 1 listening sockets closed',
      '',
    ]);
    expect(await port80Backlogs(net)).toEqual([]);
    expect(ListenerHolder.status(holderSocket())).toBeUndefined();
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
    expect(ListenerHolder.status(holderSocket())?.held).toBe(1);
    const ini = join(chassis.dir, 'cleanup.ini');
    await writeFile(ini, agentIni(chassis, { ...INI, novaPort: nova.port }));
    const r = await execa('node', [MAIN, 'cleanup', '--config-file', ini], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`ovnmeta-${net.id}`);
    const id = net.id.slice(0, 10);
    expect(await stat(`/run/netns/ovnmeta-${net.id}`).catch(() => 'gone')).toBe('gone');
    expect(await stat(`/sys/class/net/tap${id}0`).catch(() => 'gone')).toBe('gone');
    expect(await chassis.vsctl('--bare', '--columns=name', 'find', 'Port', `name=tap${id}0`)).toBe('');
    expect(ListenerHolder.status(holderSocket())).toBeUndefined();
  });
});
