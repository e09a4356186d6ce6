// The cost budget of ensurePlumbing, counted in kernel batches (kernel.ts:
// one worker round trip each) and process starts: a fresh network and an
// unchanged one, with and without checksum fill (tx offload). No process is
// started at all, and re-ensuring an unchanged network changes nothing.
// (Wall times are bench/'s.)
import { afterAll, describe, expect, it } from 'vitest';
import { ensurePlumbing } from '../../../src/namespace/index.js';
import { cleanup, CountingHost, fakeNetwork, v6 } from './host.js';

afterAll(cleanup);

describe.each([false, true])('ensurePlumbing budget (checksumFill %s)', (checksumFill) => {
  it('ten fresh networks: two batches each and no spawn; re-ensuring each one reads only and mutates nothing', async () => {
    const host = new CountingHost();
    const batches = { fresh: 0, again: 0 };
    for (let i = 0; i < 10; i++) {
      const d = fakeNetwork({
        checksumFill,
        addresses: ['169.254.169.254/32', '172.16.100.2/24', ...v6('fa:16:3e:9d:cc:52')],
      });
      host.reset();
      expect(await ensurePlumbing(d, host.env)).toBe('created');
      batches.fresh = Math.max(batches.fresh, host.batches.length);
      host.reset();
      expect(await ensurePlumbing(d, host.env)).toBe('unchanged');
      batches.again = Math.max(batches.again, host.batches.length);
      expect(host.mutating).toEqual([]);
      expect(host.spawns).toEqual([]);
    }
    expect(batches.fresh).toBe(2);
    // The dumps, plus the offload read when checksum fill is wanted.
    expect(batches.again).toBe(checksumFill ? 2 : 1);
    await cleanup();
  });
});
