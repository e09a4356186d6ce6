// Hostile or broken guests: oversized heads and bodies, garbage, slowloris,
// connection floods and request floods, each against a real listening socket.
import net from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fetchFrom, loopbackVm, startHarness, type Harness } from './harness.js';

/** Writes raw bytes and collects everything until the server closes. */
function raw(port: number, chunks: (string | Buffer)[], gapMs = 0): Promise<{ text: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1').on('data', (d: string) => (text += d));
    socket.on('error', reject);
    socket.on('close', () => resolve({ text, ms: performance.now() - started }));
    let i = 0;
    const next = (): void => {
      if (i >= chunks.length || socket.destroyed) return;
      socket.write(chunks[i++]!);
      setTimeout(next, gapMs);
    };
    socket.on('connect', next);
  });
}

const statusOf = (text: string): number => Number(text.slice(9, 12));

describe('limits against hostile guests', () => {
  let h: Harness;
  let port: number;
  beforeAll(async () => {
    h = await startHarness({
      proxy: {
        limits: {
          maxHeaderBytes: 2048,
          maxBodyBytes: 1024,
          headersTimeoutMs: 500,
          requestTimeoutMs: 1_000,
          maxConnections: 3,
        },
      },
    });
    loopbackVm(h.index, 'net', 'inst');
    port = await h.port('net');
  });
  afterAll(() => h.close());

  it('answers 431 to an oversized head', async () => {
    const reply = await raw(port, [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(4096)}\r\n\r\n`]);
    expect(statusOf(reply.text)).toBe(431);
  });

  it('answers 413 to an oversized body without asking nova', async () => {
    h.nova.requests.length = 0;
    const reply = await fetchFrom(port, '/openstack/latest/password', {
      method: 'POST',
      body: 'x'.repeat(2048),
    });
    expect(reply.status).toBe(413);
    expect(h.nova.requests).toHaveLength(0);
  });

  it('answers 400 to garbage', async () => {
    expect(statusOf((await raw(port, ['\x16\x03\x01 not http at all\r\n\r\n'])).text)).toBe(400);
    expect(
      statusOf((await raw(port, ['GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -3\r\n\r\n'])).text),
    ).toBe(400);
  });

  it('cuts a slowloris client after the headers timeout', async () => {
    const drip = 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: '.split('').concat(Array(100).fill('a'));
    const reply = await raw(port, drip, 50);
    expect(statusOf(reply.text)).toBe(408);
    expect(reply.ms).toBeLessThan(2_500);
  });

  it('refuses connections beyond maxConnections, and accepts again after', async () => {
    const idle = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<net.Socket>((resolve) => {
            const s = net.connect(port, '127.0.0.1', () => resolve(s));
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 50));
    const extra = await raw(port, ['GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: x\r\n\r\n']).catch(
      () => ({
        text: '',
        ms: 0,
      }),
    );
    expect(extra.text).toBe('');
    for (const s of idle) s.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect((await fetchFrom(port, '/latest/meta-data/instance-id')).text).toBe('inst');
  });
});

describe('rate limiting', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      proxy: {
        rateLimit: {
          enabled: true,
          ipVersions: [4, 6],
          baseLimit: 3,
          baseWindowMs: 60_000,
          burstLimit: 100,
          burstWindowMs: 1_000,
        },
      },
    });
    loopbackVm(h.index, 'net-a', 'inst-a');
    loopbackVm(h.index, 'net-b', 'inst-b');
  });
  afterAll(() => h.close());

  it('answers 429 past the limit, per network and source, without asking nova', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await h.get('net-a', '/latest/meta-data/instance-id')).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(h.nova.requests).toHaveLength(3);
    expect((await h.get('net-b', '/latest/meta-data/instance-id')).status).toBe(200);
    expect(h.logs.filter((l) => l.status === 429 && l.network === 'net-a')).toHaveLength(2);
  });
});
