// Provisioning bench on a real userspace OVN chassis (root; takes the
// sandbox's machine-wide netdev lock, waiting for it if needed):
//
// 1. Cold start: N neutron-shaped networks, each with its metadata port and
//    one VM bound to this chassis by ovn-controller (a real VM namespace
//    plugged into br-int); no ovnmeta-* namespace of them exists. Spawn
//    `ovnmeta agent` and measure until every network is fully plumbed:
//    namespace + addresses + OVS port with iface-id, seen from outside the
//    agent (bench/lib/observer.ts: OVS db monitor, then an `ip` check of the
//    namespace).
// 2. Bind to served, with the agent running: a new network and VM port, the
//    VM plugged; from Port_Binding.chassis written by ovn-controller (seen on
//    our SB monitor) to the network plumbed, to ovn-controller's
//    ovn-installed on the VM's interface (its flows are in vswitchd: the port
//    goes up, nova starts the guest), and to the VM's first 200 from
//    http://169.254.169.254/latest/meta-data/instance-id. The VM asks with
//    a probe of its own running in its namespace from before the plug
//    (bench/lib/vm-loop.ts, open loop): a new connection every 10 ms, the
//    answer's time taken in the VM. Also from the plug (ovs-vsctl add-port
//    issued), which adds ovn-controller's binding time.
//    --neutron-binds N first measures N binds the same way with neutron's
//    agent (neutron-ovn-metadata-agent), on the chassis before its 100
//    networks exist, then removes it and them.
// 3. Correctness: every VM of step 1 fetches its instance id (its own).
//
// Progress goes to stderr; the last stdout line is one JSON object:
//   {"networks":100,"coldStart100Seconds":…,"bindToPlumbedMs":{"median":…,"p90":…},…}
// neutron-ovn-metadata-agent on this machine, same topology: 111 s for the
// 100-network cold start.
//
//   npm run bench -- provision [--networks 100] [--binds 10] [--workers N] [--resync S]
//     [--profile-agent DIR] [--keep-agent-log FILE] [--no-requested-chassis]
//     [--ovn-monitor-all] [--neutron-binds N]
//
// The VM ports carry options:requested-chassis (this chassis), as neutron
// writes them once nova has bound a port and before the VIF is plugged: the
// agent prepares a network from then on, so at *bound* its metadata path is
// usually ready. --no-requested-chassis leaves it out (an older neutron, or
// a port bound without a host): the agent starts at *bound*.
// --ovn-monitor-all sets ovn-controller's external_ids:ovn-monitor-all.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { ListenerHolder } from '../src/proxy/index.js';
import { startChassis, waitFor, type Chassis } from '../src/sandbox/index.js';
import { startFakeNova, type FakeNova } from '../test/support/fake-nova.js';
import {
  neutronMissing,
  startNeutronAgent,
  stopHaproxies,
  writeNeutronConfig,
  type NeutronAgent,
  type NeutronFiles,
} from '../test/support/neutron-agent.js';
import { AgentProcess, cpuSeconds, holderSocketOf, sample } from './lib/agent-process.js';
import { profilerPreload } from './lib/agent-probe.js';
import { checkServed, METADATA_PATH, whyNotServed } from './lib/metadata-check.js';
import { VmLoop } from './lib/vm-loop.js';
import { numberArg, stringArg } from './lib/args.js';
import { cleanupOnSignals } from './lib/interrupt.js';
import { withTimeout } from './lib/host-probe.js';
import { Observer } from './lib/observer.js';
import {
  hostCleanupScript,
  planNetwork,
  plugVms,
  prepareVms,
  removeFromHost,
  writeNorthbound,
  type BenchNetwork,
} from './lib/topology.js';

