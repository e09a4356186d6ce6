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
//   nova10        the fake nova alone from the root namespace (signed requests),
//                 to show it is not what caps the result;
//   ceiling10     a trivial node http server in the same metadata namespace on
//                 169.254.169.254:81: the same datapath, no relay;
//   rps10         the agent's path, 10 connections;
//   rps100, ceiling100, nova100   the same at 100 connections;
//   then 50,000 foreign Port_Binding rows (other chassis, 500 networks) go
//   into the SB (bench/lib/foreign-ports.ts) and rps10/ceiling10 run again.
//
// Also: the agent's RSS and peak RSS (/proc/<pid>/status), its replica row
// count before and after the foreign rows (/metrics ovnmeta_replica_rows),
// and the CPU each process used per run, to see which one is the limit.
// Progress goes to stderr; the last stdout line is one JSON object:
//   {"rps10":…,"ceiling10":…,"ratio10":…,"p99Ms10":…,"rps100":…,"rssMb":…,…}
// neutron-ovn-metadata-agent on this machine, same topology: ~315 req/s at 10
// connections (p99 78 ms), 2.6 % of the ceiling measured there; ~1.4 GB RSS
// with its haproxies; per-request cost growing with the SB size.
//
//   npm run bench -- throughput [--networks 100] [--seconds 5] [--warmup 1.5] [--foreign 50000] [--dummy]
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { expectedSignature, runRaw, startChassis, type Chassis } from '../src/sandbox/index.js';
import { AgentProcess } from './lib/agent-process.js';
import { addForeignPorts, type ForeignPorts } from './lib/foreign-ports.js';
import { LOADGEN_SCRIPT, type LoadResult, type LoadSpec } from './lib/loadgen.js';
import { NovaProcess } from './lib/nova-process.js';
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

const arg = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
};
const NETWORKS = arg('networks', 100);
const SECONDS = arg('seconds', 5);
const WARMUP = arg('warmup', 1.5);
const FOREIGN = arg('foreign', 50_000);
// Development aid: the `dummy` userspace datapath needs no machine-wide lock
// (same dpif-netdev code, no kernel taps); figures to report use netdev.
const DATAPATH = process.argv.includes('--dummy') ? 'dummy' : 'netdev';
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
  ceiling?: ReturnType<typeof spawn>;
  loads: Set<ReturnType<typeof spawn>>;
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

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}
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

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The agent removes every ovnmeta-* namespace it does not need: refuse to run next to someone else's. */
function foreignAgentNamespaces(ours: readonly BenchNetwork[]): string[] {
  const mine = new Set(ours.map((n) => n.namespace));
  let names: string[] = [];
  try {
    names = readdirSync('/run/netns');
  } catch {
    // no namespace at all
  }
  return names.filter((n) => n.startsWith('ovnmeta-') && !mine.has(n));
}

/** utime + stime of a process (all its threads), in seconds; 0 once it is gone. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // proc(5): fields 14, 15, in USER_HZ (100)
  } catch {
    return 0;
  }
}

/** The processes whose CPU each run reports (cores busy, averaged over the run). */
function watched(chassis: Chassis): Record<string, number | undefined> {
  return {
    agent: made.agent?.pid,
    nova: made.nova?.pid,
    vswitchd: chassis.daemon('vswitchd').pid,
    ceiling: made.ceiling?.pid,
  };
}

interface Run extends LoadResult {
  /** Cores used by each watched process during the run (warm-up included). */
  readonly cores: Record<string, number>;
}

/**
 * One load run: the load generator in `namespace` (undefined: the root
 * namespace), CPU of the watched processes sampled around it. Fails unless
 * every counted answer is a 200 with the expected body.
 */
async function load(
  chassis: Chassis,
  name: string,
  namespace: string | undefined,
  spec: Omit<LoadSpec, 'seconds' | 'warmupSeconds'>,
): Promise<Run> {
  const full: LoadSpec = { ...spec, seconds: SECONDS, warmupSeconds: WARMUP };
  const node = [process.execPath, LOADGEN_SCRIPT, JSON.stringify(full)];
  const [cmd, ...args] = namespace === undefined ? node : ['ip', 'netns', 'exec', namespace, ...node];
  const pids = watched(chassis);
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const t0 = performance.now();
  const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  made.loads.add(child);
  const killer = setTimeout(() => child.kill('SIGKILL'), (SECONDS + WARMUP + 20) * 1000);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(killer);
  made.loads.delete(child);
  const wall = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`load generator for ${name} exited ${code}`);
  const result = JSON.parse(out.trim().split('\n').at(-1)!) as LoadResult;
  const cores: Record<string, number> = { loadgen: round(result.cpuSeconds / SECONDS, 2) };
  for (const [k, pid] of Object.entries(pids)) {
    if (pid !== undefined) cores[k] = round((cpuSeconds(pid) - before[k]!) / wall, 2);
  }
  const bad = result.requests - (result.statuses['200'] ?? 0) + result.wrongBodies + result.errors;
  log(
    `${name.padEnd(22)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50Ms.toFixed(2)} ms` +
      `  p99 ${result.p99Ms.toFixed(2)} ms  max ${result.maxMs.toFixed(1)} ms  cores ${JSON.stringify(cores)}`,
  );
  if (result.requests === 0 || bad > 0) {
    throw new Error(
      `${name}: ${result.requests} answers, statuses ${JSON.stringify(result.statuses)}, ` +
        `${result.wrongBodies} wrong bodies, ${result.errors} errors (${result.firstError ?? 'no error'})`,
    );
  }
  return { ...result, cores };
}

