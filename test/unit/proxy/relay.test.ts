import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { signInstanceId } from '../../../src/proxy/index.js';
import { expectedSignature } from '../../support/fake-nova.js';
import { fetchFrom, loopbackVm, SECRET, startHarness, type Harness } from './harness.js';

describe('relay to nova', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    loopbackVm(h.index, 'net-a', 'inst-a', 'proj-a');
    loopbackVm(h.index, 'net-b', 'inst-b', 'proj-b');
  });
  afterAll(() => h.close());

  it('signs the instance id as nova expects', () => {
    expect(signInstanceId(SECRET, 'inst-a')).toBe(expectedSignature(SECRET, 'inst-a'));
    expect(signInstanceId(SECRET, 'inst-a')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('serves the instance its own metadata with exactly four headers of ours', async () => {
    h.nova.requests.length = 0;
    const reply = await h.get('net-a', '/latest/meta-data/instance-id');
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('inst-a');
    const seen = h.nova.requests[0]!;
    expect(seen.signatureValid).toBe(true);
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-instance-id']).toBe('inst-a');
    expect(seen.headers['x-tenant-id']).toBe('proj-a');
    const ours = seen.headerNames.filter((n) => !['host', 'connection', 'content-length'].includes(n));
    expect(ours.sort()).toEqual([
      'x-forwarded-for',
      'x-instance-id',
      'x-instance-id-signature',
      'x-tenant-id',
    ]);
  });

  it('passes path, query, method and body through', async () => {
    h.nova.requests.length = 0;
    const port = await h.port('net-a');
    const reply = await fetchFrom(port, '/openstack/latest/password?x=1&y=%20z', {
      method: 'POST',
      body: 'secret-password-blob',
      headers: { 'content-type': 'application/json' },
    });
    expect(reply.status).toBe(200);
    const seen = h.nova.requests[0]!;
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/openstack/latest/password?x=1&y=%20z');
    expect(seen.body.toString()).toBe('secret-password-blob');
    expect(seen.headers['content-type']).toBeUndefined();
  });

  it('ignores every forged identity header', async () => {
    h.nova.requests.length = 0;
    const reply = await h.get('net-a', '/openstack/latest/meta_data.json', {
      'X-OVN-Network-ID': 'net-b',
      'X-Forwarded-For': '10.9.9.9',
      'X-Instance-ID': 'inst-b',
      'X-Tenant-ID': 'proj-b',
      'X-Instance-ID-Signature': expectedSignature(SECRET, 'inst-b'),
      'X-Request-Id': 'forged',
    });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text)).toMatchObject({ uuid: 'inst-a', project_id: 'proj-a' });
    const seen = h.nova.requests[0]!;
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-instance-id']).toBe('inst-a');
    expect(seen.headerNames).not.toContain('x-ovn-network-id');
    expect(seen.headerNames).not.toContain('x-request-id');
  });

  it('serves each network its own VM even at the same address', async () => {
    expect((await h.get('net-a', '/latest/meta-data/instance-id')).text).toBe('inst-a');
    expect((await h.get('net-b', '/latest/meta-data/instance-id')).text).toBe('inst-b');
  });

  it('answers 404 naming the network when no bound port owns the source', async () => {
    const reply = await h.get('net-none', '/latest/meta-data/instance-id');
    expect(reply.status).toBe(404);
    expect(reply.text).toBe('Instance was not found on network net-none.');
  });

  it('answers 404 and logs the ports when several bound ports own the source', async () => {
    loopbackVm(h.index, 'net-dup', 'inst-1');
    h.index.upsertPort({
      key: 'dup-2',
      network: 'net-dup',
      mac: 'fa:16:3e:00:00:02',
      ips: ['127.0.0.1'],
      instanceId: 'inst-2',
      projectId: 'p',
      bound: true,
    });
    const reply = await h.get('net-dup', '/latest/meta-data/instance-id');
    expect(reply.status).toBe(404);
    const line = h.logs.find((l) => l.level === 50 && l.network === 'net-dup');
    expect(line?.ports).toEqual(['dup-2', 'net-dup-inst-1']);
  });

  it('writes one access log line per request, without the secret', async () => {
    h.logs.length = 0;
    await h.get('net-a', '/latest/meta-data/instance-id?q=1');
    const access = h.logs.filter((l) => l.msg === 'metadata request');
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({
      level: 30,
      network: 'net-a',
      instance: 'inst-a',
      source: '127.0.0.1',
      method: 'GET',
      path: '/latest/meta-data/instance-id?q=1',
      status: 200,
    });
    expect(typeof access[0]!.ms).toBe('number');
    expect(JSON.stringify(h.logs)).not.toContain(SECRET);
  });
});
