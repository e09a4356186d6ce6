// Low-priority keys (the periodic resync) wait for normal ones: a VM bound
// during a full pass is not queued behind every network (bench/provision
// --resync 2: bind to plumbed median 388 ms, max 1.4 s without this).
import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../../../src/agent/work-queue.js';

/** A one-worker queue recording the order keys run in. */
function recording() {
  const runs: string[] = [];
  const q = new WorkQueue<string>({ concurrency: 1, handler: async (k) => void runs.push(k) });
  return { q, runs };
}

describe('WorkQueue priorities', () => {
  it('runs normal keys before low ones queued earlier', async () => {
    const { q, runs } = recording();
    for (const k of ['r1', 'r2', 'r3']) q.add(k, 'low');
    q.add('event');
    q.start();
    await q.idle();
    expect(runs).toEqual(['event', 'r1', 'r2', 'r3']);
  });

  it('promotes a low key added again at normal, and runs it once', async () => {
    const { q, runs } = recording();
    for (const k of ['r1', 'r2', 'r3']) q.add(k, 'low');
    q.add('r3');
    q.add('r3', 'low'); // a later resync does not demote it
    expect(q.length).toBe(3);
    q.start();
    await q.idle();
    expect(runs).toEqual(['r3', 'r1', 'r2']);
  });

  it('a low key re-added while it runs runs again; normal wins when both come', async () => {
    let release!: () => void;
    const runs: string[] = [];
    const q = new WorkQueue<string>({
      concurrency: 1,
      handler: async (k) => {
        runs.push(k);
        if (runs.length === 1) await new Promise<void>((r) => (release = r));
      },
    });
    q.start();
    q.add('net', 'low');
    await Promise.resolve();
    q.add('other', 'low');
    q.add('net', 'low');
    q.add('net');
    release();
    await q.idle();
    // 'net' comes back at normal priority, ahead of the low 'other'.
    expect(runs).toEqual(['net', 'net', 'other']);
  });

  it('is idle only when both lanes are empty', async () => {
    const { q, runs } = recording();
    q.add('r', 'low');
    q.add('n');
    q.add('n2', 'low');
    q.add('n2');
    q.start();
    await q.idle();
    expect(runs).toEqual(['n', 'n2', 'r']);
    expect(q.length).toBe(0);
  });
});
