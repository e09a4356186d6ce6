// One load run, seen from the bench: the load generator (loadgen.ts) as a
// child process, in a network namespace or not, and the CPU every watched
// process used meanwhile (proc(5) /proc/<pid>/stat utime + stime), plus the
// whole machine's (/proc/stat), so that a run can say which process was the
// limit, or that the machine was shared with something else.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { LOADGEN_SCRIPT, type LoadResult, type LoadSpec } from './loadgen.js';

/** proc(5) times are in USER_HZ, 100 on Linux. */
const USER_HZ = 100;

/** utime + stime of a process (all its threads), in seconds; 0 once it is gone. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ": state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return 0;
  }
}

/** Busy CPU seconds of the whole machine, all CPUs (everything but idle and iowait). */
export function machineBusySeconds(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
  return (user + nice + system + irq + softirq + steal) / USER_HZ;
}

export interface Run extends LoadResult {
  readonly name: string;
  /**
   * Cores busy during the run (warm-up included): each watched process, the
   * load generator (counted window only), `machine` for the whole machine and
   * `other` for what none of them used (other tenants, the kernel's softirq).
   */
  readonly cores: Readonly<Record<string, number>>;
  /** Datapath packets (both directions) per counted request, where the context counts them. */
  readonly packetsPerRequest?: number;
}

export interface RunContext {
  /** Processes whose CPU to report, by label. */
  readonly watched: () => Readonly<Record<string, number | undefined>>;
  /** A packet counter sampled around the run (e.g. the VM's datapath port), if any. */
  readonly packets?: () => Promise<number>;
  /** Live children, for the caller's cleanup. */
  readonly children: Set<ChildProcess>;
  readonly log: (msg: string) => void;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * Runs the load generator in `namespace` (undefined: this one). Throws
 * unless every counted answer is a 200 with the expected body: a figure made
 * of errors is no figure.
 */
export async function loadFrom(
  ctx: RunContext,
  name: string,
  namespace: string | undefined,
  spec: LoadSpec,
): Promise<Run> {
  const node = [process.execPath, LOADGEN_SCRIPT, JSON.stringify(spec)];
  const [cmd, ...args] = namespace === undefined ? node : ['ip', 'netns', 'exec', namespace, ...node];
  const pids = ctx.watched();
  const before = new Map(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const packetsBefore = await ctx.packets?.();
  const machineBefore = machineBusySeconds();
  const t0 = performance.now();
  // `ip netns exec` execs node: the child pid is the load generator's.
  const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  ctx.children.add(child);
  const killer = setTimeout(() => child.kill('SIGKILL'), (spec.seconds + spec.warmupSeconds + 20) * 1000);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(killer);
  ctx.children.delete(child);
  const wall = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`load generator for ${name} exited ${code}`);
  const result = JSON.parse(out.trim().split('\n').at(-1)!) as LoadResult;

  const cores: Record<string, number> = { loadgen: round2(result.cpuSeconds / spec.seconds) };
  for (const [k, pid] of Object.entries(pids)) {
    if (pid !== undefined) cores[k] = round2((cpuSeconds(pid) - before.get(k)!) / wall);
  }
  cores.machine = round2((machineBusySeconds() - machineBefore) / wall);
  const ours = Object.entries(cores).reduce((sum, [k, v]) => (k === 'machine' ? sum : sum + v), 0);
  cores.other = round2(Math.max(0, cores.machine - ours));

  // Over the whole run (warm-up, connection set-up and tear-down included).
  const packets = packetsBefore === undefined ? undefined : (await ctx.packets!()) - packetsBefore;
  const packetsPerRequest = packets === undefined ? undefined : round2(packets / result.answered);

  const bad = result.requests - (result.statuses['200'] ?? 0) + result.wrongBodies + result.errors;
  ctx.log(
    `${name.padEnd(24)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50Ms.toFixed(2)} ms` +
      `  p99 ${result.p99Ms.toFixed(2)} ms  max ${result.maxMs.toFixed(1)} ms` +
      (packetsPerRequest === undefined ? '' : `  pkts/req ${packetsPerRequest}`) +
      `  cores ${JSON.stringify(cores)}`,
  );
  if (result.requests === 0 || bad > 0) {
    throw new Error(
      `${name}: ${result.requests} answers, statuses ${JSON.stringify(result.statuses)}, ` +
        `${result.wrongBodies} wrong bodies, ${result.errors} errors (${result.firstError ?? 'no error'})`,
    );
  }
  return { ...result, name, cores, ...(packetsPerRequest === undefined ? {} : { packetsPerRequest }) };
}
