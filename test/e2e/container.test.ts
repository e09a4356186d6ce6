// The container image (issue 9), run the way kolla-ansible and EDPM run
// neutron's agent: privileged, host network, /run/netns shared with the host,
// the OVS and OVN sockets and the config files mounted, started with no
// command and kolla's config.json (its command neutron's, unchanged: the
// image answers to that name). Against a sandbox
// chassis: a VM is served; the namespace the container made is a namespace
// on the host; a restarted container adopts it (same inode); `ovnmeta
// health` answers 0 inside; without `:shared` the agent refuses to start.
//
// The image is built by scripts/image.sh (cached: seconds when nothing
// changed, minutes cold). runc and cgroupfs: crun refuses this machine's
// cgroup setup, and raising rlimits is not permitted, hence --ulimit.
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { run, type Chassis, type Network, type Vm, type VmPort } from '../../src/sandbox/index.js';
import { agentIni, SECRET } from '../support/agent.js';
import { startChassis } from '../support/chassis.js';
import { startFakeNova, type FakeNova } from '../support/fake-nova.js';
import { createNetwork, createVmPort } from '../support/neutron.js';
import { startVm } from '../support/vm.js';

const ROOT = resolve(import.meta.dirname, '../..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const IMAGE = `localhost/ovnmeta:${VERSION}`;
const PODMAN = ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs'];
const LIMITS = ['--ulimit', 'nofile=10000:10000', '--ulimit', 'nproc=1000:1000'];
const tag = randomBytes(3).toString('hex');
const NAME = `ovnmeta-e2e-${tag}`;

let chassis: Chassis;
let nova: FakeNova;
let net: Network;
let port: VmPort;
let vm: Vm;
let ini: string;
let adminPort: number;
const containers = new Set<string>();

const podman = (args: string[], timeout = 60_000) =>
  execa('podman', [...PODMAN, ...args], { reject: false, timeout, stdin: 'ignore' });

/**
 * `podman run` as kolla and EDPM do; `netns` is the /run/netns volume
 * option. `kolla`: no command, KOLLA_CONFIG_STRATEGY and config.json (the
 * image's kolla_start copies the files and runs its command, neutron's
 * unchanged); else `agent --config-file` (the quadlet's way).
 */
function runArgs(name: string, netns: string, o: { detach: boolean; kolla: boolean }): string[] {
  return [
    'run',
    ...(o.detach ? ['-d'] : []),
    '--name',
    name,
    ...LIMITS,
    '--privileged',
    '--network',
    'host',
    '-v',
    `/run/netns:/run/netns${netns}`,
    // The chassis' OVS, SB sockets, ini and state_path, at the same path.
    '-v',
    `${chassis.dir}:${chassis.dir}`,
    ...(o.kolla
      ? [
          '-e',
          'KOLLA_CONFIG_STRATEGY=COPY_ALWAYS',
          '-v',
          `${join(chassis.dir, 'kolla')}:/var/lib/kolla/config_files:ro`,
          IMAGE,
        ]
      : [IMAGE, 'agent', '--config-file', ini]),
  ];
}

/** kolla's config.json for neutron_ovn_metadata_agent, its command as kolla-ansible writes it. */
const KOLLA_CONFIG = {
  command:
    'neutron-ovn-metadata-agent --config-file /etc/neutron/neutron_ovn_metadata_agent.ini --config-file /etc/neutron/neutron.conf',
  config_files: [
    {
      source: '/var/lib/kolla/config_files/neutron.conf',
      dest: '/etc/neutron/neutron.conf',
      owner: 'neutron',
      perm: '0600',
    },
    {
      source: '/var/lib/kolla/config_files/neutron_ovn_metadata_agent.ini',
      dest: '/etc/neutron/neutron_ovn_metadata_agent.ini',
      owner: 'neutron',
      perm: '0600',
    },
  ],
};

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
    s.on('error', fail);
  });
}

async function served(): Promise<boolean> {
  const r = await vm
    .curl('http://169.254.169.254/latest/meta-data/instance-id', { timeoutMs: 2000 })
    .catch(() => undefined);
  return r?.status === 200 && r.body === port.instanceId;
}

/** The kolla recipe's healthcheck (etc/kolla/), run inside the container. */
function healthInside(): ReturnType<typeof podman> {
  return podman(['exec', NAME, 'ovnmeta', 'health', '--config-file', '/etc/neutron/neutron.conf']);
}

async function logsOf(name: string): Promise<string> {
  const r = await podman(['logs', name]);
  return `${r.stdout}\n${r.stderr}`;
}

/** Waits until the VM is served; on timeout the error carries the container's last log lines. */
async function waitServed(what: string): Promise<void> {
  try {
    await chassis.waitFor(served, 40_000, what);
  } catch (err) {
    const tail = (await logsOf(NAME)).split('\n').slice(-30).join('\n');
    throw new Error(`${(err as Error).message}\ncontainer ${NAME} log:\n${tail}`);
  }
}

