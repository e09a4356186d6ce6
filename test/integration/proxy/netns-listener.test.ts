// The proxy serving real guests in real network namespaces (root; no OVN):
// a VM namespace curls 169.254.169.254 and [fe80::a9fe:a9fe%dev] and must get
// its own instance id, whatever headers it forges.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createMetadataProxy, IdentityIndex, type MetadataProxy } from '../../../src/proxy/index.js';
import { expectedSignature, startFakeNova, type FakeNova } from '../../support/fake-nova.js';
import { curlFromVm, makeNetwork, removeAll, type TestNetwork } from './netns.js';

const run = promisify(execFile);
const SECRET = 'integration-secret';
const META = 'http://169.254.169.254/latest/meta-data/instance-id';

describe('metadata proxy in network namespaces', () => {
  let nova: FakeNova;
  let proxy: MetadataProxy;
  const index = new IdentityIndex();
  const logs: Record<string, unknown>[] = [];
  let a: TestNetwork;
  let b: TestNetwork;
  let c: TestNetwork;
  let squatter: ChildProcess | undefined;
  const timings: number[] = [];

  beforeAll(async () => {
    // a and b: same VM address, different networks.
    a = await makeNetwork('a', 1, 'fa:16:3e:00:0a:05');
    b = await makeNetwork('b', 1, 'fa:16:3e:00:0b:05');
    c = await makeNetwork('c', 3, 'fa:16:3e:00:0c:05');
    for (const [net, instance] of [
      [a, 'inst-a'],
      [b, 'inst-b'],
      [c, 'inst-c'],
    ] as const) {
      index.upsertPort({
        key: `${instance}-port`,
        network: net.network,
        mac: net.vmMac,
        ips: [net.vmIp],
        instanceId: instance,
        projectId: `proj-${instance}`,
        bound: true,
      });
    }
    nova = await startFakeNova({ secret: SECRET });
    proxy = await createMetadataProxy({
      identity: index,
      nova: { host: nova.host, port: nova.port, sharedSecret: SECRET },
      logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
    });
    // c's port 80 is held by someone else (a leftover haproxy, say).
    squatter = spawn(
      'ip',
      [
        'netns',
        'exec',
        c.namespace,
        'python3',
        '-c',
        'import socket,time; s=socket.socket(); s.bind(("169.254.169.254",80)); s.listen(); print("up",flush=True); time.sleep(600)',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise((resolve) => squatter!.stdout!.once('data', resolve));
  });

  afterAll(async () => {
    if (squatter?.pid !== undefined) squatter.kill('SIGKILL');
    await proxy?.close();
    await nova?.close();
    await removeAll();
    if (timings.length > 0)
      console.info(`ensureListener per namespace: ${timings.map((t) => t.toFixed(0)).join(', ')} ms`);
  });

  it('opens listeners in each namespace, one failing without harming the others', async () => {
    const started = performance.now();
    const results = await Promise.allSettled([
      proxy.ensureListener({ network: a.network, namespace: a.namespace, ipv6Device: a.device }),
      proxy.ensureListener({ network: b.network, namespace: b.namespace }),
      proxy.ensureListener({ network: c.network, namespace: c.namespace }),
    ]);
    timings.push(performance.now() - started);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 'created' });
    expect(results[1]).toEqual({ status: 'fulfilled', value: 'created' });
    expect(results[2]).toMatchObject({
      status: 'rejected',
      reason: {
        code: 'PROXY_LISTEN_FAILED',
        retryable: true,
        target: c.namespace,
        address: '169.254.169.254:80',
      },
    });
    expect(
      proxy
        .listeners()
        .map((l) => l.network)
        .sort(),
    ).toEqual([a.network, b.network].sort());
  });

  it('serves each VM its own instance id, also at the same address on another network', async () => {
    expect(await curlFromVm(a, META)).toEqual({ status: 200, body: 'inst-a' });
    expect(await curlFromVm(b, META)).toEqual({ status: 200, body: 'inst-b' });
    const seen = nova.requests.at(-1)!;
    expect(seen.headers['x-forwarded-for']).toBe(b.vmIp);
    expect(seen.headers['x-instance-id-signature']).toBe(expectedSignature(SECRET, 'inst-b'));
  });

  it('ignores forged identity headers', async () => {
    const forged = await curlFromVm(a, META, [
      `X-OVN-Network-ID: ${b.network}`,
      'X-Forwarded-For: 10.213.3.5',
      'X-Instance-ID: inst-c',
      'X-Tenant-ID: proj-inst-c',
      `X-Instance-ID-Signature: ${expectedSignature(SECRET, 'inst-c')}`,
    ]);
    expect(forged).toEqual({ status: 200, body: 'inst-a' });
    expect(nova.requests.at(-1)!.headers['x-instance-id']).toBe('inst-a');
  });

  it('serves IPv6 guests on [fe80::a9fe:a9fe%dev], identified by the MAC in their link-local address', async () => {
    const reply = await curlFromVm(a, `http://[fe80::a9fe:a9fe%${a.vmDevice}]/latest/meta-data/instance-id`);
    expect(reply).toEqual({ status: 200, body: 'inst-a' });
    expect(String(nova.requests.at(-1)!.headers['x-forwarded-for'])).toMatch(/^fe80::f816:3eff:fe00:a05$/);
    // b was opened without IPv6: nothing listens there.
    expect((await curlFromVm(b, `http://[fe80::a9fe:a9fe%${b.vmDevice}]/`)).status).toBe(0);
  });

  it('answers 404 to a VM whose port is not bound', async () => {
    index.upsertPort({
      key: 'inst-b-port',
      network: b.network,
      mac: b.vmMac,
      ips: [b.vmIp],
      instanceId: 'inst-b',
      projectId: 'proj-inst-b',
      bound: false,
    });
    expect(await curlFromVm(b, META)).toEqual({
      status: 404,
      body: `Instance was not found on network ${b.network}.`,
    });
    index.upsertPort({
      key: 'inst-b-port',
      network: b.network,
      mac: b.vmMac,
      ips: [b.vmIp],
      instanceId: 'inst-b',
      projectId: 'proj-inst-b',
      bound: true,
    });
    expect(await curlFromVm(b, META)).toEqual({ status: 200, body: 'inst-b' });
  });

  it('adds and drops the IPv6 listener on update', async () => {
    expect(
      await proxy.ensureListener({ network: b.network, namespace: b.namespace, ipv6Device: b.device }),
    ).toBe('updated');
    expect(
      await curlFromVm(b, `http://[fe80::a9fe:a9fe%${b.vmDevice}]/latest/meta-data/instance-id`),
    ).toEqual({
      status: 200,
      body: 'inst-b',
    });
    expect(await proxy.ensureListener({ network: b.network, namespace: b.namespace })).toBe('updated');
    expect((await curlFromVm(b, `http://[fe80::a9fe:a9fe%${b.vmDevice}]/`)).status).toBe(0);
    expect(await curlFromVm(b, META)).toEqual({ status: 200, body: 'inst-b' });
    expect(await proxy.ensureListener({ network: b.network, namespace: b.namespace })).toBe('unchanged');
  });

  it('closes and reopens a listener (as after an agent restart)', async () => {
    expect(await proxy.removeListener(a.network)).toBe('removed');
    expect((await curlFromVm(a, META)).status).toBe(0);
    const started = performance.now();
    expect(
      await proxy.ensureListener({ network: a.network, namespace: a.namespace, ipv6Device: a.device }),
    ).toBe('created');
    timings.push(performance.now() - started);
    expect(await curlFromVm(a, META)).toEqual({ status: 200, body: 'inst-a' });
  });

  it('serves c once its port is free again (the failure was retryable)', async () => {
    squatter!.kill('SIGKILL');
    await new Promise((resolve) => squatter!.once('exit', resolve));
    const started = performance.now();
    expect(await proxy.ensureListener({ network: c.network, namespace: c.namespace })).toBe('created');
    timings.push(performance.now() - started);
    expect(await curlFromVm(c, META)).toEqual({ status: 200, body: 'inst-c' });
  });

  it('waits for IPv6 duplicate address detection before binding fe80::a9fe:a9fe', async () => {
    const d = await makeNetwork('d', 4, 'fa:16:3e:00:0d:05', { dad: true });
    index.upsertPort({
      key: 'inst-d-port',
      network: d.network,
      mac: d.vmMac,
      ips: [d.vmIp],
      instanceId: 'inst-d',
      projectId: 'proj-inst-d',
      bound: true,
    });
    const { stdout } = await run('ip', ['-n', d.namespace, '-6', 'addr', 'show', 'dev', d.device]);
    expect(stdout).toMatch(/fe80::a9fe:a9fe\/128 scope link tentative/);
    // Without waiting, binding a tentative address fails (EADDRNOTAVAIL)...
    const impatient = await createMetadataProxy({
      identity: index,
      nova: { host: nova.host, port: nova.port, sharedSecret: SECRET },
      listen: { dadWaitMs: 0 },
    });
    try {
      await expect(
        impatient.ensureListener({ network: d.network, namespace: d.namespace, ipv6Device: d.device }),
      ).rejects.toMatchObject({ code: 'PROXY_LISTEN_FAILED', cause: { code: 'EADDRNOTAVAIL' } });
    } finally {
      await impatient.close();
    }
    // ...and with the default wait it succeeds once DAD is over.
    expect(
      await proxy.ensureListener({ network: d.network, namespace: d.namespace, ipv6Device: d.device }),
    ).toBe('created');
    const reply = await curlFromVm(d, `http://[fe80::a9fe:a9fe%${d.vmDevice}]/latest/meta-data/instance-id`);
    expect(reply).toEqual({ status: 200, body: 'inst-d' });
  });

  it('pins a deleted namespace until removeListener (so remove first, then delete)', async () => {
    const e = await makeNetwork('e', 5, 'fa:16:3e:00:0e:05');
    await proxy.ensureListener({ network: e.network, namespace: e.namespace });
    await run('ip', ['netns', 'del', e.namespace]);
    // The namespace lives on while our socket holds it: its veth peer stays.
    const vethPresent = async (): Promise<boolean> =>
      (await run('ip', ['-n', e.vmNamespace, '-br', 'link'])).stdout.includes(e.vmDevice);
    expect(await vethPresent()).toBe(true);
    expect(await proxy.removeListener(e.network)).toBe('removed');
    // Namespace teardown is asynchronous in the kernel (cleanup_net).
    for (let tries = 0; tries < 50 && (await vethPresent()); tries++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await vethPresent()).toBe(false);
  });

  it('logged one access line per request, with network, instance and source', () => {
    const access = logs.filter((l) => l.msg === 'metadata request');
    expect(access.length).toBeGreaterThanOrEqual(10);
    expect(access.find((l) => l.instance === 'inst-a')).toMatchObject({
      network: a.network,
      source: a.vmIp,
      status: 200,
    });
    expect(JSON.stringify(logs)).not.toContain(SECRET);
  });
});
