// CPU per request of the metadata relay on loopback, against a trivial node
// http server: a quick, root-free check of the request path between two runs
// of `bench throughput` (which measures the same ratio on a real chassis).
//
// Three processes besides the load generator (bench/lib/loadgen.ts, closed
// loop, keep-alive): the fake nova (bench/lib/nova-process.ts, it checks
// every signature), the proxy (this script with --serve: createMetadataProxy
// as the agent builds it, with the agent's metrics hooks and its access log
// through the CLI's log destination to a file) listening on 127.0.0.1 for
// one network whose VM is 127.0.0.1, and the ceiling (node:http answering the
// same body); both proxies run with the launcher's V8 flags. No namespace, no chassis, no lock: the listener holder the
// proxy starts is private. Per connection count, `--rounds` rounds, each
// running ceiling and proxy back to back (alternating which goes first);
// the CPU of each server process is read from /proc around its run.
// Loopback is faster than the chassis' userspace datapath, so absolute
// figures are lower; at 1 connection no two requests share an event-loop
// turn, the closest to the chassis at 10.
//
// `--node-flags '…'` replaces the launcher's flags of both proxies (e.g. to
// try a young-generation size, or `--trace-gc`); `--baseline-node-flags`
// those of the baseline. `--baseline DIR` adds a third side: the proxy of another checkout (its
// compiled .bench/bench/relay-cpu.js --serve), in the same rounds, to compare
// two versions of the request path on the same machine at the same time.
//
// `--side-by-side` (with `--baseline`) loads the proxy and the baseline at
// the same time, each with its own load generator, instead of one after the
// other: whatever else the machine runs then weighs on both alike, and the
// per-round ratio of their CPU per request (`proxyVsBaseline`, median) moves
// by ~2 % where back-to-back runs on a shared machine moved by 10-20 %.
// Both sides' absolute figures are inflated by sharing the cores, so no
// ceiling runs in that mode.
//
//   npm run bench -- relay-cpu [--connections 1,10,100] [--seconds 3] [--rounds 3]
//     [--log file|off] [--profile DIR] [--baseline DIR [--side-by-side]] [--node-flags '…']
//     [--baseline-node-flags '…']
// Last stdout line: {"c1":{"proxyCpuUs":…,"ceilingCpuUs":…,"ratio":…,"rps":…,"ceilingRps":…},…};
// side by side: {"c1":{"proxyCpuUs":…,"baselineCpuUs":…,"proxyVsBaseline":…,"rps":…,"baselineRps":…},…}
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { pino } from 'pino';

import { AgentMetrics } from '../src/agent/metrics.js';
import { metricsHooks } from '../src/agent/proxy-options.js';
import { coalescingDestination } from '../src/cli/log-destination.js';
import { ListenerHolder } from '../src/proxy/holder-client.js';
import { createMetadataProxy, IdentityIndex } from '../src/proxy/index.js';
import { launcherNodeFlags } from './lib/agent-process.js';
import { median } from './lib/compare.js';
import { loadFrom, type Run, type RunContext } from './lib/load-run.js';
import { NovaProcess } from './lib/nova-process.js';

const SCRIPT = fileURLToPath(import.meta.url);
const SECRET = 'relay-cpu-secret';
const INSTANCE = 'relay-cpu-instance';
const PATH = '/latest/meta-data/instance-id';

const option = (name: string): string | undefined => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? undefined : process.argv[at + 1];
};
const log = (msg: string): void => void process.stderr.write(`[relay-cpu] ${msg}\n`);

/** utime and stime of a process, in clock ticks (proc(5)). */
function userSystemTicks(pid: number | undefined): [number, number] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [Number(fields[11]), Number(fields[12])];
}