beforeAll(async () => {
  const t0 = Date.now();
  const build = await execa('bash', [join(ROOT, 'scripts/image.sh')], {
    env: { OVNMETA_IMAGE_NO_BUILD: '1' },
    reject: false,
    timeout: 900_000,
  });
  if (build.exitCode !== 0) throw new Error(`scripts/image.sh failed:\n${build.stderr}\n${build.stdout}`);
  console.log(`image: ${build.stdout.split('\n').at(-2) ?? ''} (${Date.now() - t0} ms)`);
  chassis = await startChassis();
  nova = await startFakeNova({ secret: SECRET });
  adminPort = await freePort();
  ini = join(chassis.dir, 'container.ini');
  await mkdir(join(chassis.dir, 'state'), { recursive: true }); // state_path, as the image's /var/lib/neutron
  const text = agentIni(chassis, { novaPort: nova.port }).replace(
    /^metrics_bind =$/m,
    `metrics_bind = 127.0.0.1:${adminPort}`,
  );
  await writeFile(ini, text, { mode: 0o600 });
  // kolla's layout: neutron.conf holds it all here, the agent's ini only a comment.
  await mkdir(join(chassis.dir, 'kolla'));
  await writeFile(join(chassis.dir, 'kolla', 'neutron.conf'), text, { mode: 0o600 });
  await writeFile(join(chassis.dir, 'kolla', 'neutron_ovn_metadata_agent.ini'), '# see neutron.conf\n');
  await writeFile(join(chassis.dir, 'kolla', 'config.json'), JSON.stringify(KOLLA_CONFIG));
}, 900_000);

afterAll(async () => {
  for (const name of containers) await podman(['rm', '-f', '-t', '0', name]);
  await nova?.close();
  if (net) {
    await run('ip', ['link', 'del', `tap${net.id.slice(0, 10)}0`]).catch(() => {});
    await run('ip', ['netns', 'del', `ovnmeta-${net.id}`]).catch(() => {});
  }
  await chassis?.stop();
});

describe('the container image, run as kolla-ansible and EDPM run it', () => {
  let inode: number;

  test('serves a VM; the namespace it made is a namespace on the host; health answers 0 inside', async () => {
    net = await createNetwork(chassis, { cidrs: ['10.83.0.0/24'] });
    port = await createVmPort(net);
    vm = await startVm(chassis, port);
    containers.add(NAME);
    const started = await podman(runArgs(NAME, ':shared', { detach: true, kolla: true }));
    expect(started.exitCode, started.stderr).toBe(0);

    await waitServed('the VM served by the containerized agent');

    // Made inside the container, usable from the host: a real namespace
    // (nsfs), with the inside veth in it.
    const ns = `ovnmeta-${net.id}`;
    inode = (await stat(`/run/netns/${ns}`)).ino;
    const links = JSON.parse(await run('ip', ['-n', ns, '-j', 'link', 'show'])) as { ifname: string }[];
    expect(links.map((l) => l.ifname)).toContain(`tap${net.id.slice(0, 10)}1`);

    // The healthcheck of the kolla recipe (etc/kolla/), on the file kolla_start copied.
    const health = await healthInside();
    expect({ exit: health.exitCode, out: health.stdout + health.stderr }).toMatchObject({ exit: 0 });
    expect(await logsOf(NAME)).toContain('/run/netns is a shared mount');
  });

  test('a restarted container adopts the namespace (same inode) and serves again', async () => {
    const restarted = await podman(['restart', '-t', '10', NAME]);
    expect(restarted.exitCode, restarted.stderr).toBe(0);
    await waitServed('the VM served after the container restart');
    expect((await stat(`/run/netns/ovnmeta-${net.id}`)).ino).toBe(inode);
    // The new agent adopted the plumbing rather than making it again.
    const logs = await logsOf(NAME);
    const starts = logs.split('ovnmeta agent starting').length - 1;
    expect(starts).toBe(2);
    const health = await healthInside();
    expect(health.exitCode, health.stdout + health.stderr).toBe(0);
  });

  test('without :shared on /run/netns the agent refuses to start, naming the mount and the fix', async () => {
    const name = `${NAME}-private`;
    containers.add(name);
    const r = await podman(runArgs(name, '', { detach: false, kolla: false }), 60_000);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('/run/netns is a private mount');
    expect(r.stderr).toContain('-v /run/netns:/run/netns:shared');
    expect(r.stderr).toContain('mountPropagation: Bidirectional');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    // It made nothing: the served namespace is still the first one.
    expect((await stat(`/run/netns/ovnmeta-${net.id}`)).ino).toBe(inode);
  });
});
