// The socket-passing helper, run in this process's own namespace (no root).
import net from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openSockets } from '../../../src/proxy/listener.js';
import { fetchFrom, loopbackVm, startHarness, type Harness } from './harness.js';

const base = { namespace: undefined, dadWaitMs: 0, timeoutMs: 10_000, ipCommand: 'ip' };

function occupy(): Promise<net.Server> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => resolve(s));
  });
}
const portOf = (s: net.Server): number => (s.address() as net.AddressInfo).port;

describe('openSockets', () => {
  it('hands over listening sockets that accept in this process', async () => {
    const [opened] = await openSockets({ ...base, listen: [{ host: '127.0.0.1', port: 0, backlog: 16 }] });
    expect(opened!.port).toBeGreaterThan(0);
    const accepted = new Promise<string>((resolve) =>
      opened!.server.on('connection', (s: net.Socket) => resolve(s.remoteAddress ?? '')),
    );
    const client = net.connect(opened!.port, '127.0.0.1');
    expect(await accepted).toBe('127.0.0.1');
    client.destroy();
    opened!.server.close();
  });

  it('passes up the connections the helper accepted before handing over', async () => {
    const reserved = await occupy();
    const port = portOf(reserved);
    await new Promise((r) => reserved.close(r));
    const pending = openSockets({
      ...base,
      announceDelayMs: 400,
      listen: [{ host: '127.0.0.1', port, backlog: 16 }],
    });
    // Connect while the helper holds the socket: it accepts these itself.
    await new Promise((r) => setTimeout(r, 250));
    const clients = await Promise.all(
      [1, 2, 3].map(
        (n) =>
          new Promise<net.Socket>((resolve, reject) => {
            const c = net.connect(port, '127.0.0.1', () => resolve(c.end(`hello ${n}`)));
            c.on('error', reject);
          }),
      ),
    );
    const [opened] = await pending;
    try {
      expect(opened!.early).toHaveLength(3);
      const greetings = await Promise.all(
        opened!.early.map(
          (socket) =>
            new Promise<string>((resolve) => {
              let text = '';
              socket.setEncoding('utf8').on('data', (d: string) => (text += d));
              socket.on('end', () => resolve(text));
            }),
        ),
      );
      expect(greetings.sort()).toEqual(['hello 1', 'hello 2', 'hello 3']);
    } finally {
      for (const c of clients) c.destroy();
      opened!.server.close();
    }
  });

  it('is all or nothing: one address in use fails the call with every failure named', async () => {
    const taken = await occupy();
    try {
      const attempt = openSockets({
        ...base,
        listen: [
          { host: '127.0.0.1', port: 0, backlog: 16 },
          { host: '127.0.0.1', port: portOf(taken), backlog: 16 },
        ],
      });
      await expect(attempt).rejects.toMatchObject({
        code: 'PROXY_LISTEN_FAILED',
        retryable: true,
        address: `127.0.0.1:${portOf(taken)}`,
        cause: expect.objectContaining({ code: 'EADDRINUSE' }),
      });
    } finally {
      taken.close();
    }
  });

  it('reports a namespace it cannot enter as PROXY_HELPER_FAILED', async () => {
    await expect(
      openSockets({
        ...base,
        namespace: `pxtest-${process.pid}-absent`,
        listen: [{ host: '127.0.0.1', port: 0, backlog: 1 }],
      }),
    ).rejects.toMatchObject({
      code: 'PROXY_HELPER_FAILED',
      retryable: true,
      namespace: `pxtest-${process.pid}-absent`,
    });
  });

  it('reports an unusable helper command as PROXY_HELPER_FAILED', async () => {
    await expect(
      openSockets({
        ...base,
        namespace: 'x',
        ipCommand: '/nonexistent/ip',
        listen: [{ host: '127.0.0.1', port: 0, backlog: 1 }],
      }),
    ).rejects.toMatchObject({ code: 'PROXY_HELPER_FAILED' });
  });
});

describe('ensureListener / removeListener', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    loopbackVm(h.index, 'net', 'inst');
  });
  afterAll(() => h.close());

  it('creates, keeps, removes and re-creates a listener', async () => {
    expect(await h.proxy.ensureListener({ network: 'net', namespace: undefined })).toBe('created');
    expect(await h.proxy.ensureListener({ network: 'net', namespace: undefined })).toBe('unchanged');
    const port = await h.port('net');
    expect((await fetchFrom(port, '/latest/meta-data/instance-id')).text).toBe('inst');
    expect(await h.proxy.removeListener('net')).toBe('removed');
    expect(await h.proxy.removeListener('net')).toBe('unchanged');
    expect(h.proxy.listeners()).toEqual([]);
    await expect(fetchFrom(port, '/')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(await h.proxy.ensureListener({ network: 'net', namespace: undefined })).toBe('created');
    expect((await h.get('net', '/latest/meta-data/instance-id')).text).toBe('inst');
  });

  it('serialises concurrent calls for one network', async () => {
    const results = await Promise.all([
      h.proxy.ensureListener({ network: 'net-c', namespace: undefined }),
      h.proxy.ensureListener({ network: 'net-c', namespace: undefined }),
      h.proxy.removeListener('net-c'),
      h.proxy.ensureListener({ network: 'net-c', namespace: undefined }),
    ]);
    expect(results).toEqual(['created', 'unchanged', 'removed', 'created']);
    expect(h.proxy.listeners().filter((l) => l.network === 'net-c')).toHaveLength(1);
  });

  it('refuses new listeners once closed', async () => {
    const other = await startHarness();
    await other.close();
    await expect(other.proxy.ensureListener({ network: 'n', namespace: undefined })).rejects.toMatchObject({
      code: 'PROXY_CLOSED',
    });
  });
});

describe('hand-over under load', () => {
  // End to end: no connection errors while the listener opens (the exact
  // early-connection path is proven deterministically above).
  it('answers every connection made while the listener is being opened', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = portOf(s);
        s.close(() => resolve(p));
      });
    });
    const h = await startHarness({ proxy: { listen: { ipv4: '127.0.0.1', port } } });
    loopbackVm(h.index, 'net', 'inst');
    let stop = false;
    let connected = 0;
    const answers: string[] = [];
    const client = async (): Promise<void> => {
      while (!stop) {
        await new Promise<void>((resolve) => {
          const s = net.connect(port, '127.0.0.1');
          let text = '';
          let didConnect = false;
          s.on('connect', () => {
            didConnect = true;
            connected++;
            s.write('GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
          });
          s.setEncoding('latin1').on('data', (d: string) => (text += d));
          s.on('error', () => undefined);
          s.on('close', () => {
            if (didConnect) answers.push(text.slice(0, 12));
            resolve();
          });
        });
      }
    };
    try {
      const clients = Array.from({ length: 8 }, client);
      await new Promise((r) => setTimeout(r, 30));
      await h.proxy.ensureListener({ network: 'net', namespace: undefined });
      await new Promise((r) => setTimeout(r, 200));
      stop = true;
      await Promise.all(clients);
      expect(connected).toBeGreaterThan(0);
      expect(answers).toHaveLength(connected);
      expect(new Set(answers)).toEqual(new Set(['HTTP/1.1 200']));
    } finally {
      stop = true;
      await h.close();
    }
  });
});