const arg = numberArg;
const NETWORKS = arg('networks', 100);
const BINDS = arg('binds', 10);
const WORKERS = process.argv.includes('--workers') ? arg('workers', 8) : undefined;
/** The agent's resync_interval; a short one shows what a full pass does to a new binding. */
const RESYNC = process.argv.includes('--resync') ? arg('resync', 300) : undefined;
/** Profiling aid, as in the throughput bench: DIR/agent-<pid>.cpuprofile when the agent exits. */
const PROFILE_DIR = stringArg('profile-agent');
/** The agent's JSON log is copied here before the chassis (and its directory) goes. */
const KEEP_LOG = stringArg('keep-agent-log');
const REQUESTED_CHASSIS = !process.argv.includes('--no-requested-chassis');
/** ovn-controller's ovn-monitor-all: it then has every datapath's rows before a port is claimed. */
const OVN_MONITOR_ALL = process.argv.includes('--ovn-monitor-all');
/** Binds measured with neutron's agent first (0: none). */
const NEUTRON_BINDS = process.argv.includes('--neutron-binds') ? arg('neutron-binds', 10) : 0;
const SECRET = `bench-${process.pid}`;
/** neutron-ovn-metadata-agent's 100-network cold start on this machine, same topology (2026-11-21). */
const NEUTRON = { coldStart100Seconds: 111 };

const log = (msg: string): void => void process.stderr.write(`[provision] ${msg}\n`);
const round = (x: number, d = 0): number => Math.round(x * 10 ** d) / 10 ** d;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

/** NaN marks a sample that never completed: counted as `missing`, left out of the figures. */
function summary(samples: readonly number[]) {
  const values = samples.filter((v) => !Number.isNaN(v));
  if (values.length === 0) return { missing: samples.length };
  return {
    median: round(quantile(values, 0.5)),
    p90: round(quantile(values, 0.9)),
    min: round(Math.min(...values)),
    max: round(Math.max(...values)),
    ...(values.length < samples.length ? { missing: samples.length - values.length } : {}),
  };
}

/** Everything the run made, for the cleanup (normal end, failure, Ctrl-C). */
const made: {
  chassis?: Chassis;
  nova?: FakeNova;
  observer?: Observer;
  agent?: AgentProcess;
  /** The VM probe of the bind in progress. */
  probe?: VmLoop;
  neutron?: NeutronAgent;
  neutronFiles?: NeutronFiles;
  networks: BenchNetwork[];
} = { networks: [] };

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    made.probe?.kill();
    await made.agent?.stop().catch(() => undefined);
    await made.neutron?.stop().catch(() => undefined);
    if (made.neutronFiles) await stopHaproxies(made.neutronFiles.statePath).catch(() => undefined);
    if (KEEP_LOG !== undefined && made.agent !== undefined) await copyFile(made.agent.logFile, KEEP_LOG);
    await made.observer?.close();
    await made.nova?.close().catch(() => undefined);
    await removeFromHost(made.networks).catch((err) => log(`host cleanup: ${String(err)}`));
    await made.chassis?.stop().catch((err) => log(`chassis stop: ${String(err)}`));
  })();
  return cleaning;
}

cleanupOnSignals(cleanup, log);
// Last resort if the process dies some other way: no agent, no namespaces left.
process.once('exit', () => {
  if (made.agent?.running) process.kill(made.agent.pid, 'SIGKILL');
  made.probe?.kill();
  if (cleaning === undefined && made.networks.length > 0) {
    spawnSync('ip', ['-force', '-batch', '-'], {
      input: hostCleanupScript(made.networks),
      stdio: ['pipe', 'ignore', 'ignore'],
    });
  }
});

/** The agent removes every ovnmeta-* namespace it does not need: refuse to run next to someone else's. */
function foreignAgentNamespaces(): string[] {
  const ours = new Set(made.networks.map((n) => n.namespace));
  let names: string[] = [];
  try {
    names = readdirSync('/run/netns');
  } catch {
    // no namespace at all
  }
  return names.filter((n) => n.startsWith('ovnmeta-') && !ours.has(n));
}

