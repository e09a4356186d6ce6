// Figures for the report: wall time and spawns of ensurePlumbing for a fresh
// network and for an unchanged one, sequentially (no parallel overlap), with
// and without checksum fill. Asserts the spawn budget; prints medians.
import { afterAll, describe, expect, it } from 'vitest';
import { ensurePlumbing } from '../../../src/namespace/index.js';
import { cleanup, CountingRunner, fakeNetwork, v6 } from './host.js';

afterAll(cleanup);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe.each([false, true])('ensurePlumbing timing (checksumFill %s)', (checksumFill) => {
  it('fresh and unchanged', async () => {
    const fresh: number[] = [];
    const again: number[] = [];
    const runner = new CountingRunner();
    const spawns = { fresh: 0, again: 0 };
    for (let i = 0; i < 10; i++) {
      const d = fakeNetwork({
        checksumFill,
        addresses: ['169.254.169.254/32', '172.16.100.2/24', ...v6('fa:16:3e:9d:cc:52')],
      });
      runner.reset();
      let t = performance.now();
      expect(await ensurePlumbing(d, { runner })).toBe('created');
      fresh.push(performance.now() - t);
      spawns.fresh = Math.max(spawns.fresh, runner.calls.length);
      runner.reset();
      t = performance.now();
      expect(await ensurePlumbing(d, { runner })).toBe('unchanged');
      again.push(performance.now() - t);
      spawns.again = Math.max(spawns.again, runner.calls.length);
      expect(runner.mutating).toEqual([]);
    }
    expect(spawns.fresh).toBeLessThanOrEqual(4);
    expect(spawns.fresh).toBe(checksumFill ? 3 : 2);
    expect(spawns.again).toBe(checksumFill ? 2 : 1);
    console.log(
      `checksumFill=${checksumFill}: fresh ${median(fresh).toFixed(1)} ms / ${spawns.fresh} spawns, ` +
        `unchanged ${median(again).toFixed(1)} ms / ${spawns.again} spawns (medians of 10)`,
    );
    await cleanup();
  });
});
