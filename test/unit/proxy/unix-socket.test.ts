// metadata_proxy_socket: haproxy in front, so X-OVN-Network-ID and
// X-Forwarded-For are trusted here (and only here).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'undici';

import { socketModeBits } from '../../../src/proxy/index.js';
import { startHarness, type Harness } from './harness.js';

const self = { uid: 1000, gid: 1000, userName: 'neutron', groupName: 'neutron' };

describe('socketModeBits (neutron _get_socket_mode)', () => {
  it('maps explicit modes', () => {
    expect(socketModeBits('user')).toBe(0o644);
    expect(socketModeBits('group')).toBe(0o664);
    expect(socketModeBits('all')).toBe(0o666);
  });
  it('deduces user mode for an unset, root or own proxy user', () => {
    for (const user of [undefined, '', '0', 'root', '1000', 'neutron']) {
      expect(socketModeBits('deduce', { user, group: 'other' }, self)).toBe(0o644);
    }
  });
  it('deduces group mode for another user in an unset or own group, else all', () => {
    expect(socketModeBits('deduce', { user: 'haproxy' }, self)).toBe(0o664);
    expect(socketModeBits('deduce', { user: 'haproxy', group: 'neutron' }, self)).toBe(0o664);
    expect(socketModeBits('deduce', { user: 'haproxy', group: '1000' }, self)).toBe(0o664);
    expect(socketModeBits('deduce', { user: 'haproxy', group: 'haproxy' }, self)).toBe(0o666);
  });
  it('rejects an unknown mode with PROXY_INVALID_OPTIONS', () => {
    expect(() => socketModeBits('everyone' as 'all')).toThrow(
      expect.objectContaining({ code: 'PROXY_INVALID_OPTIONS' }),
    );
  });
});

describe('listenUnixSocket', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovnmeta-unix-'));
  const path = join(dir, 'metadata_proxy');
  let h: Harness;
  let client: Client;
  beforeAll(async () => {
    h = await startHarness();
    h.index.upsertPort({
      key: 'vm',
      network: 'net-u',
      mac: 'fa:16:3e:00:00:10',
      ips: ['10.0.0.5'],
      instanceId: 'inst-u',
      projectId: 'proj-u',
      bound: true,
    });
    // A stale socket file, as a killed agent leaves it.
    // A stale socket file, as a killed agent leaves it (bound, then the
    // process is gone without unlinking it).
    execFileSync('python3', [
      '-c',
      'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])',
      path,
    ]);
    expect(statSync(path).isSocket()).toBe(true);
    await h.proxy.listenUnixSocket(path, 'all');
    client = new Client('http://localhost', { socketPath: path });
  });
  afterAll(async () => {
    await client.close();
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = async (headers: Record<string, string | string[]>) => {
    const res = await client.request({ method: 'GET', path: '/latest/meta-data/instance-id', headers });
    return { status: res.statusCode, text: await res.body.text() };
  };

  it('replaces a stale socket and applies the mode', () => {
    expect(statSync(path).isSocket()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o666);
  });

  it('serves by X-OVN-Network-ID and X-Forwarded-For', async () => {
    expect(await get({ 'x-ovn-network-id': 'net-u', 'x-forwarded-for': '10.0.0.5' })).toEqual({
      status: 200,
      text: 'inst-u',
    });
    expect(h.nova.requests.at(-1)!.headers['x-forwarded-for']).toBe('10.0.0.5');
  });

  it('takes the values haproxy appended after any the VM sent', async () => {
    const reply = await get({
      'x-ovn-network-id': ['net-forged', 'net-u'],
      'x-forwarded-for': ['10.9.9.9', '10.0.0.5'],
    });
    expect(reply).toEqual({ status: 200, text: 'inst-u' });
  });

  it('answers 400 without the headers and 404 for an unknown source', async () => {
    expect((await get({})).status).toBe(400);
    expect(await get({ 'x-ovn-network-id': 'net-u', 'x-forwarded-for': '10.0.0.99' })).toEqual({
      status: 404,
      text: 'Instance was not found on network net-u.',
    });
  });

  it('refuses a path that another process serves, or that is not a socket', async () => {
    await expect(h.proxy.listenUnixSocket(path, 'user')).rejects.toMatchObject({
      code: 'PROXY_LISTEN_FAILED',
    });
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    await expect(h.proxy.listenUnixSocket(file, 'user')).rejects.toMatchObject({
      code: 'PROXY_LISTEN_FAILED',
    });
  });
});