/** Makes networks, VMs and bindings; resolves when every VM port is bound here. */
async function buildTopology(chassis: Chassis, observer: Observer, networks: BenchNetwork[]): Promise<void> {
  made.networks.push(...networks);
  const t = performance.now();
  await writeNorthbound(chassis, networks, { requestedChassis: REQUESTED_CHASSIS });
  await prepareVms(networks);
  observer.watch(networks);
  await plugVms(chassis, networks);
  await withTimeout(
    Promise.all(networks.map((n) => observer.bound(n))),
    60_000 + networks.length * 100,
    `${networks.length} VM ports bound by ovn-controller`,
  );
  log(`${networks.length} networks with a bound VM in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

async function coldStart(chassis: Chassis, observer: Observer, nova: FakeNova, networks: BenchNetwork[]) {
  const foreign = foreignAgentNamespaces();
  if (foreign.length > 0) {
    throw new Error(
      `ovnmeta-* namespaces not made by this run exist (${foreign.slice(0, 3).join(', ')}…); ` +
        'the agent would remove them: run the bench when no other agent test runs',
    );
  }
  // Other work on the machine slows every spawn: say how busy it was.
  const load = loadavg()[0]!;
  log(`cold start: spawning the agent for ${networks.length} networks (load average ${load.toFixed(1)})`);
  // What the chassis daemons spend meanwhile, to set the agent's CPU against.
  const daemonCpu = (): Record<string, number> =>
    Object.fromEntries(
      (['vswitchd', 'controller', 'ovsdb', 'sb'] as const).map((d) => [
        d,
        cpuSeconds(chassis.daemon(d).pid).selfSeconds,
      ]),
    );
  // Their idle rate first (the netdev datapath polls every port): 2 s without the agent.
  const idleFrom = daemonCpu();
  await sleep(2000);
  const daemonsBefore = daemonCpu();
  const idlePerSecond = Object.fromEntries(
    Object.entries(daemonsBefore).map(([d, v]) => [d, round((v - idleFrom[d]!) / 2, 2)]),
  );
  // Nothing else is spawned meanwhile: only the agent (and its holder) get the profiler.
  const ownNodeOptions = process.env.NODE_OPTIONS;
  if (PROFILE_DIR !== undefined) process.env.NODE_OPTIONS = `--import=${await profilerPreload(PROFILE_DIR)}`;
  let agent: AgentProcess;
  try {
    agent = made.agent = await AgentProcess.spawn(chassis, {
      novaPort: nova.port,
      secret: SECRET,
      workers: WORKERS,
      resyncSeconds: RESYNC,
    });
  } finally {
    if (ownNodeOptions === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = ownNodeOptions;
  }
  let plumbedCount = 0;
  const progress = setInterval(() => log(`  ${plumbedCount}/${networks.length} plumbed`), 2000);
  let times: number[];
  try {
    times = await withTimeout(
      Promise.race([
        Promise.all(networks.map((n) => observer.plumbed(n).then((t) => (plumbedCount++, t)))),
        agent.exited().then((code) => {
          throw new Error(`the agent exited (${code}) during the cold start:\n${agent.tail()}`);
        }),
      ]),
      60_000 + networks.length * 500,
      `${networks.length} networks plumbed`,
    );
  } finally {
    clearInterval(progress);
  }
  const seconds = (Math.max(...times) - agent.spawnedAt) / 1000;
  log(`cold start: ${networks.length} networks plumbed ${seconds.toFixed(2)} s after the spawn`);
  // Plumbed comes before the listener (reconciler order); the agent's CPU
  // figure counts a helper once it has exited: wait for every listener.
  const lastListenerMs = await withTimeout(
    (async () => {
      for (;;) {
        const ms = agent.lastListenerReadyMs(networks.map((n) => n.id));
        if (ms !== undefined) return ms;
        await sleep(250);
      }
    })(),
    120_000,
    `the agent's listeners of ${networks.length} networks`,
  );
  await sleep(500); // a helper exits (and is reaped) just after its listener is handed over
  const memory = agent.memory();
  const cpu = agent.cpu();
  const daemons = Object.fromEntries(
    Object.entries(daemonCpu()).map(([d, after]) => [d, round(after - daemonsBefore[d]!, 2)]),
  );
  log(
    `cold start: last listener ready ${(lastListenerMs / 1000).toFixed(2)} s after the spawn; agent RSS ${memory.rssMb.toFixed(0)} MB`,
  );
  const sinceSpawn = (t: number) => round(t - agent.spawnedAt);
  return {
    seconds: round(seconds, 2),
    firstPlumbedMs: sinceSpawn(Math.min(...times)),
    medianPlumbedMs: sinceSpawn(quantile(times, 0.5)),
    sbSyncedMs: agent.log().find((l) => l.msg === 'OVSDB replica synced' && l.db === 'OVN_Southbound')?.time,
    firstPassLogMs: agent.msToLog('first reconcile pass done'),
    // The agent's own clock: when its last listener of these networks was ready.
    lastListenerLogMs: lastListenerMs,
    agentRssMb: round(memory.rssMb, 1),
    cpuSeconds: {
      agent: cpu.selfSeconds,
      children: cpu.childrenSeconds,
      holder: holderCpu(chassis),
      ...daemons,
    },
    daemonsIdleCpuPerSecond: idlePerSecond,
    loadAverage: round(load, 1),
  };
}