/** A trivial node http server in the metadata namespace, answering what nova would. */
async function startCeiling(namespace: string, body: string): Promise<void> {
  const script =
    `const b = Buffer.from(${JSON.stringify(body)});` +
    `require('http').createServer((q, s) => { s.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8', 'content-length': b.length }); s.end(b); })` +
    `.listen(${CEILING_PORT}, '169.254.169.254', () => console.log('up'));`;
  const child = spawn('ip', ['netns', 'exec', namespace, process.execPath, '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  made.ceiling = child;
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`ceiling server exited ${code}`)));
    }),
    10_000,
    'the ceiling server',
  );
}

/** ovnmeta_replica_rows by table (both databases), and their sum. */
async function replicaRows(agent: AgentProcess): Promise<Record<string, number>> {
  const rows: Record<string, number> = {};
  let total = 0;
  for (const line of (await agent.metrics()).split('\n')) {
    const m = /^ovnmeta_replica_rows\{(.*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const table = /table="([^"]*)"/.exec(m[1]!)?.[1] ?? '?';
    rows[table] = (rows[table] ?? 0) + Number(m[2]);
    total += Number(m[2]);
  }
  return { total, ...rows };
}

/** Rows of an SB table, asked of ovsdb-server itself (not of any replica). */
async function countSbRows(chassis: Chassis, table: string): Promise<number> {
  const query = ['OVN_Southbound', { op: 'select', table, where: [], columns: ['_uuid'] }];
  const r = await runRaw('ovsdb-client', ['query', chassis.sbRemote, JSON.stringify(query)]);
  const [result] = JSON.parse(r.stdout) as [{ rows?: unknown[] }];
  if (result.rows === undefined) throw new Error(`ovsdb-client query ${table}: ${r.stdout || r.stderr}`);
  return result.rows.length;
}

/** Waits until the VM gets its own instance id through the agent (fresh connection per try). */
async function waitServed(net: BenchNetwork, timeoutMs: number): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    const r = await runRaw('ip', [
      'netns',
      'exec',
      net.vm.namespace,
      'curl',
      '-sS',
      '-m',
      '2',
      '-w',
      '\n%{http_code}',
      `http://169.254.169.254${PATH}`,
    ]);
    if (r.exitCode === 0 && r.stdout === `${net.vm.instanceId}\n200`) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`VM of network ${net.id} got no metadata within ${timeoutMs} ms`);
}

// --- the bench --------------------------------------------------------------

