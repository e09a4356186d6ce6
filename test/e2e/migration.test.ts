// Migrating a chassis from neutron's OVN metadata agent to ovnmeta (docs/
// deploy.md "Migrating a chassis from neutron's agent"), end to end with
// neutron's agent itself (Debian's neutron-ovn-metadata-agent, neutron 21.0):
// neutron's agent provisions a network and serves its VM through haproxy;
// we stop the agent and its haproxies as the doc says, start `ovnmeta agent`
// with neutron's own two files (plus one [ovnmeta] file), and the VM is
// served again from the very same namespace, veth pair and OVS port, under
// the same agent id in Chassis_Private, with neutron's leftovers (iptables
// CHECKSUM rule, haproxy configs) in place. Then back: ovnmeta stopped and
// its listener holder released (`ovnmeta release`), neutron's agent takes
// the namespace over from ovnmeta just as well. Last, the mistake of leaving
// an haproxy running: it keeps serving, through ovnmeta's
// metadata_proxy_socket, until it is stopped and ovnmeta takes the port.
//
// One netdev chassis (the machine-wide lock): both agents remove ovnmeta-*
// namespaces they do not need, so no other agent may run meanwhile.
//
// Requests are told apart at the fake nova: neutron's agent relays with
// python-requests (User-Agent: python-requests/…), ovnmeta sends exactly
// its four headers.
import { execa, type ResultPromise } from 'execa';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import {
  run,
  runRaw,
  SandboxCurlError,
  sleep,
  type Chassis,
  type SandboxError,
  type Network,
  type Vm,
  type VmPort,
} from '../../src/sandbox/index.js';
import {
  inspectPlumbing,
  namespaceName,
  planPlumbing,
  vethNames,
  type DesiredPlumbing,
} from '../../src/namespace/index.js';
import { ListenerHolder } from '../../src/proxy/index.js';
import { startChassis } from '../support/chassis.js';
import { startFakeNova, type FakeNova, type RecordedRequest } from '../support/fake-nova.js';
import { createNetwork, createVmPort } from '../support/neutron.js';
import {
  listHaproxies,
  neutronMissing,
  startNeutronAgent,
  stopHaproxies,
  writeNeutronConfig,
  type NeutronAgent,
  type NeutronFiles,
} from '../support/neutron-agent.js';
import { startVm } from '../support/vm.js';

const SECRET = 'migration-secret';
const INSTANCE_ID = 'http://169.254.169.254/latest/meta-data/instance-id';
const CHECKSUM_RULE = '-A POSTROUTING -p tcp -m tcp -j CHECKSUM --checksum-fill';
const MAIN = resolve(import.meta.dirname, '../../dist/cli/main.js');

let chassis: Chassis;
let nova: FakeNova;
let files: NeutronFiles;
let neutron: NeutronAgent | undefined;
let ovnmeta: { process: ResultPromise; logFile: string; adminPort: number } | undefined;
let ovnmetaRuns = 0;
let net: Network | undefined;
let port: VmPort;
let vm: Vm;

beforeAll(async () => {
  const missing = neutronMissing() ?? (existsSync(MAIN) ? undefined : `${MAIN} is missing: npm run build`);
  if (missing) throw new Error(missing);
  chassis = await startNetdevChassis();
  nova = await startFakeNova({ secret: SECRET });
  files = await writeNeutronConfig(chassis, { novaPort: nova.port, secret: SECRET });
}, 600_000);

afterAll(async () => {
  // Every step runs even when one fails; the first failure is reported.
  const failures: unknown[] = [];
  const attempt = async (step: () => Promise<unknown>): Promise<void> => {
    await step().catch((err: unknown) => failures.push(err));
  };
  await attempt(async () => {
    ovnmeta?.process.kill('SIGKILL');
    await ovnmeta?.process;
  });
  await attempt(async () => files && ListenerHolder.end(holderSocket()));
  await attempt(async () => neutron?.stop());
  await attempt(async () => files && stopHaproxies(files.statePath));
  await attempt(async () => nova?.close());
  if (net) {
    await run('ip', ['link', 'del', `tap${net.id.slice(0, 10)}0`]).catch(() => {});
    await run('ip', ['netns', 'del', `ovnmeta-${net.id}`]).catch(() => {});
  }
  await attempt(async () => chassis?.stop());
  if (failures.length > 0) throw failures[0];
});

