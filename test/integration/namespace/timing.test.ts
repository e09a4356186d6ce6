// The spawn budget of ensurePlumbing: how many commands a fresh network and
// an unchanged one cost, with and without checksum fill (tx offload is read
// and set in-process, src/namespace/offload.ts: no ethtool spawn), and that
// re-ensuring an unchanged network runs nothing that mutates. (Wall times
// are bench/'s.)
import { afterAll, describe, expect, it } from 'vitest';
import { ensurePlumbing } from '../../../src/namespace/index.js';
import { cleanup, CountingRunner, fakeNetwork, v6 } from './host.js';

afterAll(cleanup);

describe.each([false, true])('ensurePlumbing spawn budget (checksumFill %s)', (checksumFill) => {
  it('ten fresh networks each cost at most the budget, and re-ensuring each one mutates nothing', async () => {
    const runner = new CountingRunner();
    const spawns = { fresh: 0, again: 0 };
    for (let i = 0; i < 10; i++) {
      const d = fakeNetwork({
        checksumFill,
        addresses: ['169.254.169.254/32', '172.16.100.2/24', ...v6('fa:16:3e:9d:cc:52')],
      });
      runner.reset();
      expect(await ensurePlumbing(d, { runner })).toBe('created');
      spawns.fresh = Math.max(spawns.fresh, runner.calls.length);
      runner.reset();
      expect(await ensurePlumbing(d, { runner })).toBe('unchanged');
      spawns.again = Math.max(spawns.again, runner.calls.length);
      expect(runner.mutating).toEqual([]);
      expect(runner.calls.filter((c) => c.cmd === 'ethtool' || c.args.includes('ethtool'))).toEqual([]);
    }
    expect(spawns.fresh).toBe(2);
    expect(spawns.again).toBe(1);
    await cleanup();
  });
});
