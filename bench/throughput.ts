// Throughput bench of the metadata path on a real userspace OVN chassis
// (root; takes the sandbox's machine-wide netdev lock, waiting for it).
//
// Topology: N neutron-shaped networks (default 100), each with one VM
// namespace bound to this chassis by ovn-controller, all plumbed by
// `ovnmeta agent` running as its own process (bench/lib/agent-process.ts)
// against a fake nova in another process that checks every signature
// (bench/lib/nova-process.ts). The load comes from the first VM's namespace
// (bench/lib/loadgen.ts: closed loop, keep-alive, warm-up then a fixed
// window), so every request crosses the whole chain: VM veth -> OVS userspace
// datapath -> the metadata namespace's veth -> the agent's listener -> relay
// -> fake nova -> back. Measured, in this order:
//
//   nova alone    the fake nova from the root namespace (signed requests), at
//                 10 and 100 connections: it must not be what caps the result;
//   at 10, at 100 the agent's path against the ceiling, a trivial node http
//                 server in the same metadata namespace on 169.254.169.254:81
//                 (the same datapath, no relay), --rounds times each,
//                 alternating which goes first; medians, and the ratio per
//                 round (both sides of a round see the same machine);
//   +foreign      50,000 foreign Port_Binding rows (20 other chassis, 500
//                 networks) go into the SB (bench/lib/foreign-ports.ts), then
//                 the 10-connection comparison again.
//
// Also: the agent's RSS and peak RSS at each stage (/proc/<pid>/status), its
// replica row counts before and after the foreign rows (/metrics
// ovnmeta_replica_rows), and per run the cores each process used and the
// whole machine's, to see which one is the limit (bench/lib/load-run.ts),
// and the datapath packets per request at the VM's port (lib/host-probe.ts).
// Pairing and medians: lib/compare.ts; agent /metrics readers: lib/agent-probe.ts.
// Progress goes to stderr; the last stdout line is one JSON object:
//   {"rps10":…,"ceiling10":…,"ratio10":…,"p99Ms10":…,"rps100":…,"agentCpuUsPerRequest10":…,
//    "ceilingCpuUsPerRequest10":…,"rssAfterLoadMb":…,…}
// neutron-ovn-metadata-agent on this machine, same topology: ~315 req/s at 10
// connections (p99 78 ms), 2.6 % of the ceiling measured there; ~1.4 GB RSS
// with its haproxies; per-request cost growing with the SB size.
//
//   npm run bench -- throughput [--networks 100] [--seconds 5] [--warmup 1] [--rounds 3]
//     [--foreign 50000] [--dummy] [--profile-agent DIR] [--agent-node-options OPTS]
import { spawnSync, type ChildProcess } from 'node:child_process';
import { expectedSignature, startChassis, type Chassis } from '../src/sandbox/index.js';
import { AgentProcess } from './lib/agent-process.js';
import { heapOf, profilerPreload, replicaRows } from './lib/agent-probe.js';
import { addForeignPorts, type ForeignPorts } from './lib/foreign-ports.js';
import {
  countSbRows,
  datapathPortPackets,
  foreignAgentNamespaces,
  startCeiling,
  waitServed,
  withTimeout,
} from './lib/host-probe.js';
import { compare, summarize, type Summary } from './lib/compare.js';
import { loadFrom, type RunContext } from './lib/load-run.js';
import type { LoadSpec } from './lib/loadgen.js';
import { NovaProcess } from './lib/nova-process.js';
import { numberArg, stringArg } from './lib/args.js';
import { cleanupOnSignals } from './lib/interrupt.js';
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
const SECONDS = arg('seconds', 5);
const WARMUP = arg('warmup', 1);
const FOREIGN = arg('foreign', 50_000);
/** Each comparison runs this many times, alternating which side goes first; medians are reported. */
const ROUNDS = arg('rounds', 3);
// Development aid: the `dummy` userspace datapath needs no machine-wide lock
// (same dpif-netdev code, no kernel taps); figures to report use netdev.
const DATAPATH = process.argv.includes('--dummy') ? 'dummy' : 'netdev';
// Profiling aid: `--profile-agent DIR` runs the agent under the V8 profiler
// (--cpu-prof is refused in NODE_OPTIONS, so a preload module drives
// node:inspector); DIR/agent-<pid>.cpuprofile is written when it exits.
const PROFILE_DIR = stringArg('profile-agent');
// Memory experiments: `--agent-node-options '--max-semi-space-size=2'` (NODE_OPTIONS of the agent only).
const AGENT_NODE_OPTIONS = stringArg('agent-node-options');
const SECRET = `bench-${process.pid}`;
const PATH = '/latest/meta-data/instance-id';
const CEILING_PORT = 81;
const NEUTRON = { rps10: 315, p99Ms10: 78, ceilingShare10: 0.026, rssMb: 1400 };
const TARGETS = { ratio10: 0.5, p99Ms10: 10, foreignShare: 0.9, rssMb: 150 };