async function setUp(): Promise<{ chassis: Chassis; agent: AgentProcess; target: BenchNetwork }> {
  if (DATAPATH === 'netdev') log('starting the chassis (waits while another netdev chassis holds the lock)');
  const chassis = (made.chassis = await startChassis({
    name: `bench-tp-${process.pid}`,
    datapathType: DATAPATH,
    lockTimeoutMs: 30 * 60_000,
  }));
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
  const agent = (made.agent = await AgentProcess.spawn(chassis, { novaPort: nova.port, secret: SECRET }));
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
  await waitServed(target, 30_000);
  await startCeiling(target.namespace, target.vm.instanceId);
  return { chassis, agent, target };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const { chassis, agent, target } = await setUp();
  const memoryIdle = agent.memory();
  const vm = target.vm.namespace;
  const signed = {
    'x-forwarded-for': target.vm.ip,
    'x-instance-id': target.vm.instanceId,
    'x-tenant-id': target.vm.projectId,
    'x-instance-id-signature': expectedSignature(SECRET, target.vm.instanceId),
  };
  const novaUrl = `http://127.0.0.1:${made.nova!.port}`;
  const expectBody = target.vm.instanceId;
  const proxy = { url: 'http://169.254.169.254', path: PATH, expectBody };
  const ceiling = { url: `http://169.254.169.254:${CEILING_PORT}`, path: PATH, expectBody };
  const nova = { url: novaUrl, path: PATH, expectBody, headers: signed };

  log(`load: ${WARMUP} s warm-up + ${SECONDS} s counted per run, from ${vm}`);
  const nova10 = await load(chassis, 'nova alone, 10', undefined, { ...nova, connections: 10 });
  const ceiling10 = await load(chassis, 'ceiling, 10', vm, { ...ceiling, connections: 10 });
  const proxy10 = await load(chassis, 'agent, 10', vm, { ...proxy, connections: 10 });
  const proxy100 = await load(chassis, 'agent, 100', vm, { ...proxy, connections: 100 });
  const ceiling100 = await load(chassis, 'ceiling, 100', vm, { ...ceiling, connections: 100 });
  const nova100 = await load(chassis, 'nova alone, 100', undefined, { ...nova, connections: 100 });
  const memoryLoaded = agent.memory();
  const rowsBefore = await replicaRows(agent);

  let foreign: ForeignPorts | undefined;
  let proxy10Foreign: Run | undefined;
  let ceiling10Foreign: Run | undefined;
  let rowsAfter: Record<string, number> | undefined;
  if (FOREIGN > 0) {
    foreign = await addForeignPorts(chassis, { ports: FOREIGN });
    log(
      `SB: +${foreign.portBindings} Port_Binding rows on ${foreign.chassis} other chassis, ` +
        `${foreign.datapaths} datapaths, in ${foreign.seconds.toFixed(1)} s (northd paused)`,
    );
    const sbPortBindings = await countSbRows(chassis, 'Port_Binding');
    log(`SB holds ${sbPortBindings} Port_Binding rows`);
    proxy10Foreign = await load(chassis, 'agent, 10, +50k SB', vm, { ...proxy, connections: 10 });
    ceiling10Foreign = await load(chassis, 'ceiling, 10, +50k SB', vm, { ...ceiling, connections: 10 });
    rowsAfter = { ...(await replicaRows(agent)), sbPortBindings };
  }
  const memory = agent.memory();

  const ratio10 = proxy10.rps / ceiling10.rps;
  const result = {
    networks: NETWORKS,
    datapath: DATAPATH,
    seconds: SECONDS,
    rps10: round(proxy10.rps),
    ceiling10: round(ceiling10.rps),
    ratio10: round(ratio10, 3),
    p50Ms10: round(proxy10.p50Ms, 2),
    p99Ms10: round(proxy10.p99Ms, 2),
    ceilingP99Ms10: round(ceiling10.p99Ms, 2),
    rps100: round(proxy100.rps),
    ceiling100: round(ceiling100.rps),
    ratio100: round(proxy100.rps / ceiling100.rps, 3),
    p50Ms100: round(proxy100.p50Ms, 2),
    p99Ms100: round(proxy100.p99Ms, 2),
    novaAlone10: round(nova10.rps),
    novaAlone100: round(nova100.rps),
    ...(proxy10Foreign && ceiling10Foreign && foreign && rowsAfter
      ? {
          rps10With50kForeign: round(proxy10Foreign.rps),
          p99Ms10With50kForeign: round(proxy10Foreign.p99Ms, 2),
          ceiling10With50kForeign: round(ceiling10Foreign.rps),
          foreignPortBindings: foreign.portBindings,
          sbPortBindings: rowsAfter.sbPortBindings,
          replicaRowsWith50kForeign: rowsAfter.total,
        }
      : {}),
    replicaRows: rowsBefore.total,
    replicaRowsByTable: rowsBefore,
    rssMb: round(memory.rssMb, 1),
    rssIdleMb: round(memoryIdle.rssMb, 1),
    rssAfterLoadMb: round(memoryLoaded.rssMb, 1),
    peakRssMb: round(memory.peakRssMb, 1),
    cores: {
      nova10: nova10.cores,
      ceiling10: ceiling10.cores,
      agent10: proxy10.cores,
      agent100: proxy100.cores,
      ceiling100: ceiling100.cores,
      ...(proxy10Foreign ? { agent10With50kForeign: proxy10Foreign.cores } : {}),
    },
    targets: {
      ratio10: ratio10 >= TARGETS.ratio10,
      p99Ms10: proxy10.p99Ms < TARGETS.p99Ms10,
      ...(proxy10Foreign
        ? { sameWith50kForeign: proxy10Foreign.rps >= TARGETS.foreignShare * proxy10.rps }
        : {}),
      rssMb: memory.peakRssMb < TARGETS.rssMb,
    },
    vsNeutron: {
      rps10: round(proxy10.rps / NEUTRON.rps10, 1),
      p99Ms10: round(NEUTRON.p99Ms10 / proxy10.p99Ms, 1),
      rss: round(NEUTRON.rssMb / memory.peakRssMb, 1),
    },
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
