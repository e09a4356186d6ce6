// Restart bench (root; a real userspace OVN chassis, its machine-wide netdev
// lock): does a VM asking for its metadata while the agent restarts lose an
// answer? cloud-init fetches once and does not retry an error, so a VM that
// boots during an upgrade can lose its metadata.
//
// One network, one VM. In the VM (bench/lib/vm-loop.ts) a closed loop asks
// GET /latest/meta-data/instance-id, each request on a new connection, 20 ms
// after the previous answer, 10 s timeout; an answer counts when it is a 200
// with the VM's own instance id. Meanwhile the agent is restarted as its
// service manager would (etc/systemd/ovnmeta-agent.service):
//   --sigterm N  `systemctl restart`: SIGTERM, wait for the exit, start again;
//   --kill N     a crash: SIGKILL, then Restart=on-failure starts it again
//                after RestartSec (2 s in our unit);
//   --swap N     an upgrade: SIGTERM, start the new version (a second copy of
//                the compiled CLI in another directory).
// After each restart the bench waits for 3 answers from the new process, then
// lets the loop run 1 s more. The same loop then runs against Debian's
// neutron-ovn-metadata-agent (test/support/neutron-agent.ts) on the same
// network (ovnmeta stopped, its listener holder released first), with the
// same SIGTERM and SIGKILL restarts (RestartSec: Debian's unit sets none,
// systemd's default 100 ms); its haproxies outlive the agent, as with a
// unit whose KillMode leaves them (the migration e2e's setting).
//
// Progress goes to stderr; the last stdout line is one JSON object:
//   {"requests":…,"failed":…,"maxGapMs":…,"maxLatencyMs":…,"restarts":{…},"errors":{…},
//    "neutron":{"requests":…,"failed":…,"maxGapMs":…,…}}
// maxGapMs: the longest time between two consecutive good answers (20 ms +
// a request when nothing is lost). Counting starts at the first good answer
// (the first start-up is not a restart); servedAgainMs: per restart, from
// the stop signal to the third good answer of the new process.
//
//   npm run bench -- restart [--sigterm 3] [--kill 3] [--swap 1] [--no-neutron]
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ListenerHolder } from '../src/proxy/index.js';
import {
  createNetwork,
  createVmPort,
  sleep,
  startChassis,
  startVm,
  type Chassis,
  type Network,
  type Vm,
  type VmPort,
} from '../src/sandbox/index.js';
import { startFakeNova, type FakeNova } from '../test/support/fake-nova.js';
import {
  neutronMissing,
  startNeutronAgent,
  stopHaproxies,
  writeNeutronConfig,
  type NeutronAgent,
  type NeutronFiles,
} from '../test/support/neutron-agent.js';
import { AgentProcess, holderSocketOf, MAIN } from './lib/agent-process.js';
import { numberArg } from './lib/args.js';
import { cleanupOnSignals } from './lib/interrupt.js';
import { VmLoop, type VmLoopEvent, type VmLoopSpec } from './lib/vm-loop.js';

const SIGTERMS = numberArg('sigterm', 3);
const KILLS = numberArg('kill', 3);
const SWAPS = numberArg('swap', 1);
const NEUTRON = !process.argv.includes('--no-neutron');
const SECRET = `bench-${process.pid}`;
/** RestartSec of etc/systemd/ovnmeta-agent.service, and systemd's default (Debian's neutron unit sets none). */
const OVNMETA_RESTART_MS = 2_000;
const NEUTRON_RESTART_MS = 100;
const GAP_MS = 20;
const TIMEOUT_MS = 10_000;

const log = (msg: string): void => void process.stderr.write(`[restart] ${msg}\n`);
const round = (x: number, d = 0): number => Math.round(x * 10 ** d) / 10 ** d;

type Restart = 'sigterm' | 'kill' | 'swap';

/** Everything the run made, for the cleanup (normal end, failure, Ctrl-C). */
const made: {
  chassis?: Chassis;
  nova?: FakeNova;
  agent?: AgentProcess;
  neutron?: NeutronAgent;
  neutronFiles?: NeutronFiles;
  loop?: VmLoop;
  network?: Network;
  swapDir?: string;
} = {};

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    made.loop?.kill();
    await made.agent?.stop().catch(() => undefined);
    if (made.chassis) ListenerHolder.end(holderSocketOf(made.chassis));
    await made.neutron?.stop().catch(() => undefined);
    if (made.neutronFiles) await stopHaproxies(made.neutronFiles.statePath).catch(() => undefined);
    await made.nova?.close().catch(() => undefined);
    if (made.network) {
      const id = made.network.id;
      spawnSync('ip', ['-force', '-batch', '-'], {
        input: `link del tap${id.slice(0, 10)}0\nnetns del ovnmeta-${id}\n`,
        stdio: ['pipe', 'ignore', 'ignore'],
      });
    }
    if (made.swapDir) rmSync(made.swapDir, { recursive: true, force: true });
    await made.chassis?.stop().catch((err) => log(`chassis stop: ${String(err)}`));
  })();
  return cleaning;
}
cleanupOnSignals(cleanup, log);
process.once('exit', () => {
  if (made.agent?.running) process.kill(made.agent.pid, 'SIGKILL');
  made.loop?.kill();
});

