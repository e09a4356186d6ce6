// The metrics hooks the agent feeds its Prometheus registry from.
import net from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loopbackVm, startHarness, type Harness } from './harness.js';

describe('metrics hooks', () => {
  const requests: [string, number, number][] = [];
  const novaErrors: string[] = [];
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      proxy: {
        nova: { sharedSecret: 'unit-test-secret', timeoutMs: 300 },
        metrics: {
          request: (network, status, seconds) => void requests.push([network, status, seconds]),
          novaError: (kind) => void novaErrors.push(kind),
        },
      },
    });
    loopbackVm(h.index, 'net', 'inst');
  });
  afterAll(() => h.close());

  it('reports every answered request with its network, status and duration', async () => {
    await h.get('net', '/latest/meta-data/instance-id');
    await h.get('net-unknown', '/');
    expect(requests.map(([n, s]) => [n, s])).toEqual([
      ['net', 200],
      ['net-unknown', 404],
    ]);
    expect(requests[0]![2]).toBeGreaterThan(0);
    expect(requests[0]![2]).toBeLessThan(1);
  });

  it('reports failed relays by kind', async () => {
    h.nova.respondWith(() => ({ hangUp: true }));
    await h.get('net', '/');
    h.nova.respondWith(() => ({ delayMs: 3_000 }));
    await h.get('net', '/');
    h.nova.respondWith(() => ({ status: 418 }));
    await h.get('net', '/');
    h.nova.respondWith(undefined);
    expect(novaErrors).toEqual(['unreachable', 'timeout', 'other']);
    expect(requests.slice(-3).map(([, s]) => s)).toEqual([503, 504, 500]);
  });

  it('counts malformed requests, not resets', async () => {
    const port = await h.port('net');
    const before = requests.length;
    await new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('BREW /coffee HTCPCP/1.0\r\n\r\n'));
      s.on('close', () => resolve()).resume();
    });
    await new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.write('GET / HTTP/1.1\r\nHo');
        setTimeout(() => s.resetAndDestroy(), 20);
      });
      s.on('close', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(requests.slice(before)).toEqual([['net', 400, 0]]);
  });
});
