// The listener holder, run in this process's own namespace (no root): it
// binds, keeps, and hands out duplicates of listening sockets.
import { closeSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { ListenerHolder } from '../../../src/proxy/holder-client.js';
import { openSockets } from '../../../src/proxy/listener.js';
import { fetchFrom, loopbackVm, startHarness, type Harness } from './harness.js';

const base = { namespace: undefined, netnsDir: '/nonexistent', dadWaitMs: 0 };

function occupy(): Promise<net.Server> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => resolve(s));
  });
}
const portOf = (s: net.Server): number => (s.address() as net.AddressInfo).port;
const serve = (fd: number, backlog: number): Promise<net.Server> =>
  new Promise((resolve) => {
    const s = net.createServer((c) => c.end('hello')).listen({ fd }, backlog, () => resolve(s));
  });
const read = (port: number): Promise<string> =>
  new Promise((resolve, reject) => {
    let text = '';
    const c = net.connect(port, '127.0.0.1');
    c.setEncoding('utf8').on('data', (d: string) => (text += d));
    c.on('end', () => resolve(text));
    c.on('error', reject);
  });

describe('openSockets through the listener holder', () => {
  let holder: ListenerHolder;
  const path = join(tmpdir(), `ovnmeta-holder-test-${process.pid}.sock`);
  beforeAll(async () => {
    holder = await ListenerHolder.connect(path, 10_000);
  });
  afterAll(() => holder.exit());

  it('hands over a listening socket that accepts in this process', async () => {
    const [opened] = await openSockets(
      holder,
      { ...base, network: 'a', listen: [{ host: '127.0.0.1', port: 0, backlog: 16 }] },
      closeSync,
    );
    expect(opened!.port).toBeGreaterThan(0);
    expect(opened!.adopted).toBe(false);
    const server = await serve(opened!.fd, 16);
    expect(await read(opened!.port)).toBe('hello');
    server.close();
    holder.drop('a|127.0.0.1|0');
  });

  it('starts on a path whose directory does not exist yet (a fresh state_path)', async () => {
    const dir = join(tmpdir(), `ovnmeta-holder-fresh-${process.pid}`, 'state');
    const fresh = join(dir, 'ovnmeta-listeners.sock');
    try {
      const other = await ListenerHolder.connect(fresh, 10_000);
      expect(ListenerHolder.status(fresh)).toMatchObject({ held: 0 });
      other.exit();
    } finally {
      rmSync(dirname(dir), { recursive: true, force: true });
    }
  });

  it('works from a second evaluation of the client module in the same process (a test runner re-imports it)', async () => {
    vi.resetModules();
    const again = await import('../../../src/proxy/holder-client.js');
    expect(again.ListenerHolder).not.toBe(ListenerHolder);
    const other = await again.ListenerHolder.connect(path, 10_000);
    const [opened] = await openSockets(
      other,
      { ...base, network: 'r', listen: [{ host: '127.0.0.1', port: 0, backlog: 4 }] },
      closeSync,
    );
    const server = await serve(opened!.fd, 4);
    expect(await read(opened!.port)).toBe('hello');
    server.close();
    other.drop('r|127.0.0.1|0');
  });

  it('keeps the socket when its user goes: a later caller adopts it and answers what waited in the backlog', async () => {
    const spec = { host: '127.0.0.1', port: 0, backlog: 16 };
    const [first] = await openSockets(holder, { ...base, network: 'b', listen: [spec] }, closeSync);
    const server = await serve(first!.fd, 16);
    await new Promise((r) => server.close(r));
    // Nobody accepts now; the connection waits in the holder's socket.
    const waiting = read(first!.port);
    const again = await ListenerHolder.connect(path, 10_000);
    const [second] = await openSockets(again, { ...base, network: 'b', listen: [spec] }, closeSync);
    expect(second).toMatchObject({ port: first!.port, adopted: true });
    const next = await serve(second!.fd, 16);
    expect(await waiting).toBe('hello');
    next.close();
    again.drop('b|127.0.0.1|0');
  });

  it('is all or nothing: one address in use fails the call and the other is released', async () => {
    const taken = await occupy();
    try {
      const attempt = openSockets(
        holder,
        {
          ...base,
          network: 'c',
          listen: [
            { host: '127.0.0.1', port: 0, backlog: 16 },
            { host: '127.0.0.1', port: portOf(taken), backlog: 16 },
          ],
        },
        closeSync,
      );
      await expect(attempt).rejects.toMatchObject({
        code: 'PROXY_LISTEN_FAILED',
        retryable: true,
        address: `127.0.0.1:${portOf(taken)}`,
        cause: expect.objectContaining({ code: 'EADDRINUSE' }),
      });
      // The first address was dropped: opening it again binds anew.
      const [fresh] = await openSockets(
        holder,
        { ...base, network: 'c', listen: [{ host: '127.0.0.1', port: 0, backlog: 16 }] },
        closeSync,
      );
      expect(fresh!.adopted).toBe(false);
      closeSync(fresh!.fd);
      holder.drop('c|127.0.0.1|0');
    } finally {
      taken.close();
    }
  });

  it('reports a namespace that does not exist as PROXY_LISTEN_FAILED', async () => {
    await expect(
      openSockets(
        holder,
        {
          ...base,
          network: 'd',
          namespace: `pxtest-${process.pid}`,
          listen: [{ host: '127.0.0.1', port: 0, backlog: 1 }],
        },
        closeSync,
      ),
    ).rejects.toMatchObject({
      code: 'PROXY_LISTEN_FAILED',
      target: `pxtest-${process.pid}`,
      cause: expect.objectContaining({ code: 'ENOENT' }),
    });
  });

  it('after drop the holder no longer listens', async () => {
    const [opened] = await openSockets(
      holder,
      { ...base, network: 'e', listen: [{ host: '127.0.0.1', port: 0, backlog: 1 }] },
      closeSync,
    );
    holder.drop('e|127.0.0.1|0');
    closeSync(opened!.fd);
    await expect(read(opened!.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
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