/**
 * A netdev chassis. Another one (a test file, a bench) may hold the machine's
 * lock for minutes. Once more on SANDBOX_TIMEOUT: under load the lock was seen
 * handed over while the previous vswitchd, a zombie, still had a thread in D
 * state holding the datapath's tap, so br-int could not be made in time.
 */
async function startNetdevChassis(): Promise<Chassis> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startChassis({ lockTimeoutMs: 240_000 });
    } catch (err) {
      if (attempt === 2 || (err as SandboxError).code !== 'SANDBOX_TIMEOUT') throw err;
      await sleep(5_000);
    }
  }
}

/** What must not change across the migration: the plumbing VMs use. */
interface Fingerprint {
  netnsInode: number;
  rootIfindex: number;
  insideIfindex: number;
  insideMac: string;
  mtu: number;
  addresses: string;
  ovsPort: string;
  ovsInterface: string;
  ifaceId: string;
}

async function fingerprint(n: Network): Promise<Fingerprint> {
  const tap = `tap${n.id.slice(0, 10)}`;
  const [inside] = JSON.parse(
    await run('ip', ['-n', `ovnmeta-${n.id}`, '-j', 'addr', 'show', 'dev', `${tap}1`]),
  ) as { ifindex: number; address: string; mtu: number; addr_info: { local: string; prefixlen: number }[] }[];
  const ovsInterface = await chassis.vsctl('--bare', '--columns=_uuid', 'find', 'Interface', `name=${tap}0`);
  return {
    netnsInode: (await stat(`/run/netns/ovnmeta-${n.id}`)).ino,
    rootIfindex: Number((await readFile(`/sys/class/net/${tap}0/ifindex`, 'utf8')).trim()),
    insideIfindex: inside!.ifindex,
    insideMac: inside!.address,
    mtu: inside!.mtu,
    addresses: inside!.addr_info
      .map((a) => `${a.local}/${a.prefixlen}`)
      .sort()
      .join(' '),
    ovsPort: await chassis.vsctl('--bare', '--columns=_uuid', 'find', 'Port', `name=${tap}0`),
    ovsInterface,
    ifaceId: (await chassis.vsctl('get', 'Interface', `${tap}0`, 'external_ids:iface-id')).replace(/"/g, ''),
  };
}

/** The VM's request, and what nova saw of it; undefined when nothing answered 200. */
async function fetchInstanceId(): Promise<RecordedRequest | undefined> {
  const before = nova.requests.length;
  const r = await vm.curl(INSTANCE_ID, { timeoutMs: 2000 }).catch(() => undefined);
  if (r?.status !== 200 || r.body !== port.instanceId) return undefined;
  return nova.requests.slice(before).at(-1);
}

/** Polls `request` until neutron's agent answers (a Python start: seconds); says why not. */
async function servedByNeutron(
  request: () => Promise<RecordedRequest | undefined>,
  what: string,
): Promise<RecordedRequest> {
  return chassis.waitFor(request, 60_000, what).catch(async (err: Error) => {
    throw new Error(`${err.message}\n${await neutron!.diagnose()}`, { cause: err });
  });
}

const viaNeutron = (seen: RecordedRequest): boolean =>
  /^python-requests\//.test(String(seen.headers['user-agent']));

async function chassisPrivate(key: string): Promise<string> {
  const value = await chassis
    .sbctl('get', 'Chassis_Private', chassis.systemId, `external_ids:"${key}"`)
    .catch(() => '');
  return value.replace(/"/g, '');
}

/** Bumps NB_Global.nb_cfg (as neutron-server does) and returns SB_Global.nb_cfg. */
async function bumpNbCfg(): Promise<string> {
  await chassis.nbctl('--wait=sb', 'sync');
  return chassis.sbctl('get', 'SB_Global', '.', 'nb_cfg');
}

async function checksumRules(): Promise<string[]> {
  const save = await run('ip', ['netns', 'exec', `ovnmeta-${net!.id}`, 'iptables-save', '-t', 'mangle']);
  return save.split('\n').filter((l) => l === CHECKSUM_RULE);
}

/** Pids of the processes listening on TCP port 80 in the metadata namespace. */
async function port80Owners(): Promise<number[]> {
  const ss = await run('ip', ['netns', 'exec', `ovnmeta-${net!.id}`, 'ss', '-Hltnp', 'sport = :80']);
  return [...new Set([...ss.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))].sort((x, y) => x - y);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port: free } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return free;
}

/** [ovnmeta] listener_holder_socket's default under neutron's state_path. */
const holderSocket = (): string => join(files.statePath, 'ovnmeta-listeners.sock');

/** ovnmeta's processes on port 80: the agent and its listener holder. */
function ovnmetaPids(): number[] {
  const holder = ListenerHolder.status(holderSocket());
  return [ovnmeta!.process.pid!, ...(holder ? [holder.pid] : [])].sort((x, y) => x - y);
}

/** `ovnmeta agent` with neutron's own files, then ours with only [ovnmeta] options. */
async function startOvnmeta(): Promise<NonNullable<typeof ovnmeta>> {
  const adminPort = await freePort();
  const ours = join(chassis.dir, 'ovnmeta.ini');
  const logFile = join(chassis.dir, `ovnmeta-agent-${++ovnmetaRuns}.log`);
  // neutron.conf's log_file is neutron's agent's log: ours, read last, sends
  // ovnmeta's lines to a file of this run (oslo.log placement, as neutron).
  // metrics_bind's default 127.0.0.1:9105 may be taken on a shared machine.
  await writeFile(
    ours,
    `[DEFAULT]\nlog_file = ${logFile}\n\n[ovnmeta]\nmetrics_bind = 127.0.0.1:${adminPort}\n`,
  );
  const child = execa(
    'node',
    [
      MAIN,
      'agent',
      '--config-file',
      files.neutronConf,
      '--config-file',
      files.agentIni,
      '--config-file',
      ours,
    ],
    { stdout: { file: `${logFile}.out` }, stderr: { file: `${logFile}.err` }, reject: false },
  );
  return { process: child, logFile, adminPort };
}

async function ovnmetaLog(msg: string): Promise<Record<string, unknown>[]> {
  return (await readFile(ovnmeta!.logFile, 'utf8'))
    .split('\n')
    .filter((l) => l.includes(`"msg":"${msg}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('migrating a chassis from neutron-ovn-metadata-agent to ovnmeta', () => {
  let before: Fingerprint;
  let agentId: string;
  /** performance.now() when neutron's agent was told to stop. */
  let stoppedAt: number;
  // Each step builds on the one before: after a failure the rest would only
  // report its consequences, so they are skipped (the file fails anyway).
  let failed = false;
  beforeEach(({ skip, onTestFailed }) => {
    if (failed) skip();
    onTestFailed(() => {
      failed = true;
    });
  });

  test("neutron's agent provisions the network and serves the VM through haproxy", async () => {
    net = await createNetwork(chassis, { cidrs: ['10.93.0.0/24'] });
    port = await createVmPort(net);
    vm = await startVm(chassis, port);
    neutron = await startNeutronAgent(files);
    const seen = await servedByNeutron(fetchInstanceId, "metadata from neutron's agent");
    expect(seen.signatureValid).toBe(true);
    expect(viaNeutron(seen)).toBe(true);
    expect(seen.headers['x-forwarded-for']).toBe(port.ips[0]);

    // neutron's layout: one haproxy for the network, the CHECKSUM rule (netdev).
    const proxies = await listHaproxies(files.statePath);
    expect(proxies.map((h) => h.network)).toEqual([net.id]);
    expect(await port80Owners()).toEqual(proxies.map((h) => h.pid));
    expect(await checksumRules()).toHaveLength(1);

    agentId = await chassisPrivate('neutron:ovn-metadata-id');
    expect(agentId).toMatch(/^[0-9a-f-]{36}$/);
    const nbCfg = await bumpNbCfg();
    await chassis.waitFor(
      async () => (await chassisPrivate('neutron:ovn-metadata-sb-cfg')) === nbCfg,
      15_000,
      "neutron's heartbeat",
    );
    before = await fingerprint(net);
    expect(before.addresses).toBe('10.93.0.2/24 169.254.169.254/32');
    expect(before.insideMac).toBe(net.metadataPort.mac);
    expect(before.ifaceId).toBe(net.metadataPort.name);
  });

  test("stopping neutron's agent leaves haproxy; stopping haproxy by its pid file leaves the namespace", async () => {
    const proxies = await listHaproxies(files.statePath);
    stoppedAt = performance.now();
    // oslo.service: SIGTERM stops the metadata workers, then the agent exits;
    // its privsep daemons end with it (the group is empty once stop resolves).
    expect(await neutron!.stop()).toMatchObject({ killed: false });
    neutron = undefined;
    // haproxy daemonized into its own session: it outlives the agent (as under
    // a unit with KillMode=process) and answers 503, its backend socket dead.
    expect(await listHaproxies(files.statePath)).toEqual(proxies);
    expect((await vm.curl(INSTANCE_ID, { timeoutMs: 5000 })).status).toBe(503);

    expect(await stopHaproxies(files.statePath)).toEqual(proxies.map((p) => p.pid));
    expect(await listHaproxies(files.statePath)).toEqual([]);
    await expect(vm.curl(INSTANCE_ID, { timeoutMs: 2000 })).rejects.toBeInstanceOf(SandboxCurlError);
    expect(await fingerprint(net!)).toEqual(before);
  });

  test("ovnmeta, started with neutron's files, adopts the namespace as it is and serves", async () => {
    // What ovnmeta's planner wants changed in neutron's plumbing: only tx
    // checksum offload off on the inside veth (ovnmeta's way of filling
    // checksums on netdev, where neutron used iptables). Nothing re-made.
    const { root, inside } = vethNames(net!.id);
    const desired: DesiredPlumbing = {
      namespace: namespaceName(net!.id),
      vethRoot: root,
      vethInside: inside,
      mac: net!.metadataPort.mac,
      addresses: ['169.254.169.254/32', ...net!.metadataPort.cidrs],
      checksumFill: true,
    };
    expect(planPlumbing(desired, await inspectPlumbing(desired))).toEqual([
      { op: 'tx-checksum-off', namespace: desired.namespace, link: inside },
    ]);

    const t0 = performance.now();
    ovnmeta = await startOvnmeta();
    const seen = await chassis.waitFor(fetchInstanceId, 20_000, 'metadata from ovnmeta');
    const now = performance.now();
    expect(seen.signatureValid).toBe(true);
    expect(viaNeutron(seen)).toBe(false);
    expect(seen.headers['x-forwarded-for']).toBe(port.ips[0]);
    expect(ovnmetaPids()).toHaveLength(2);
    expect(await port80Owners()).toEqual(ovnmetaPids());
    expect(await fingerprint(net!)).toEqual(before);

    const provisioned = await ovnmetaLog('network provisioned');
    expect(provisioned).toHaveLength(1);
    // Only the listener is new; `host` is the tx checksum offload planned above.
    expect(provisioned[0]!.steps).toEqual({ host: 'updated', ovsPort: 'unchanged', listener: 'created' });
    expect(await ovnmetaLog('network torn down')).toEqual([]);
    // neutron's dead metadata_proxy socket is replaced, not an error.
    expect(await ovnmetaLog('metadata proxy listening on the unix socket')).toHaveLength(1);
    const ready = await fetch(`http://127.0.0.1:${ovnmeta.adminPort}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([200, 'ready\n']);
    console.info(
      `migration: ovnmeta served ${Math.round(now - t0)} ms after its start, ` +
        `${Math.round(now - stoppedAt)} ms after neutron's agent was told to stop`,
    );
  });

  test('Chassis_Private: the same agent id, the heartbeat goes on', async () => {
    expect(await chassisPrivate('neutron:ovn-metadata-id')).toBe(agentId);
    await chassis.waitFor(
      async () => (await chassisPrivate('neutron:ovn-bridge')) === chassis.bridge,
      10_000,
      'neutron:ovn-bridge',
    );
    const nbCfg = await bumpNbCfg();
    // Later writes wait a random 0..10 s (neutron-compat.md, heartbeat).
    await chassis.waitFor(
      async () => (await chassisPrivate('neutron:ovn-metadata-sb-cfg')) === nbCfg,
      15_000,
      "ovnmeta's heartbeat",
    );
    expect(await chassisPrivate('neutron:ovn-metadata-id')).toBe(agentId);
  });

  test("neutron's leftovers are harmless and left alone", async () => {
    // The iptables CHECKSUM rule stays in the namespace: it fills the same
    // checksums ethtool's tx off now makes the kernel fill; nothing doubles.
    expect(await checksumRules()).toHaveLength(1);
    const ethtool = await runRaw('ip', [
      'netns',
      'exec',
      `ovnmeta-${net!.id}`,
      'ethtool',
      '-k',
      `tap${net!.id.slice(0, 10)}1`,
    ]);
    expect(ethtool.stdout).toMatch(/^tx-checksumming: off$/m);
    // haproxy's config file stays; only neutron's agent reads it (and rewrites it).
    const haproxyConf = join(files.statePath, 'ovn-metadata-proxy', `${net!.id}.conf`);
    expect(await readFile(haproxyConf, 'utf8')).toContain(`X-OVN-Network-ID ${net!.id}`);
    // Served, repeatedly, with all of it in place.
    for (let i = 0; i < 5; i++) expect((await fetchInstanceId())?.signatureValid).toBe(true);
  });

  test("going back: neutron's agent takes the namespace over from ovnmeta", async () => {
    ovnmeta!.process.kill('SIGTERM');
    expect((await ovnmeta!.process).exitCode).toBe(0);
    // Stopped for good: the listener holder still has port 80 (a restart
    // would need it) until released.
    expect((await port80Owners()).length).toBe(1);
    const release = await execa(
      'node',
      [MAIN, 'release', '--config-file', files.neutronConf, '--config-file', files.agentIni],
      { reject: false },
    );
    expect([release.exitCode, release.stdout]).toEqual([
      0,
      'listener holder ended: 1 listening sockets closed',
    ]);
    expect(await port80Owners()).toEqual([]);
    neutron = await startNeutronAgent(files);
    const seen = await servedByNeutron(async () => {
      const s = await fetchInstanceId();
      return s && viaNeutron(s) ? s : undefined;
    }, "metadata from neutron's agent again");
    expect(seen.signatureValid).toBe(true);
    expect(await fingerprint(net!)).toEqual(before);
    expect(await listHaproxies(files.statePath)).toHaveLength(1);
    expect(await checksumRules()).toHaveLength(1);
  });

  test('a haproxy left running serves through ovnmeta until stopped, then ovnmeta takes the port', async () => {
    // Step 3 skipped: neutron's agent stopped, its haproxy not.
    const [haproxy] = await listHaproxies(files.statePath);
    expect(await neutron!.stop()).toMatchObject({ killed: false });
    neutron = undefined;
    ovnmeta = await startOvnmeta();
    const failure = await chassis.waitFor(
      async () =>
        (await ovnmetaLog('reconcile failed').catch(() => [])).find(
          (l) => (l.err as { code?: string } | undefined)?.code === 'PROXY_LISTEN_FAILED',
        ),
      20_000,
      'PROXY_LISTEN_FAILED while haproxy holds port 80',
    );
    expect(failure.network).toBe(net!.id);
    // haproxy, still the only listener on port 80, forwards to
    // metadata_proxy_socket: ovnmeta listens there now (same option, same
    // path as neutron's), so the VM is served meanwhile, relayed by ovnmeta.
    const meanwhile = await chassis.waitFor(fetchInstanceId, 10_000, 'metadata via haproxy and ovnmeta');
    expect(meanwhile.signatureValid).toBe(true);
    expect(viaNeutron(meanwhile)).toBe(false);
    expect(await port80Owners()).toEqual([haproxy!.pid]);

    // Stopped late, by its pid file: ovnmeta's next retry gets the port.
    expect(await stopHaproxies(files.statePath)).toEqual([haproxy!.pid]);
    await chassis.waitFor(
      async () => (await port80Owners()).join() === ovnmetaPids().join() && fetchInstanceId(),
      20_000,
      "metadata from ovnmeta's own listener after its retry",
    );
    expect(await fingerprint(net!)).toEqual(before);
  });
});