/**
 * CPU seconds of the listener holder the agent started (it outlives the agent
 * and is not a waited-for child, so the agent's figure does not include it).
 */
function holderCpu(chassis: Chassis): number {
  const status = ListenerHolder.status(holderSocketOf(chassis));
  return status === undefined ? 0 : cpuSeconds(status.pid).selfSeconds;
}

interface BindRow {
  bindToPlumbedMs: number;
  bindToListenerMs: number;
  plugToPlumbedMs: number;
  plugToBoundMs: number;
  bindToServedMs: number;
  bindToInstalledMs: number;
}

/**
 * One new network and VM port, the VM plugged, measured from
 * Port_Binding.chassis written by ovn-controller (seen on our SB monitor).
 * `listenerAt`: when the agent logged the network's listener ready.
 */
async function bindOnce(
  chassis: Chassis,
  observer: Observer,
  index: number,
  listenerAt: ((network: string) => number | undefined) | undefined,
): Promise<BindRow> {
  const net = planNetwork(index);
  made.networks.push(net);
  await writeNorthbound(chassis, [net], { requestedChassis: REQUESTED_CHASSIS });
  await prepareVms([net]);
  observer.watch([net]);
  // The guest asks from before its plug on: a new connection every 10 ms.
  const probe = (made.probe = new VmLoop(net.vm.namespace, {
    host: '169.254.169.254',
    path: METADATA_PATH,
    expectBody: net.vm.instanceId,
    gapMs: 10,
    timeoutMs: 1_000,
    open: true,
  }));
  await withTimeout(probe.ready, 30_000, `the probe in ${net.vm.namespace} running`);
  // The Port_Binding exists before the plug: what is measured starts at the binding.
  await chassis.nbctl('--wait=sb', 'sync');
  await sleep(100);
  const plugged = performance.now();
  await plugVms(chassis, [net]);
  const bound = await withTimeout(observer.bound(net), 60_000, `VM port of ${net.id} bound`);
  const installed = await withTimeout(observer.installed(net), 60_000, `VM port of ${net.id} ovn-installed`);
  const plumbed = await withTimeout(observer.plumbed(net), 120_000, `network ${net.id} plumbed`);
  const served = await probe.firstGood(60_000);
  await probe.stop();
  if (served === undefined) log(`  not served in 60 s: ${await whyNotServed(chassis, listenerAt, net)}`);
  const listener = listenerAt?.(net.id);
  return {
    bindToPlumbedMs: round(plumbed - bound, 1),
    bindToListenerMs: listener === undefined ? NaN : round(listener - bound),
    plugToPlumbedMs: round(plumbed - plugged, 1),
    plugToBoundMs: round(bound - plugged, 1),
    bindToServedMs: served === undefined ? NaN : round(served - bound, 1),
    bindToInstalledMs: round(installed - bound, 1),
  };
}

