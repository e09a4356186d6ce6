// The relay's own HTTP/1.1 client against raw TCP servers on loopback that
// answer with exactly the bytes each test writes: the request bytes nova
// gets, keep-alive reuse, the one retry after a stale connection, answers in
// pieces, timeouts, the connection limit and close.
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import {
  ProxyNovaBadResponseError,
  ProxyNovaTimeoutError,
  ProxyNovaUnreachableError,
} from '../../../src/proxy/errors.js';
import { DEFAULT_NOVA, type NovaOptions } from '../../../src/proxy/options.js';
import { NovaRelay, requestHead, signInstanceId, type RelayResponse } from '../../../src/proxy/relay.js';

const SECRET = 'client-test-secret';
const IDENTITY = { sourceIp: '10.0.0.5', instanceId: 'inst-1', projectId: 'proj-1' };

describe('requestHead', () => {
  const headers = { ...IDENTITY, signature: 'sig' };
  const ours =
    'x-forwarded-for: 10.0.0.5\r\nx-instance-id: inst-1\r\nx-tenant-id: proj-1\r\nx-instance-id-signature: sig\r\n';

  it('writes the request line, host, connection and our four headers, in that order', () => {
    expect(requestHead('GET', '/latest/meta-data/?a=%20b', 'nova:8775', headers, undefined)).toBe(
      `GET /latest/meta-data/?a=%20b HTTP/1.1\r\nhost: nova:8775\r\nconnection: keep-alive\r\n${ours}\r\n`,
    );
  });

  it('gives a body its length, POST, PUT and PATCH without one a length of 0, others none', () => {
    expect(requestHead('POST', '/p', 'h', headers, 3)).toBe(
      `POST /p HTTP/1.1\r\nhost: h\r\nconnection: keep-alive\r\n${ours}content-length: 3\r\n\r\n`,
    );
    for (const method of ['POST', 'PUT', 'PATCH']) {
      expect(requestHead(method, '/p', 'h', headers, undefined)).toContain(
        `${ours}content-length: 0\r\n\r\n`,
      );
    }
    for (const method of ['GET', 'DELETE', 'OPTIONS']) {
      expect(requestHead(method, '/p', 'h', headers, undefined)).toMatch(/signature: sig\r\n\r\n$/);
    }
  });

  it('asks nova to close the connection after HEAD', () => {
    expect(requestHead('HEAD', '/', 'h', headers, undefined)).toContain('\r\nconnection: close\r\n');
  });

  it('keeps latin1 path bytes as they came and refuses what would break the head', () => {
    expect(requestHead('GET', '/caf\u00e9', 'h', headers, undefined)).toMatch(/^GET \/caf\u00e9 HTTP/);
    expect(() => requestHead('GET', '/a b', 'h', headers, undefined)).toThrow(/invalid request path/);
    expect(() => requestHead('GET', '/\u0100', 'h', headers, undefined)).toThrow(/invalid request path/);
    expect(() =>
      requestHead('GET', '/', 'h', { ...headers, instanceId: 'i\r\nx-evil: 1' }, undefined),
    ).toThrow(/header value/);
    expect(() => requestHead('GET', '/', 'h', { ...headers, projectId: 'p\n' }, undefined)).toThrow(
      /header value/,
    );
  });
});

/** A TCP server whose `answer` decides, per request head received, what to do with the socket. */
interface RawNova {
  readonly port: number;
  /** Every request as received (head and body), in order. */
  readonly requests: string[];
  /** Connections accepted. */
  connections: number;
  close(): Promise<void>;
}

type Answer = (request: string, socket: net.Socket, index: number) => void;

const servers: net.Server[] = [];
const relays: NovaRelay[] = [];
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.close()));
  for (const server of servers.splice(0)) {
    server.close();
    // connections left open by a test
    (server as net.Server & { closeAll?: () => void }).closeAll?.();
  }
});