/** `--serve NOVA_PORT LOG HOLDER`: the proxy, as the agent builds it; prints its port. */
async function serve(novaPort: number, logTo: string, holderSocket: string): Promise<void> {
  const identity = new IdentityIndex();
  identity.upsertPort({
    key: 'vm',
    network: 'net',
    mac: 'fa:16:3e:00:00:01',
    ips: ['127.0.0.1'],
    instanceId: INSTANCE,
    projectId: 'relay-cpu-project',
    bound: true,
  });
  const logger =
    logTo === 'off'
      ? undefined
      : pino({ base: { pid: process.pid } }, coalescingDestination(openSync(logTo, 'a')));
  const proxy = await createMetadataProxy({
    identity,
    logger,
    metrics: metricsHooks(new AgentMetrics()),
    nova: { host: '127.0.0.1', port: novaPort, sharedSecret: SECRET },
    // A holder at a path of the bench's, which ends it even if this process is killed.
    listen: { ipv4: '127.0.0.1', port: 0, holderSocket },
  });
  await proxy.ensureListener({ network: 'net', namespace: undefined });
  const address = proxy.listeners()[0]!.addresses[0]!;
  process.stdout.write(`port ${address.slice(address.lastIndexOf(':') + 1)}\n`);
  process.once('SIGTERM', () => {
    void proxy.close().finally(() => process.exit(0));
  });
}