/** `count` binds one after the other, networks `first`…; their medians and p90s. */
async function bindToServed(
  who: string,
  chassis: Chassis,
  observer: Observer,
  first: number,
  count: number,
  listenerAt: ((network: string) => number | undefined) | undefined,
) {
  const rows: BindRow[] = [];
  for (let i = 0; i < count; i++) {
    const row = await bindOnce(chassis, observer, first + i, listenerAt);
    log(
      `${who} bind ${i + 1}/${count}: bound→plumbed ${row.bindToPlumbedMs} ms, bound→ovn-installed ${row.bindToInstalledMs} ms, bound→served ${row.bindToServedMs} ms (plug→bound ${row.plugToBoundMs} ms)`,
    );
    rows.push(row);
  }
  const of = (k: keyof BindRow) => summary(rows.map((r) => r[k]));
  return {
    bindToPlumbedMs: of('bindToPlumbedMs'),
    bindToListenerMs: of('bindToListenerMs'),
    bindToServedMs: of('bindToServedMs'),
    bindToInstalledMs: of('bindToInstalledMs'),
    plugToPlumbedMs: of('plugToPlumbedMs'),
    plugToBoundMs: of('plugToBoundMs'),
  };
}

/**
 * neutron's agent on the same chassis, before ours: started on a chassis with
 * no network yet (its start-up sync of 100 networks would take minutes), then
 * the same binds measured the same way; then it, its haproxies and what it
 * made on the host go, and the NB rows of these networks with them.
 */