async function rawNova(answer: Answer): Promise<RawNova> {
  const sockets = new Set<net.Socket>();
  const nova: RawNova = {
    port: 0,
    requests: [],
    connections: 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = net.createServer((socket) => {
    nova.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = '';
    socket.on('data', (data) => {
      buffered += data.toString('latin1');
      // One request per head; a body is taken by its content-length.
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const length = Number(/content-length: (\d+)/.exec(buffered.slice(0, end))?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        const request = buffered.slice(0, end + 4 + length);
        buffered = buffered.slice(end + 4 + length);
        nova.requests.push(request);
        answer(request, socket, nova.requests.length - 1);
      }
    });
  });
  (server as net.Server & { closeAll?: () => void }).closeAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (nova as { port: number }).port = (server.address() as net.AddressInfo).port;
  return nova;
}

async function relayTo(port: number, options: Partial<NovaOptions> = {}): Promise<NovaRelay> {
  const relay = await NovaRelay.create({
    ...DEFAULT_NOVA,
    host: '127.0.0.1',
    port,
    sharedSecret: SECRET,
    timeoutMs: 2_000,
    ...options,
  });
  relays.push(relay);
  return relay;
}

type Outcome = { answer: RelayResponse } | { error: Error };

function ask(
  relay: NovaRelay,
  method = 'GET',
  path = '/latest/meta-data/instance-id',
  body?: Buffer,
): Promise<Outcome> {
  return new Promise((resolve) =>
    relay.forward(
      { method, path, body, ...IDENTITY },
      { relayed: (answer) => resolve({ answer }), failed: (error) => resolve({ error }) },
    ),
  );
}

const ok = (body: string, extra = ''): string =>
  `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;

function text(outcome: Outcome): string {
  if ('error' in outcome) throw outcome.error;
  return outcome.answer.body.toString();
}

describe('the relay client', () => {
  it('sends the head undici sent, host with the port, signed, and reuses one connection', async () => {
    const nova = await rawNova((_request, socket) => socket.write(ok('inst-1')));
    const relay = await relayTo(nova.port);
    for (let i = 0; i < 3; i++) expect(text(await ask(relay))).toBe('inst-1');
    expect(nova.connections).toBe(1);
    expect(nova.requests[0]).toBe(
      'GET /latest/meta-data/instance-id HTTP/1.1\r\n' +
        `host: 127.0.0.1:${nova.port}\r\nconnection: keep-alive\r\n` +
        'x-forwarded-for: 10.0.0.5\r\nx-instance-id: inst-1\r\nx-tenant-id: proj-1\r\n' +
        `x-instance-id-signature: ${signInstanceId(SECRET, 'inst-1')}\r\n\r\n`,
    );
  });

  it("follows a VM's new address or project under the same instance id", async () => {
    const nova = await rawNova((_request, socket) => socket.write(ok('x')));
    const relay = await relayTo(nova.port);
    await ask(relay);
    await new Promise((resolve) =>
      relay.forward(
        {
          method: 'GET',
          path: '/',
          body: undefined,
          sourceIp: '10.0.0.9',
          instanceId: 'inst-1',
          projectId: 'proj-2',
        },
        { relayed: resolve, failed: resolve },
      ),
    );
    expect(nova.requests[0]).toContain('x-forwarded-for: 10.0.0.5\r\n');
    expect(nova.requests[1]).toContain(
      'x-forwarded-for: 10.0.0.9\r\nx-instance-id: inst-1\r\nx-tenant-id: proj-2\r\n',
    );
  });

  it('sends a body after its head', async () => {
    const nova = await rawNova((_request, socket) => socket.write(ok('stored')));
    const relay = await relayTo(nova.port);
    expect(text(await ask(relay, 'POST', '/openstack/latest/password', Buffer.from('pw-blob')))).toBe(
      'stored',
    );
    expect(nova.requests[0]).toMatch(/\r\ncontent-length: 7\r\n\r\npw-blob$/);
  });

  it('passes status, type and encoding on, and reads answers that come in pieces', async () => {
    const nova = await rawNova((_request, socket) => {
      const bytes = Buffer.from(
        'HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n' +
          'Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n',
      );
      let at = 0;
      const next = (): void => {
        socket.write(bytes.subarray(at, at + 7));
        at += 7;
        if (at < bytes.length) setTimeout(next, 2);
      };
      next();
    });
    const relay = await relayTo(nova.port);
    const outcome = await ask(relay);
    expect(outcome).toEqual({
      answer: {
        status: 404,
        contentType: 'application/json',
        contentEncoding: 'gzip',
        body: Buffer.from('abcdefg'),
      },
    });
    expect(text(await ask(relay))).toBe('abcdefg'); // the chunked answer left the connection usable
    expect(nova.connections).toBe(1);
  });

  it('reads a body that ends with the connection, then opens a new one', async () => {
    const nova = await rawNova((_request, socket) => socket.end('HTTP/1.1 200 OK\r\n\r\nuntil the end'));
    const relay = await relayTo(nova.port);
    expect(text(await ask(relay))).toBe('until the end');
    expect(text(await ask(relay))).toBe('until the end');
    expect(nova.connections).toBe(2);
  });

  it('retries a GET once on a fresh connection when a kept-alive one was closed by nova', async () => {
    // The second request arrives on the connection of the first: nova hangs up
    // on it, as a server does with a keep-alive connection it has just timed out.
    const nova = await rawNova((_request, socket, index) => {
      if (index === 1) socket.destroy();
      else socket.write(ok(`answer ${index}`));
    });
    const relay = await relayTo(nova.port);
    expect(text(await ask(relay))).toBe('answer 0');
    expect(text(await ask(relay))).toBe('answer 2');
    expect(nova.connections).toBe(2);
    expect(nova.requests).toHaveLength(3);
  });

  it('does not retry a POST: 503', async () => {
    const nova = await rawNova((_request, socket, index) => {
      if (index === 1) socket.destroy();
      else socket.write(ok('x'));
    });
    const relay = await relayTo(nova.port);
    await ask(relay, 'POST', '/p', Buffer.from('a'));
    const outcome = await ask(relay, 'POST', '/p', Buffer.from('b'));
    expect('error' in outcome && outcome.error).toBeInstanceOf(ProxyNovaUnreachableError);
    expect(nova.requests).toHaveLength(2);
  });

  it('answers 503 after one retry when nova closes every connection mid-answer', async () => {
    const nova = await rawNova((_request, socket) =>
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\ncut'),
    );
    const relay = await relayTo(nova.port);
    const outcome = await ask(relay);
    expect('error' in outcome && outcome.error).toBeInstanceOf(ProxyNovaUnreachableError);
    expect(nova.requests).toHaveLength(2);
  });

  it('answers 503, without retry, to an answer that is not HTTP', async () => {
    const nova = await rawNova((_request, socket) => socket.write('SSH-2.0-OpenSSH\r\n\r\n'));
    const relay = await relayTo(nova.port);
    const outcome = await ask(relay);
    expect('error' in outcome && outcome.error).toBeInstanceOf(ProxyNovaUnreachableError);
    expect('error' in outcome && (outcome.error.cause as { code?: string }).code).toBe(
      'HPE_INVALID_CONSTANT',
    );
    expect(nova.requests).toHaveLength(1);
  });

  it('answers 500 to a status nova should not send, and for a path it cannot send', async () => {
    const nova = await rawNova((_request, socket) =>
      socket.write('HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n'),
    );
    const relay = await relayTo(nova.port);
    const outcome = await ask(relay);
    expect('error' in outcome && outcome.error).toBeInstanceOf(ProxyNovaBadResponseError);
    const refused = await ask(relay, 'GET', '/a b');
    expect('error' in refused && refused.error).toBeInstanceOf(ProxyNovaBadResponseError);
    expect(nova.requests).toHaveLength(1);
  });

  it('times out (504) when the head does not come, and when the body pauses', async () => {
    const silent = await rawNova(() => undefined);
    const relay = await relayTo(silent.port, { timeoutMs: 200 });
    const started = performance.now();
    const outcome = await ask(relay);
    const took = performance.now() - started;
    expect('error' in outcome && outcome.error).toBeInstanceOf(ProxyNovaTimeoutError);
    expect(took).toBeGreaterThanOrEqual(195);
    expect(took).toBeLessThan(1_500);

    const stalling = await rawNova((_request, socket) =>
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf'),
    );
    const relay2 = await relayTo(stalling.port, { timeoutMs: 200 });
    const stalled = await ask(relay2);
    expect('error' in stalled && stalled.error).toBeInstanceOf(ProxyNovaTimeoutError);
  });

  it('keeps a body that trickles in slower than the timeout in total but faster between pieces', async () => {
    const nova = await rawNova((_request, socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n');
      let sent = 0;
      const timer = setInterval(() => {
        socket.write('x');
        if (++sent === 6) clearInterval(timer);
      }, 100);
    });
    const relay = await relayTo(nova.port, { timeoutMs: 300 });
    expect(text(await ask(relay))).toBe('xxxxxx');
  });

  it('gives up connecting after connectTimeoutMs (503)', async () => {
    // A TLS client waits for a server hello that this server never sends.
    const mute = await rawNova(() => undefined);
    const relay = await relayTo(mute.port, {
      protocol: 'https',
      insecure: true,
      connectTimeoutMs: 200,
      timeoutMs: 5_000,
    });
    const started = performance.now();
    const outcome = await ask(relay);
    expect('error' in outcome && outcome.error).toBeInstanceOf(ProxyNovaUnreachableError);
    expect((('error' in outcome && outcome.error.cause) as { code?: string }).code).toBe(
      'ERR_NOVA_CONNECT_TIMEOUT',
    );
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it('answers 503 when nova refuses connections', async () => {
    const gone = await rawNova(() => undefined);
    await gone.close();
    const relay = await relayTo(gone.port);
    const outcome = await ask(relay);
    expect('error' in outcome && outcome.error).toBeInstanceOf(ProxyNovaUnreachableError);
    expect((('error' in outcome && outcome.error.cause) as { code?: string }).code).toBe('ECONNREFUSED');
  });

  it('opens at most `connections` connections; the others wait their turn', async () => {
    const nova = await rawNova((request, socket) =>
      setTimeout(() => socket.write(ok(request.split(' ')[1]!)), 20),
    );
    const relay = await relayTo(nova.port, { connections: 2 });
    const answers = await Promise.all(['/1', '/2', '/3', '/4', '/5'].map((p) => ask(relay, 'GET', p)));
    expect(answers.map(text)).toEqual(['/1', '/2', '/3', '/4', '/5']);
    expect(nova.connections).toBe(2);
  });

  it("does not reuse a connection past nova's Keep-Alive timeout, nor after HEAD or Connection: close", async () => {
    const nova = await rawNova((request, socket) => {
      if (request.startsWith('HEAD')) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n');
      else if (request.includes('/close')) socket.write(ok('c', 'Connection: close\r\n'));
      else socket.write(ok('k', 'Keep-Alive: timeout=1\r\n'));
    });
    const relay = await relayTo(nova.port);
    await ask(relay);
    await ask(relay);
    expect(nova.connections).toBe(2); // timeout=1: closed 1 s early, i.e. at once
    const head = await ask(relay, 'HEAD');
    expect('answer' in head && head.answer.body.length).toBe(0);
    await ask(relay, 'GET', '/close');
    await ask(relay, 'GET', '/close');
    expect(nova.connections).toBe(5);
  });

  it('finishes what is in flight on close, then refuses (503)', async () => {
    const nova = await rawNova((_request, socket) => setTimeout(() => socket.write(ok('late')), 50));
    const relay = await relayTo(nova.port);
    const inFlight = ask(relay);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await relay.close();
    expect(text(await inFlight)).toBe('late');
    const after = await ask(relay);
    expect('error' in after && after.error).toBeInstanceOf(ProxyNovaUnreachableError);
  });
});