/** A child that prints `port N` when ready (other lines, e.g. --trace-gc's, go to our stderr). */
function startPrinting(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const lines = out.split('\n');
      out = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('port ')) resolve({ child, port: Number(line.slice(5)) });
        else process.stderr.write(`${line}\n`);
      }
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited (${code}) before listening`)));
  });
}

const CEILING =
  `const b = Buffer.from(${JSON.stringify(INSTANCE)});` +
  `const h = { 'content-type': 'text/plain; charset=UTF-8', 'content-length': b.length };` +
  `const s = require('http').createServer((q, r) => { r.writeHead(200, h); r.end(b); });` +
  `s.listen(0, '127.0.0.1', () => console.log('port ' + s.address().port));`;

async function main(): Promise<void> {
  const connectionCounts = (option('connections') ?? '1,10,100').split(',').map(Number);
  const seconds = Number(option('seconds') ?? 3);
  const rounds = Number(option('rounds') ?? 3);
  const logMode = option('log') ?? 'file';
  const profileDir = option('profile');
  const dir = mkdtempSync(join(tmpdir(), 'relay-cpu-'));
  const children = new Set<ChildProcess>();
  const nova = await NovaProcess.start(SECRET);
  try {
    // The agent's own V8 flags (bin/ovnmeta.js), which size its young generation.
    const flags = option('node-flags')?.split(' ').filter(Boolean) ?? launcherNodeFlags();
    const proxy = await startPrinting([
      ...flags,
      ...(profileDir === undefined
        ? []
        : ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-interval', '100']),
      SCRIPT,
      '--serve',
      String(nova.port),
      logMode === 'off' ? 'off' : join(dir, 'access.log'),
      join(dir, 'proxy-holder.sock'),
    ]);
    children.add(proxy.child);
    const ceiling = await startPrinting(['-e', CEILING]);
    children.add(ceiling.child);
    const baselineDir = option('baseline');
    const baseline =
      baselineDir === undefined
        ? undefined
        : await startPrinting([
            ...(option('baseline-node-flags')?.split(' ').filter(Boolean) ?? flags),
            join(baselineDir, '.bench/bench/relay-cpu.js'),
            '--serve',
            String(nova.port),
            logMode === 'off' ? 'off' : join(dir, 'baseline-access.log'),
            join(dir, 'baseline-holder.sock'),
          ]);
    if (baseline !== undefined) children.add(baseline.child);
    const servers = { proxy, ceiling, ...(baseline === undefined ? {} : { baseline }) };
    type Side = keyof typeof servers;
    const sides = Object.keys(servers) as Side[];
    const ctx: RunContext = {
      watched: () =>
        Object.fromEntries([...sides.map((k) => [k, servers[k]!.child.pid]), ['nova', nova.pid]]),
      children,
      log,
    };
    const result: Record<string, Record<string, number>> = {};
    const sideBySide = process.argv.includes('--side-by-side');
    if (sideBySide && baseline === undefined) throw new Error('--side-by-side needs --baseline DIR');
    const spec = (port: number, connections: number) => ({
      url: `http://127.0.0.1:${port}`,
      path: PATH,
      connections,
      seconds,
      warmupSeconds: 1,
      expectBody: INSTANCE,
    });
    const us = (run: Run, who: Side): number => ((run.cores[who] ?? NaN) / run.rps) * 1e6;
    for (const connections of sideBySide ? connectionCounts : []) {
      const pairs: [Run, Run][] = [];
      for (let r = 0; r < rounds; r++) {
        pairs.push(
          await Promise.all([
            loadFrom(ctx, `proxy ${connections} #${r + 1}`, undefined, spec(proxy.port, connections)),
            loadFrom(ctx, `baseline ${connections} #${r + 1}`, undefined, spec(baseline!.port, connections)),
          ]),
        );
      }
      result[`c${connections}`] = {
        proxyCpuUs: Math.round(median(pairs.map(([p]) => us(p, 'proxy')))),
        baselineCpuUs: Math.round(median(pairs.map(([, b]) => us(b, 'baseline')))),
        proxyVsBaseline:
          Math.round(median(pairs.map(([p, b]) => us(p, 'proxy') / us(b, 'baseline'))) * 1000) / 1000,
        rps: Math.round(median(pairs.map(([p]) => p.rps))),
        baselineRps: Math.round(median(pairs.map(([, b]) => b.rps))),
      };
      log(`${connections} connections: ${JSON.stringify(result[`c${connections}`])}`);
    }
    for (const connections of sideBySide ? [] : connectionCounts) {
      const runs = Object.fromEntries(sides.map((k) => [k, [] as Run[]])) as Record<Side, Run[]>;
      const kernelShare: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 === 0 ? sides : [...sides].reverse();
        for (const side of order) {
          const { port, child } = servers[side]!;
          const pid = child.pid;
          const [user0, system0] = userSystemTicks(pid);
          runs[side].push(
            await loadFrom(ctx, `${side} ${connections} #${r + 1}`, undefined, spec(port, connections)),
          );
          const [user1, system1] = userSystemTicks(pid);
          if (side === 'proxy') kernelShare.push((system1 - system0) / (user1 - user0 + system1 - system0));
        }
      }
      const proxyCpuUs = median(runs.proxy.map((run) => us(run, 'proxy')));
      const ceilingCpuUs = median(runs.ceiling.map((run) => us(run, 'ceiling')));
      const baselineCpuUs =
        runs.baseline === undefined ? undefined : median(runs.baseline.map((run) => us(run, 'baseline')));
      result[`c${connections}`] = {
        proxyCpuUs: Math.round(proxyCpuUs),
        ceilingCpuUs: Math.round(ceilingCpuUs),
        ratio: Math.round((proxyCpuUs / ceilingCpuUs) * 100) / 100,
        rps: Math.round(median(runs.proxy.map((run) => run.rps))),
        ceilingRps: Math.round(median(runs.ceiling.map((run) => run.rps))),
        /** Share of the proxy's CPU spent in the kernel (stime). */
        proxyKernelShare: Math.round(median(kernelShare) * 100) / 100,
        ...(baselineCpuUs === undefined
          ? {}
          : {
              baselineCpuUs: Math.round(baselineCpuUs),
              baselineRatio: Math.round((baselineCpuUs / ceilingCpuUs) * 100) / 100,
              baselineRps: Math.round(median(runs.baseline!.map((run) => run.rps))),
            }),
      };
      log(`${connections} connections: ${JSON.stringify(result[`c${connections}`])}`);
    }
    for (const { child } of [proxy, ...(baseline === undefined ? [] : [baseline])]) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    console.log(JSON.stringify({ log: logMode, seconds, rounds, ...result }));
  } finally {
    for (const child of children) child.kill('SIGKILL');
    for (const holder of ['proxy-holder.sock', 'baseline-holder.sock']) ListenerHolder.end(join(dir, holder));
    nova.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') await serve(Number(process.argv[3]), process.argv[4]!, process.argv[5]!);
else await main();
