// Every listener answers through one shared HTTP server: its slow-client
// timer is one interval for the whole proxy, however many networks it serves.
import { createHook } from 'node:async_hooks';
import net from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fetchFrom, loopbackVm, startHarness, type Harness } from './harness.js';

describe('one HTTP server for all listeners', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ proxy: { limits: { headersTimeoutMs: 300, requestTimeoutMs: 600 } } });
  });
  afterAll(() => h.close());

  it('creates no timer per listener, and still cuts a slow client on the last one', async () => {
    // Live timers, unref'd ones included (process.getActiveResourcesInfo skips those).
    const live = new Set<number>();
    const hook = createHook({
      init: (id, type) => void (type === 'Timeout' && live.add(id)),
      destroy: (id) => void live.delete(id),
    }).enable();
    let port = 0;
    try {
      await h.port('timer-0');
      const withOne = live.size;
      for (let i = 1; i <= 49; i++) port = await h.port(`timer-${i}`);
      expect(h.proxy.listeners()).toHaveLength(50);
      expect(live.size).toBe(withOne);
    } finally {
      hook.disable();
    }

    // The shared timer enforces headersTimeout on every listener's connections.
    const text = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () =>
        socket.write('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: a'),
      );
      let got = '';
      socket.setEncoding('latin1').on('data', (d: string) => (got += d));
      socket.on('error', reject).on('close', () => resolve(got));
    });
    expect(text.slice(9, 12)).toBe('408');
  });

  it('serves each listener its own network through the shared server', async () => {
    loopbackVm(h.index, 'timer-3', 'inst-3');
    loopbackVm(h.index, 'timer-7', 'inst-7');
    expect((await fetchFrom(await h.port('timer-3'), '/latest/meta-data/instance-id')).text).toBe('inst-3');
    expect((await fetchFrom(await h.port('timer-7'), '/latest/meta-data/instance-id')).text).toBe('inst-7');
  });
});
