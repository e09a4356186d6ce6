// HTTP load generator for the throughput bench, run as its own process so
// that it shares no event loop with what it measures, and so that it can run
// inside a VM's network namespace (`ip netns exec NS node loadgen.js …`).
//
// Closed loop: `connections` keep-alive connections (undici Pool, no
// pipelining), each with one request in flight; every request is GET `path`.
// After `warmupSeconds` (connections opened, JIT warm, caches filled) it
// counts for `seconds`: completions, statuses, bodies that differ from the
// expected one, errors, and each latency into a fixed log-linear histogram
// (no per-request allocation, no sort: 1 µs resolution below 1 ms, then 64
// buckets per power of two, i.e. within 1.6 %). A request counts when it
// completes inside the window; rps = completions / window. Bounded in time:
// it stops issuing at the deadline and abandons stragglers 2 s later.
// One JSON object (LoadResult) on stdout.
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';

export interface LoadSpec {
  readonly url: string;
  readonly path: string;
  readonly connections: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Every 200 body must equal this; a different one counts in `wrongBodies`. */
  readonly expectBody?: string;
}

export interface LoadResult {
  /** Answers counted (inside the window). */
  readonly requests: number;
  /** Every answer, warm-up and stragglers included (e.g. to divide packet counts by). */
  readonly answered: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly statuses: Record<string, number>;
  readonly wrongBodies: number;
  readonly errors: number;
  readonly firstError?: string;
  /** CPU seconds the load generator itself used while counting (user + system). */
  readonly cpuSeconds: number;
}

/** This file, compiled: what `node` runs. */
export const LOADGEN_SCRIPT = fileURLToPath(import.meta.url);

/** Latency histogram: microseconds, exact below 1,024 µs, 64 sub-buckets per octave above. */
class Histogram {
  static readonly #SUB = 64;
  readonly #counts = new Float64Array(1024 + 64 * 40);
  #n = 0;
  #max = 0;

  record(ms: number): void {
    const us = Math.max(0, Math.round(ms * 1000));
    this.#counts[Histogram.#index(us)]!++;
    this.#n++;
    if (ms > this.#max) this.#max = ms;
  }

  get count(): number {
    return this.#n;
  }

  get max(): number {
    return this.#max;
  }

  /** The q-quantile in ms (upper edge of its bucket). */
  quantile(q: number): number {
    const rank = Math.ceil(q * this.#n);
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank && seen > 0) return Math.min(Histogram.#upper(i) / 1000, this.#max);
    }
    return this.#max;
  }

  static #index(us: number): number {
    if (us < 1024) return us;
    const octave = Math.floor(Math.log2(us)); // >= 10
    const sub = Math.floor((us / 2 ** octave - 1) * Histogram.#SUB);
    return Math.min(1024 + (octave - 10) * Histogram.#SUB + sub, 1024 + 64 * 40 - 1);
  }

  static #upper(i: number): number {
    if (i < 1024) return i + 1;
    const octave = 10 + Math.floor((i - 1024) / Histogram.#SUB);
    const sub = (i - 1024) % Histogram.#SUB;
    return 2 ** octave * (1 + (sub + 1) / Histogram.#SUB);
  }
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const pool = new Pool(spec.url, {
    connections: spec.connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    connectTimeout: 5_000,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const histogram = new Histogram();
  const statuses: Record<string, number> = {};
  let wrongBodies = 0;
  let answered = 0;
  let errors = 0;
  let firstError: string | undefined;
  const request = { method: 'GET' as const, path: spec.path, headers: spec.headers ?? {} };
  const start = performance.now();
  const countFrom = start + spec.warmupSeconds * 1000;
  const stopAt = countFrom + spec.seconds * 1000;

  const worker = async (): Promise<void> => {
    for (let t = performance.now(); t < stopAt; t = performance.now()) {
      try {
        const res = await pool.request(request);
        const body = await res.body.text();
        const done = performance.now();
        answered++;
        if (done < countFrom || done > stopAt) continue;
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        if (res.statusCode === 200 && spec.expectBody !== undefined && body !== spec.expectBody)
          wrongBodies++;
        histogram.record(done - t);
      } catch (err) {
        if (performance.now() < countFrom || abandoned) continue;
        errors++;
        firstError ??= String(err);
      }
    }
  };

  let cpuAtStart = process.cpuUsage();
  const counter = setTimeout(() => (cpuAtStart = process.cpuUsage()), countFrom - performance.now());
  let abandoned = false;
  let straggle: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(Array.from({ length: spec.connections }, worker)),
    new Promise<void>((resolve) => {
      straggle = setTimeout(
        () => {
          abandoned = true;
          resolve();
        },
        stopAt + 2_000 - performance.now(),
      );
    }),
  ]);
  clearTimeout(counter);
  clearTimeout(straggle);
  const cpu = process.cpuUsage(cpuAtStart);
  await pool.destroy();
  const n = histogram.count;
  return {
    requests: n,
    answered,
    rps: n / spec.seconds,
    p50Ms: histogram.quantile(0.5),
    p90Ms: histogram.quantile(0.9),
    p99Ms: histogram.quantile(0.99),
    maxMs: histogram.max,
    statuses,
    wrongBodies,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

// Entry point: `node loadgen.js '<LoadSpec JSON>'`.
if (process.argv[1] === LOADGEN_SCRIPT) {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  const result = await runLoad(spec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