const log = (msg: string): void => void process.stderr.write(`[throughput] ${msg}\n`);
const round = (x: number, d = 0): number => Math.round(x * 10 ** d) / 10 ** d;

// --- cleanup: normal end, failure, Ctrl-C -----------------------------------

const made: {
  chassis?: Chassis;
  nova?: NovaProcess;
  observer?: Observer;
  agent?: AgentProcess;
  ceiling?: ChildProcess;
  loads: Set<ChildProcess>;
  networks: BenchNetwork[];
} = { loads: new Set(), networks: [] };

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const child of [...made.loads, made.ceiling]) child?.kill('SIGKILL');
    made.nova?.stop();
    await made.agent?.stop().catch(() => undefined);
    await made.observer?.close();
    await removeFromHost(made.networks).catch((err) => log(`host cleanup: ${String(err)}`));
    await made.chassis?.stop().catch((err) => log(`chassis stop: ${String(err)}`));
  })();
  return cleaning;
}

cleanupOnSignals(cleanup, log);
// Last resort if the process dies some other way: no agent, no children, no namespaces left.
process.once('exit', () => {
  for (const child of [...made.loads, made.ceiling, made.nova?.child]) child?.kill('SIGKILL');
  if (made.agent?.running) process.kill(made.agent.pid, 'SIGKILL');
  if (cleaning === undefined && made.networks.length > 0) {
    spawnSync('ip', ['-force', '-batch', '-'], {
      input: hostCleanupScript(made.networks),
      stdio: ['pipe', 'ignore', 'ignore'],
    });
  }
});

// --- helpers ----------------------------------------------------------------

/** The processes whose CPU each run reports. */
function watched(): Record<string, number | undefined> {
  return {
    agent: made.agent?.pid,
    nova: made.nova?.pid,
    vswitchd: made.chassis?.daemon('vswitchd').pid,
    ceiling: made.ceiling?.pid,
  };
}

/** performance.now() when the chassis that stayed began its start-up. */
let benchStartedAt = 0;

/** The load VM's host-side veth: every packet of the load crosses its datapath port. */
let loadPort: string | undefined;

const runContext: RunContext = {
  watched,
  children: made.loads,
  log,
  packets: () => (loadPort === undefined ? Promise.resolve(0) : datapathPortPackets(made.chassis!, loadPort)),
};

function load(
  name: string,
  namespace: string | undefined,
  spec: Omit<LoadSpec, 'seconds' | 'warmupSeconds'>,
) {
  return loadFrom(runContext, name, namespace, { ...spec, seconds: SECONDS, warmupSeconds: WARMUP });
}

/**
 * startChassis, again on a retryable failure: on a machine loaded by other
 * sessions a fresh vswitchd sometimes misses the sandbox's 10 s bridge
 * deadline (seen twice in a row right after another chassis released the
 * lock); startChassis has stopped whatever it started by then.
 */
async function startChassisRetrying(attempts = 3): Promise<Chassis> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startChassis({
        name: `bench-tp-${process.pid}-${attempt}`,
        datapathType: DATAPATH,
        lockTimeoutMs: 30 * 60_000,
      });
    } catch (err) {
      if (attempt >= attempts || (err as { retryable?: unknown }).retryable !== true) throw err;
      log(`chassis start failed (${(err as Error).message}); again`);
    }
  }
}

