// A listener being closed (a restart: the agent's copy of the socket goes,
// the holder's stays) answers the connections it already accepted, even one
// whose request has not arrived yet, and closes each after its answer; only
// connections idle between two requests are cut.
import net from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loopbackVm, startHarness, type Harness } from './harness.js';

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the server sends until it closes the connection; 'RESET' when it resets it. */
function collect(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    socket.setEncoding('latin1').on('data', (d: string) => (got += d));
    socket.on('error', () => resolve('RESET'));
    socket.on('close', () => resolve(got));
  });
}

const REQUEST = 'GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n';

describe('closing a listener', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ proxy: { limits: { drainMs: 2_000 } } });
    loopbackVm(h.index, 'drain', 'inst-drain');
  });
  afterAll(() => h.close());

  it('answers a connection accepted before its request came, then closes it; cuts an idle keep-alive one', async () => {
    const port = await h.port('drain');
    // A keep-alive connection that has had its answer and now sits idle.
    const idle = await connect(port);
    const idleText = collect(idle);
    idle.write(REQUEST);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // A fresh connection: accepted by the listener, nothing sent yet.
    const fresh = await connect(port);
    const freshText = collect(fresh);
    await new Promise((resolve) => setTimeout(resolve, 100));

    const removed = h.proxy.removeListener('drain');
    await new Promise((resolve) => setTimeout(resolve, 100));
    fresh.write(REQUEST); // the request arrives after the close began
    expect(await removed).toBe('removed');

    const answer = await freshText;
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(answer.endsWith('\r\n\r\ninst-drain')).toBe(true);
    // The idle one got its first answer, then was cut (no second answer).
    const idleAnswer = await idleText;
    expect(idleAnswer.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(1);
  });
});