/** The loop in the VM asking for its instance id. */
function startVmLoop(vm: Vm, port: VmPort): VmLoop {
  const spec: VmLoopSpec = {
    host: '169.254.169.254',
    path: '/latest/meta-data/instance-id',
    expectBody: port.instanceId,
    gapMs: GAP_MS,
    timeoutMs: TIMEOUT_MS,
  };
  return (made.loop = new VmLoop(vm.namespace, spec));
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined | false): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(20);
  }
}

/** Waits for 3 good answers after `since`, then lets the loop run `settleMs` more. */
async function servedAgain(loop: VmLoop, since: number, what: string, timeoutMs: number): Promise<number> {
  await waitFor(what, timeoutMs, () => loop.goodSince(since) >= 3);
  const ms = performance.now() - since;
  await sleep(1_000);
  return ms;
}

interface LoopFigures {
  requests: number;
  failed: number;
  maxGapMs: number;
  maxLatencyMs: number;
  p50LatencyMs: number;
  errors: Record<string, number>;
  /** Failures by the restart that came last before them. */
  failedAfter: Record<string, number>;
  restarts: Record<string, number>;
  /** Per restart: ms from the stop signal to the third good answer. */
  servedAgainMs: Record<string, number[]>;
  /** Requests before the first good answer (the first start-up), left out of the figures above. */
  beforeFirstAnswer: number;
  seconds: number;
}

function figures(
  all: readonly VmLoopEvent[],
  restarts: Record<string, number>,
  again: Record<string, number[]>,
  marks: readonly { kind: Restart; at: number }[],
): LoopFigures {
  // What came before the first good answer is the agent's first start-up
  // (neutron's starts its haproxy then), not a restart: not counted.
  const first = all.findIndex((e) => e.ok);
  const events = first === -1 ? all : all.slice(first);
  const errors: Record<string, number> = {};
  let maxGap = 0;
  let lastGood: number | undefined;
  const latencies: number[] = [];
  for (const e of events) {
    latencies.push(e.end - e.start);
    if (!e.ok) {
      const why = e.error ?? `status ${e.status}`;
      errors[why] = (errors[why] ?? 0) + 1;
      continue;
    }
    if (lastGood !== undefined) maxGap = Math.max(maxGap, e.end - lastGood);
    lastGood = e.end;
  }
  latencies.sort((a, b) => a - b);
  // Each failure, by the restart that came last before its request ended.
  const failedAfter: Record<string, number> = {};
  for (const e of events) {
    if (e.ok) continue;
    const kind = marks.filter((m) => m.at <= e.wall).at(-1)?.kind ?? 'none';
    failedAfter[kind] = (failedAfter[kind] ?? 0) + 1;
  }
  return {
    requests: events.length,
    failed: events.filter((e) => !e.ok).length,
    maxGapMs: round(maxGap),
    maxLatencyMs: round(latencies.at(-1) ?? 0),
    p50LatencyMs: round(latencies[Math.floor(latencies.length / 2)] ?? 0, 1),
    errors,
    failedAfter,
    restarts,
    servedAgainMs: Object.fromEntries(Object.entries(again).map(([k, v]) => [k, v.map((x) => round(x))])),
    beforeFirstAnswer: first === -1 ? all.length : first,
    seconds: round(((events.at(-1)?.end ?? 0) - (events[0]?.start ?? 0)) / 1000, 1),
  };
}

/** The compiled CLI copied elsewhere: what an upgrade starts (same code, another path). */
function secondCopy(): string {
  // .bench/src/cli/main.js -> copy .bench/src to .bench/swap-<pid>/src
  const src = fileURLToPath(new URL('../src', import.meta.url));
  const dir = fileURLToPath(new URL(`../swap-${process.pid}`, import.meta.url));
  cpSync(src, join(dir, 'src'), { recursive: true });
  made.swapDir = dir;
  return join(dir, 'src', 'cli', 'main.js');
}

