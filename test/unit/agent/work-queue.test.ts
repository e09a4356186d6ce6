import { afterEach, describe, expect, it, vi } from 'vitest';
import { WorkQueue, type Outcome } from '../../../src/agent/work-queue.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WorkQueue', () => {
  afterEach(() => vi.useRealTimers());

  it('runs nothing before start, then each queued key once', async () => {
    const runs: string[] = [];
    const q = new WorkQueue<string>({ concurrency: 2, handler: async (k) => void runs.push(k) });
    q.add('a');
    q.add('b');
    q.add('a');
    await Promise.resolve();
    expect(runs).toEqual([]);
    q.start();
    await q.idle();
    expect(runs).toEqual(['a', 'b']);
  });

  it('never runs a key twice at once and reruns it when re-added while running', async () => {
    const gate = deferred();
    let active = 0;
    let maxActive = 0;
    let calls = 0;
    const q = new WorkQueue<string>({
      concurrency: 4,
      handler: async () => {
        calls++;
        active++;
        maxActive = Math.max(maxActive, active);
        if (calls === 1) await gate.promise;
        active--;
      },
    });
    q.start();
    q.add('net');
    await Promise.resolve();
    q.add('net');
    q.add('net');
    expect(q.running).toBe(1);
    expect(q.length).toBe(0);
    gate.resolve();
    await vi.waitFor(() => expect(calls).toBe(2));
    await q.idle();
    expect(calls).toBe(2);
    expect(maxActive).toBe(1);
  });

  it('bounds concurrency across keys', async () => {
    const gates = new Map<number, ReturnType<typeof deferred>>();
    let active = 0;
    let maxActive = 0;
    const q = new WorkQueue<number>({
      concurrency: 3,
      handler: async (k) => {
        active++;
        maxActive = Math.max(maxActive, active);
        const g = deferred();
        gates.set(k, g);
        await g.promise;
        active--;
      },
    });
    q.start();
    for (let i = 0; i < 10; i++) q.add(i);
    await Promise.resolve();
    expect(q.running).toBe(3);
    while (q.running > 0 || q.length > 0) {
      for (const g of gates.values()) g.resolve();
      await new Promise((r) => setImmediate(r));
    }
    expect(maxActive).toBe(3);
    expect(gates.size).toBe(10);
  });

  it('retries failures with exponential backoff and resets it on success', async () => {
    vi.useFakeTimers();
    const times: number[] = [];
    const outcomes: Outcome[] = [];
    let fail = 3;
    const q = new WorkQueue<string>({
      concurrency: 1,
      baseBackoffMs: 100,
      maxBackoffMs: 250,
      handler: async () => {
        times.push(Date.now());
        if (fail-- > 0) throw new Error('boom');
      },
      onResult: (_k, o) => outcomes.push(o),
    });
    const t0 = Date.now();
    q.start();
    q.add('k');
    await vi.advanceTimersByTimeAsync(1000);
    expect(outcomes).toEqual(['retry', 'retry', 'retry', 'success']);
    expect(times.map((t) => t - t0)).toEqual([0, 100, 300, 550]);
  });

  it('does not retry a terminal (non-retryable) error until the key is added again', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const outcomes: Outcome[] = [];
    const q = new WorkQueue<string>({
      concurrency: 1,
      handler: async () => {
        calls++;
        throw Object.assign(new Error('malformed row'), { retryable: false });
      },
      onResult: (_k, o) => outcomes.push(o),
    });
    q.start();
    q.add('k');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toBe(1);
    q.add('k');
    await vi.advanceTimersByTimeAsync(10);
    expect(calls).toBe(2);
    expect(outcomes).toEqual(['terminal', 'terminal']);
  });

  it('honours requeueAfterMs and lets an explicit add pre-empt the delay', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const q = new WorkQueue<string>({
      concurrency: 1,
      handler: async () => (++calls === 1 ? { requeueAfterMs: 5_000 } : undefined),
    });
    q.start();
    q.add('k');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toBe(1);
    q.add('k');
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toBe(2);
  });

  it('stop() waits for running keys and drops the rest', async () => {
    const gate = deferred();
    const runs: number[] = [];
    const q = new WorkQueue<number>({
      concurrency: 1,
      handler: async (k) => {
        runs.push(k);
        await gate.promise;
      },
    });
    q.start();
    q.add(1);
    q.add(2);
    const stopped = q.stop();
    gate.resolve();
    await stopped;
    expect(runs).toEqual([1]);
    q.add(3);
    await new Promise((r) => setImmediate(r));
    expect(runs).toEqual([1]);
  });
});
