import net from 'node:net';
import { gunzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createMetadataProxy, IdentityIndex } from '../../../src/proxy/index.js';
import { fetchFrom, loopbackVm, SECRET, startHarness, type Harness } from './harness.js';

describe('nova answers reach the VM', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ proxy: { nova: { sharedSecret: SECRET, timeoutMs: 300 } } });
    loopbackVm(h.index, 'net', 'inst');
  });
  afterAll(() => h.close());

  it.each([200, 400, 403, 404, 409, 500, 502, 503, 504])(
    'relays %i with nova body and type',
    async (status) => {
      h.nova.respondWith(() => ({ status, body: `nova says ${status}`, contentType: 'application/x-nova' }));
      const reply = await h.get('net', '/latest/meta-data/');
      expect(reply.status).toBe(status);
      expect(reply.text).toBe(`nova says ${status}`);
      expect(reply.headers['content-type']).toBe('application/x-nova');
    },
  );

  it('warns that the shared secrets probably differ on 403', async () => {
    h.nova.respondWith(() => ({ status: 403 }));
    h.logs.length = 0;
    await h.get('net', '/');
    expect(h.logs.some((l) => l.level === 40 && String(l.msg).includes('shared secrets do not match'))).toBe(
      true,
    );
  });

  it.each([201, 301, 401, 418])('turns the unexpected status %i into a logged 500', async (status) => {
    h.nova.respondWith(() => ({ status, body: 'odd' }));
    h.logs.length = 0;
    const reply = await h.get('net', '/');
    expect(reply.status).toBe(500);
    expect(h.logs.some((l) => l.level === 50 && l.code === 'PROXY_NOVA_BAD_RESPONSE')).toBe(true);
  });

  it('passes gzip bodies untouched', async () => {
    h.nova.respondWith(() => ({
      body: 'compressed user-data',
      gzip: true,
      contentType: 'application/octet-stream',
    }));
    const reply = await h.get('net', '/openstack/latest/user_data');
    expect(reply.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(reply.body).toString()).toBe('compressed user-data');
  });

  it('answers 504 when nova sends no headers in time', async () => {
    // undici checks these timeouts on a ~0.5 s tick (lib/util/timers.js).
    // The proxy's own timeout must answer first, not nova's late headers.
    h.nova.respondWith(() => ({ delayMs: 3_000 }));
    const novaAnswers = new Promise<'nova answered first'>((resolve) =>
      setTimeout(resolve, 3_000, 'nova answered first'),
    );
    const first = await Promise.race([h.get('net', '/'), novaAnswers]);
    expect(first).toMatchObject({ status: 504 });
  });

  it('answers 504 when nova stalls in the body', async () => {
    h.nova.respondWith(() => ({ body: 'slow body', stallBodyMs: 3_000 }));
    const reply = await h.get('net', '/');
    expect(reply.status).toBe(504);
  });

  it('answers 503 when nova hangs up, after one retry for GET', async () => {
    h.nova.respondWith(() => ({ hangUp: true }));
    h.nova.requests.length = 0;
    const reply = await h.get('net', '/');
    expect(reply.status).toBe(503);
    expect(reply.text).toBe('The remote metadata server is temporarily unavailable. Please try again later.');
    expect(h.nova.requests).toHaveLength(2);
  });

  it('does not retry a POST', async () => {
    h.nova.respondWith(() => ({ hangUp: true }));
    h.nova.requests.length = 0;
    const reply = await fetchFrom(await h.port('net'), '/openstack/latest/password', {
      method: 'POST',
      body: 'x',
    });
    expect(reply.status).toBe(503);
    expect(h.nova.requests).toHaveLength(1);
  });

  it('recovers once nova answers again', async () => {
    h.nova.respondWith(undefined);
    expect((await h.get('net', '/latest/meta-data/instance-id')).text).toBe('inst');
  });
});

describe('nova unreachable', () => {
  it('answers 503 when the connection is refused', async () => {
    // A port that was just free: bind, read it, close.
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const index = new IdentityIndex();
    loopbackVm(index, 'net', 'inst');
    const proxy = await createMetadataProxy({
      identity: index,
      nova: { host: '127.0.0.1', port, sharedSecret: SECRET },
      listen: { ipv4: '127.0.0.1', port: 0 },
    });
    try {
      await proxy.ensureListener({ network: 'net', namespace: undefined });
      const address = proxy.listeners()[0]!.addresses[0]!;
      const reply = await fetchFrom(Number(address.split(':')[1]), '/latest/meta-data/instance-id');
      expect(reply.status).toBe(503);
    } finally {
      await proxy.close();
    }
  });
});

describe('nova on an IPv6 address', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      novaOptions: { host: '::1' },
      proxy: { nova: { host: '::1', sharedSecret: SECRET } },
    });
    loopbackVm(h.index, 'net6', 'inst6');
  });
  afterAll(() => h.close());

  it('brackets the literal in the URL', async () => {
    const reply = await h.get('net6', '/latest/meta-data/instance-id');
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('inst6');
    expect(h.nova.requests[0]!.headers.host).toBe(`[::1]:${h.nova.port}`);
  });
});