async function runLoop(
  name: string,
  vm: Vm,
  port: VmPort,
  plan: readonly Restart[],
  restart: (kind: Restart) => Promise<number>,
): Promise<LoopFigures> {
  const loop = startVmLoop(vm, port);
  const restarts: Record<string, number> = {};
  const again: Record<string, number[]> = {};
  const marks: { kind: Restart; at: number }[] = [];
  await servedAgain(loop, performance.now(), `${name}: first answers`, 60_000);
  for (const kind of plan) {
    const since = performance.now();
    marks.push({ kind, at: Date.now() });
    log(`${name}: ${kind} restart`);
    await restart(kind);
    const ms = await servedAgain(loop, since, `${name}: answers after a ${kind} restart`, 120_000);
    restarts[kind] = (restarts[kind] ?? 0) + 1;
    (again[kind] ??= []).push(ms);
  }
  await loop.stop();
  return figures(loop.events, restarts, again, marks);
}

async function main(): Promise<void> {
  const missing = NEUTRON ? neutronMissing() : undefined;
  if (missing) throw new Error(`${missing} (or run with --no-neutron)`);
  const foreign = readdirSync('/run/netns').filter((n) => n.startsWith('ovnmeta-'));
  if (foreign.length > 0) {
    throw new Error(
      `another agent's namespaces exist (${foreign.slice(0, 3).join(', ')}…): it would fight ours`,
    );
  }
  log('starting a netdev chassis (waits for the machine-wide lock)');
  const chassis = (made.chassis = await startChassis());
  const nova = (made.nova = await startFakeNova({ secret: SECRET }));
  const network = (made.network = await createNetwork(chassis, { cidrs: ['10.77.0.0/24'] }));
  const port = await createVmPort(network);
  const vm = await startVm(chassis, port);
  const swapMain = SWAPS > 0 ? secondCopy() : MAIN;

  // ovnmeta.
  const startOvnmeta = async (main = MAIN): Promise<void> => {
    made.agent = await AgentProcess.spawn(chassis, { novaPort: nova.port, secret: SECRET }, main);
  };
  await startOvnmeta();
  const plan: Restart[] = [
    ...Array<Restart>(SIGTERMS).fill('sigterm'),
    ...Array<Restart>(KILLS).fill('kill'),
    ...Array<Restart>(SWAPS).fill('swap'),
  ];
  const ours = await runLoop('ovnmeta', vm, port, plan, async (kind) => {
    const agent = made.agent!;
    if (kind === 'kill') {
      agent.child.kill('SIGKILL');
      await agent.exited();
      await sleep(OVNMETA_RESTART_MS);
      await startOvnmeta();
    } else {
      await agent.stop();
      await startOvnmeta(kind === 'swap' ? swapMain : MAIN);
    }
    return 0;
  });
  log(`ovnmeta: ${JSON.stringify(ours)}`);
  await made.agent?.stop();
  made.agent = undefined;
  ListenerHolder.end(holderSocketOf(chassis));

  let neutron: LoopFigures | undefined;
  if (NEUTRON) {
    const files = (made.neutronFiles = await writeNeutronConfig(chassis, {
      novaPort: nova.port,
      secret: SECRET,
    }));
    made.neutron = await startNeutronAgent(files);
    const nplan: Restart[] = [
      ...Array<Restart>(SIGTERMS).fill('sigterm'),
      ...Array<Restart>(KILLS).fill('kill'),
    ];
    neutron = await runLoop('neutron', vm, port, nplan, async (kind) => {
      const agent = made.neutron!;
      if (kind === 'kill') {
        // The whole agent (its group: agent, metadata workers, privsep
        // daemons) dies at once; the haproxies (own session) stay.
        try {
          process.kill(-agent.pgid, 'SIGKILL');
        } catch {
          // already gone
        }
        await agent.stop();
        await sleep(NEUTRON_RESTART_MS);
      } else {
        await agent.stop();
      }
      made.neutron = await startNeutronAgent(files);
      return 0;
    });
    log(`neutron: ${JSON.stringify(neutron)}`);
  }

  const result = {
    ...ours,
    gapBetweenRequestsMs: GAP_MS,
    requestTimeoutMs: TIMEOUT_MS,
    restartSecMs: OVNMETA_RESTART_MS,
    ...(neutron === undefined ? {} : { neutron: { ...neutron, restartSecMs: NEUTRON_RESTART_MS } }),
  };
  await cleanup();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch(async (err: unknown) => {
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  if (made.agent) log(`agent log tail:\n${made.agent.tail(10)}`);
  if (made.neutron) log(await made.neutron.diagnose());
  await cleanup();
  process.exit(1);
});