async function setUp(): Promise<{ chassis: Chassis; agent: AgentProcess; target: BenchNetwork }> {
  if (DATAPATH === 'netdev') log('starting the chassis (waits while another netdev chassis holds the lock)');
  const chassis = (made.chassis = await startChassisRetrying());
  benchStartedAt = performance.now() - chassis.startupMs;
  log(
    `chassis ${chassis.name} in ${chassis.dir} (lock wait ${chassis.lockWaitMs} ms, start ${chassis.startupMs} ms)`,
  );
  const nova = (made.nova = await NovaProcess.start(SECRET));
  const observer = (made.observer = await Observer.start(chassis));

  const networks = Array.from({ length: NETWORKS }, (_, i) => planNetwork(i));
  made.networks.push(...networks);
  const t = performance.now();
  await Promise.all([writeNorthbound(chassis, networks), prepareVms(networks)]);
  observer.watch(networks);
  await plugVms(chassis, networks);
  await withTimeout(
    Promise.all(networks.map((n) => observer.bound(n))),
    60_000 + NETWORKS * 100,
    `${NETWORKS} VM ports bound by ovn-controller`,
  );
  log(`${NETWORKS} networks with a bound VM in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const foreign = foreignAgentNamespaces(networks);
  if (foreign.length > 0) {
    throw new Error(
      `ovnmeta-* namespaces not made by this run exist (${foreign.slice(0, 3).join(', ')}…); ` +
        'the agent would remove them: run the bench when no other agent test runs',
    );
  }
  // Nothing else is spawned meanwhile: only the agent gets these NODE_OPTIONS.
  const nodeOptions = [
    ...(AGENT_NODE_OPTIONS === undefined ? [] : [AGENT_NODE_OPTIONS]),
    ...(PROFILE_DIR === undefined ? [] : [`--import=${await profilerPreload(PROFILE_DIR)}`]),
  ];
  const ownNodeOptions = process.env.NODE_OPTIONS;
  if (nodeOptions.length > 0) process.env.NODE_OPTIONS = nodeOptions.join(' ');
  let agent: AgentProcess;
  try {
    agent = made.agent = await AgentProcess.spawn(chassis, { novaPort: nova.port, secret: SECRET });
  } finally {
    if (ownNodeOptions === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = ownNodeOptions;
  }
  await withTimeout(
    Promise.race([
      Promise.all(networks.map((n) => observer.plumbed(n))),
      agent.exited().then((code) => {
        throw new Error(`the agent exited (${code}):\n${agent.tail()}`);
      }),
    ]),
    60_000 + NETWORKS * 500,
    `${NETWORKS} networks plumbed`,
  );
  log(
    `agent plumbed ${NETWORKS} networks ${((performance.now() - agent.spawnedAt) / 1000).toFixed(1)} s after its spawn`,
  );
  await made.observer.close();
  made.observer = undefined;

  const target = networks[0]!;
  await waitServed(target, `http://169.254.169.254${PATH}`, 30_000);
  await startCeiling(target.namespace, CEILING_PORT, target.vm.instanceId, (child) => (made.ceiling = child));
  return { chassis, agent, target };
}

const detail = ({ rounds, cores, packetsPerRequest, agentCpuUsPerRequest }: Summary) => ({
  rounds,
  agentCpuUsPerRequest,
  packetsPerRequest,
  cores,
});

async function main(): Promise<void> {
  const { chassis, agent, target } = await setUp();
  const memory: Record<string, Record<string, number>> = {};
  const sampleMemory = async (at: string): Promise<void> => {
    memory[at] = { ...(await heapOf(agent)), ...agent.memory() };
  };
  await sampleMemory('plumbed');

  const vm = target.vm.namespace;
  loadPort = target.vm.hostLink;
  const expectBody = target.vm.instanceId;
  const agentSpec = { url: 'http://169.254.169.254', path: PATH, expectBody };
  const ceilingSpec = { url: `http://169.254.169.254:${CEILING_PORT}`, path: PATH, expectBody };
  const novaSpec = {
    url: `http://127.0.0.1:${made.nova!.port}`,
    path: PATH,
    expectBody,
    headers: {
      'x-forwarded-for': target.vm.ip,
      'x-instance-id': target.vm.instanceId,
      'x-tenant-id': target.vm.projectId,
      'x-instance-id-signature': expectedSignature(SECRET, target.vm.instanceId),
    },
  };

  log(`load from ${vm}: ${WARMUP} s warm-up + ${SECONDS} s counted per run, ${ROUNDS} rounds per comparison`);
  const nova10 = await load('nova alone, 10', undefined, { ...novaSpec, connections: 10 });
  const nova100 = await load('nova alone, 100', undefined, { ...novaSpec, connections: 100 });
  const at10 = summarize(
    await compare(ROUNDS, load, '10', vm, {
      agent: { ...agentSpec, connections: 10 },
      ceiling: { ...ceilingSpec, connections: 10 },
    }),
  );
  const at100 = summarize(
    await compare(ROUNDS, load, '100', vm, {
      agent: { ...agentSpec, connections: 100 },
      ceiling: { ...ceilingSpec, connections: 100 },
    }),
  );
  await sampleMemory('loaded');
  const rowsBefore = await replicaRows(agent);

  let withForeign: (Summary & { foreign: ForeignPorts; sbPortBindings: number }) | undefined;
  let rowsAfter: Record<string, number> | undefined;
  if (FOREIGN > 0) {
    const foreign = await addForeignPorts(chassis, { ports: FOREIGN });
    const sbPortBindings = await countSbRows(chassis, 'Port_Binding');
    log(
      `SB: +${foreign.portBindings} Port_Binding rows (${foreign.chassis} other chassis, ${foreign.datapaths} ` +
        `networks) in ${foreign.seconds.toFixed(1)} s, northd paused; the SB now holds ${sbPortBindings}`,
    );
    withForeign = {
      ...summarize(
        await compare(ROUNDS, load, '10 +foreign', vm, {
          agent: { ...agentSpec, connections: 10 },
          ceiling: { ...ceilingSpec, connections: 10 },
        }),
      ),
      foreign,
      sbPortBindings,
    };
    rowsAfter = await replicaRows(agent);
  }
  await sampleMemory('end');

  const result = {
    networks: NETWORKS,
    datapath: DATAPATH,
    ...(AGENT_NODE_OPTIONS === undefined ? {} : { agentNodeOptions: AGENT_NODE_OPTIONS }),
    seconds: SECONDS,
    rounds: ROUNDS,
    rps10: at10.rps,
    ceiling10: at10.ceiling,
    ratio10: at10.ratio,
    p50Ms10: at10.p50Ms,
    p99Ms10: at10.p99Ms,
    ceilingP99Ms10: at10.ceilingP99Ms,
    rps100: at100.rps,
    ceiling100: at100.ceiling,
    ratio100: at100.ratio,
    p50Ms100: at100.p50Ms,
    p99Ms100: at100.p99Ms,
    agentCpuUsPerRequest10: at10.agentCpuUsPerRequest,
    agentCpuUsPerRequest100: at100.agentCpuUsPerRequest,
    ceilingCpuUsPerRequest10: at10.ceilingCpuUsPerRequest,
    ceilingCpuUsPerRequest100: at100.ceilingCpuUsPerRequest,
    novaAlone10: round(nova10.rps),
    novaAlone100: round(nova100.rps),
    ...(withForeign && rowsAfter
      ? {
          rps10With50kForeign: withForeign.rps,
          ceiling10With50kForeign: withForeign.ceiling,
          ratio10With50kForeign: withForeign.ratio,
          p99Ms10With50kForeign: withForeign.p99Ms,
          agentCpuUsPerRequest10With50kForeign: withForeign.agentCpuUsPerRequest,
          foreignPortBindings: withForeign.foreign.portBindings,
          sbPortBindings: withForeign.sbPortBindings,
          sbReplicaRowsWith50kForeign: rowsAfter.OVN_Southbound,
        }
      : {}),
    sbReplicaRows: rowsBefore.OVN_Southbound,
    rssMb: round(memory.loaded!.rssMb!, 1),
    /** The same figure under the name the targets use. */
    rssAfterLoadMb: round(memory.loaded!.rssMb!, 1),
    peakRssMb: round(memory.end!.peakRssMb!, 1),
    memoryMb: Object.fromEntries(
      Object.entries(memory).map(([at, m]) => [
        at,
        Object.fromEntries(Object.entries(m).map(([k, v]) => [k, round(v, 1)])),
      ]),
    ),
    replicaRowsByTable: { before: rowsBefore, ...(rowsAfter ? { withForeign: rowsAfter } : {}) },
    detail: {
      at10: detail(at10),
      at100: detail(at100),
      ...(withForeign ? { with50kForeign: detail(withForeign) } : {}),
      nova: { cores10: nova10.cores, cores100: nova100.cores },
    },
    targets: {
      ratio10: at10.ratio >= TARGETS.ratio10,
      p99Ms10: at10.p99Ms < TARGETS.p99Ms10,
      // Absolute medians: the ceiling swings more with other tenants than the agent does.
      ...(withForeign ? { sameWith50kForeign: withForeign.rps >= TARGETS.foreignShare * at10.rps } : {}),
      rssMb: memory.loaded!.rssMb! < TARGETS.rssMb,
    },
    vsNeutron: {
      rps10: round(at10.rps / NEUTRON.rps10, 1),
      p99Ms10: round(NEUTRON.p99Ms10 / at10.p99Ms, 1),
      ceilingShare10: round(at10.ratio / NEUTRON.ceilingShare10, 1),
      rss: round(NEUTRON.rssMb / memory.loaded!.rssMb!, 1),
    },
    /** From the chassis start-up (not the wait for the netdev lock) to here. */
    benchSeconds: round((performance.now() - benchStartedAt) / 1000, 1),
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
