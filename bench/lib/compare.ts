// Agent against ceiling, fairly on a shared machine: both run `rounds`
// times, back to back, alternating which goes first, so that each round's
// two halves see the same neighbours (other tenants come and go). Figures
// are medians over rounds; the ratio is taken per round, then its median.
import type { Run } from './load-run.js';
import type { LoadSpec } from './loadgen.js';

export type Spec = Omit<LoadSpec, 'seconds' | 'warmupSeconds'>;

export interface Comparison {
  readonly agent: Run[];
  readonly ceiling: Run[];
}

export async function compare(
  rounds: number,
  load: (name: string, namespace: string, spec: Spec) => Promise<Run>,
  label: string,
  namespace: string,
  specs: { readonly agent: Spec; readonly ceiling: Spec },
): Promise<Comparison> {
  const out: Comparison = { agent: [], ceiling: [] };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? (['ceiling', 'agent'] as const) : (['agent', 'ceiling'] as const);
    for (const side of order)
      out[side].push(await load(`${side} ${label} #${r + 1}`, namespace, specs[side]));
  }
  return out;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round = (x: number, d = 0): number => Math.round(x * 10 ** d) / 10 ** d;

export type Summary = ReturnType<typeof summarize>;

export function summarize(c: Comparison) {
  const med = (runs: Run[], k: 'rps' | 'p50Ms' | 'p99Ms') => median(runs.map((r) => r[k]));
  return {
    rps: round(med(c.agent, 'rps')),
    ceiling: round(med(c.ceiling, 'rps')),
    ratio: round(median(c.agent.map((a, i) => a.rps / c.ceiling[i]!.rps)), 3),
    p50Ms: round(med(c.agent, 'p50Ms'), 2),
    p99Ms: round(med(c.agent, 'p99Ms'), 2),
    ceilingP99Ms: round(med(c.ceiling, 'p99Ms'), 2),
    /** Every round, for the spread. */
    rounds: c.agent.map((a, i) => ({
      rps: round(a.rps),
      ceiling: round(c.ceiling[i]!.rps),
      p99Ms: round(a.p99Ms, 2),
    })),
    /** The agent's own CPU per request, µs (median over rounds): steadier than rps on a shared machine. */
    agentCpuUsPerRequest: round(median(c.agent.map((r) => ((r.cores.agent ?? NaN) / r.rps) * 1e6))),
    /** The ceiling server's CPU per request, µs (median over the same rounds). */
    ceilingCpuUsPerRequest: round(median(c.ceiling.map((r) => ((r.cores.ceiling ?? NaN) / r.rps) * 1e6))),
    /** Datapath packets per request at the VM's port (medians). */
    packetsPerRequest: {
      agent: median(c.agent.map((r) => r.packetsPerRequest ?? NaN)),
      ceiling: median(c.ceiling.map((r) => r.packetsPerRequest ?? NaN)),
    },
    /** Cores of the agent's median-rps round. */
    cores: [...c.agent].sort((a, b) => a.rps - b.rps)[c.agent.length >> 1]!.cores,
  };
}