async function neutronBindToServed(chassis: Chassis, observer: Observer, nova: FakeNova, first: number) {
  const files = (made.neutronFiles = await writeNeutronConfig(chassis, {
    novaPort: nova.port,
    secret: SECRET,
  }));
  made.neutron = await startNeutronAgent(files);
  // Ready once it has registered in Chassis_Private, as neutron-server sees it.
  const registered = async () =>
    (await chassis.sbctl('--bare', '--columns=external_ids', 'list', 'Chassis_Private')).includes(
      'neutron:ovn-metadata-id',
    );
  await waitFor(registered, 60_000, "neutron's agent registered in Chassis_Private").catch(async (err) => {
    throw new Error(`${(err as Error).message}: ${await made.neutron!.diagnose()}`);
  });
  await sleep(2_000); // its first sync, of no network, done
  const before = made.networks.length;
  const figures = await bindToServed('neutron', chassis, observer, first, NEUTRON_BINDS, undefined);
  await made.neutron.stop();
  made.neutron = undefined;
  await stopHaproxies(files.statePath);
  const theirs = made.networks.splice(before);
  await removeFromHost(theirs);
  await chassis.nbctl(...theirs.flatMap((n) => ['--', 'ls-del', n.switchName]));
  await chassis.vsctl(
    ...theirs.flatMap((n) =>
      [n.vm.hostLink, n.vethRoot].flatMap((port) => ['--', '--if-exists', 'del-port', port]),
    ),
  );
  const { bindToListenerMs: _none, ...rest } = figures;
  return rest;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const missing = NEUTRON_BINDS > 0 ? neutronMissing() : undefined;
  if (missing) throw new Error(`${missing} (or run without --neutron-binds)`);
  const chassis = (made.chassis = await startChassis({
    name: `bench-${process.pid}`,
    lockTimeoutMs: 30 * 60_000,
  }));
  if (OVN_MONITOR_ALL) await chassis.vsctl('set', 'Open_vSwitch', '.', 'external_ids:ovn-monitor-all=true');
  log(
    `chassis ${chassis.name} in ${chassis.dir} (lock wait ${chassis.lockWaitMs} ms, start ${chassis.startupMs} ms)`,
  );
  const nova = (made.nova = await startFakeNova({ secret: SECRET, record: false }));
  const observer = (made.observer = await Observer.start(chassis));

  const neutron =
    NEUTRON_BINDS > 0 ? await neutronBindToServed(chassis, observer, nova, NETWORKS + BINDS) : undefined;
  const networks = Array.from({ length: NETWORKS }, (_, i) => planNetwork(i));
  await buildTopology(chassis, observer, networks);
  const cold = await coldStart(chassis, observer, nova, networks);
  // Binds right after the cold start: at 1,000 networks the served check
  // below outlasts the agent's resync_interval (300 s), whose full pass
  // delays a new network (see docs/performance.md).
  const bind =
    BINDS > 0
      ? await bindToServed('ovnmeta', chassis, observer, NETWORKS, BINDS, (id) =>
          made.agent!.listenerReadyAt(id),
        )
      : undefined;
  const served = await checkServed(chassis, made.agent!, networks, log);

  const agent = made.agent!;
  const metrics = await agent.metrics();
  const reconciles = sample(metrics, 'ovnmeta_reconcile_duration_seconds_count');
  const reconcileSeconds = sample(metrics, 'ovnmeta_reconcile_duration_seconds_sum');
  const memory = agent.memory();
  const result = {
    networks: NETWORKS,
    [`coldStart${NETWORKS}Seconds`]: cold.seconds,
    /** Agent + its children's CPU over the cold start, per network (ms); the listener holder counts as a child. */
    cpuMsPerNetwork: round(
      ((cold.cpuSeconds.agent + cold.cpuSeconds.children + cold.cpuSeconds.holder) * 1000) / NETWORKS,
      1,
    ),
    coldStart: {
      firstPlumbedMs: cold.firstPlumbedMs,
      medianPlumbedMs: cold.medianPlumbedMs,
      sbSyncedMs: cold.sbSyncedMs === undefined ? undefined : round(cold.sbSyncedMs - agent.spawnedAtEpoch),
      firstPassDoneMs: cold.firstPassLogMs,
      lastListenerReadyMs: cold.lastListenerLogMs,
      served: `${served}/${NETWORKS}`,
      rssMb: cold.agentRssMb,
      cpuSeconds: cold.cpuSeconds,
      daemonsIdleCpuPerSecond: cold.daemonsIdleCpuPerSecond,
      loadAverageAtSpawn: cold.loadAverage,
    },
    ...(bind ?? {}),
    binds: BINDS,
    requestedChassis: REQUESTED_CHASSIS,
    ovnMonitorAll: OVN_MONITOR_ALL,
    agentPeakRssMb: round(memory.peakRssMb, 1),
    reconciles,
    meanReconcileMs: reconciles > 0 ? round((reconcileSeconds / reconciles) * 1000, 1) : undefined,
    workers: WORKERS ?? 8,
    resyncSeconds: RESYNC ?? 300,
    cpus: cpus().length,
    vsNeutron: {
      ...(NETWORKS === 100 ? { coldStart: round(NEUTRON.coldStart100Seconds / cold.seconds, 1) } : {}),
      ...(bind && neutron && 'median' in bind.bindToServedMs && 'median' in neutron.bindToServedMs
        ? { bindToServed: round(neutron.bindToServedMs.median / bind.bindToServedMs.median, 1) }
        : {}),
    },
    ...(neutron === undefined ? {} : { neutron: { binds: NEUTRON_BINDS, otherNetworks: 0, ...neutron } }),
    benchSeconds: round((performance.now() - t0) / 1000, 1),
  };
  await cleanup();
  console.log(JSON.stringify(result));
}

try {
  await main();
} catch (err) {
  log(`failed: ${(err as Error).stack ?? String(err)}`);
  await cleanup();
  process.exitCode = 1;
}
