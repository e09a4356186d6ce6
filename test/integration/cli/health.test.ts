// `ovnmeta health` against a real admin endpoint (the agent's own server,
// with readiness toggled): exit 0 when /readyz says ready, 1 with one line
// saying why otherwise, 2 when the config leaves nothing to ask.
import { execa } from 'execa';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startAdminServer } from '../../../src/agent/admin-server.js';
import { readyzUrl } from '../../../src/cli/health.js';

const MAIN = resolve(import.meta.dirname, '../../../dist/cli/main.js');
let dir: string;
let why: string | undefined = 'Southbound database not synced';
let admin: Awaited<ReturnType<typeof startAdminServer>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ovnmeta-health-'));
  admin = await startAdminServer({
    host: '127.0.0.1',
    port: 0,
    registry: new Registry(),
    notReady: () => why,
  });
});
afterAll(async () => {
  await admin?.close();
  await rm(dir, { recursive: true, force: true });
});

const health = (...args: string[]) =>
  execa('node', [MAIN, 'health', ...args], { reject: false, timeout: 20_000 });

async function ini(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

/** A loopback port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('ovnmeta health', () => {
  test('finds the endpoint from [ovnmeta] metrics_bind: not ready -> 1 with the reason, ready -> 0', async () => {
    const file = await ini('agent.ini', `[ovnmeta]\nmetrics_bind = 127.0.0.1:${admin.port}\n`);
    why = 'first reconcile pass not done';
    const notReady = await health('--config-file', file);
    expect(notReady.exitCode).toBe(1);
    expect(notReady.stdout.trim().split('\n')).toHaveLength(1);
    expect(notReady.stdout).toContain('not ready: first reconcile pass not done');

    why = undefined;
    const ready = await health('--config-file', file);
    expect(ready.exitCode).toBe(0);
    expect(ready.stdout.trim()).toBe('ready');
  });

  test('reads --config-dir as the agent does (EDPM, openstack-helm): the later file wins', async () => {
    await mkdir(join(dir, 'conf.d'));
    await ini('conf.d/01-neutron.conf', `[ovnmeta]\nmetrics_bind = 127.0.0.1:${await deadPort()}\n`);
    await ini('conf.d/02-ovnmeta.conf', `[ovnmeta]\nmetrics_bind = 127.0.0.1:${admin.port}\n`);
    why = undefined;
    const ready = await health('--config-dir', join(dir, 'conf.d'));
    expect({ exit: ready.exitCode, out: ready.stdout.trim() }).toEqual({ exit: 0, out: 'ready' });
  });

  test('--url wins over the files; nothing listening -> 1 and one line naming the URL', async () => {
    why = undefined;
    const port = await deadPort();
    const file = await ini('dead.ini', `[ovnmeta]\nmetrics_bind = 127.0.0.1:${port}\n`);
    const viaUrl = await health('--config-file', file, '--url', `http://127.0.0.1:${admin.port}/readyz`);
    expect(viaUrl.exitCode).toBe(0);

    const dead = await health('--config-file', file);
    expect(dead.exitCode).toBe(1);
    expect(dead.stdout.trim().split('\n')).toHaveLength(1);
    expect(dead.stdout).toContain(`http://127.0.0.1:${port}/readyz`);
    expect(dead.stdout).toContain('ECONNREFUSED');
  });

  test('metrics_bind empty -> exit 2 naming the option and the file', async () => {
    const file = await ini('off.ini', '[ovnmeta]\nmetrics_bind =\n');
    const r = await health('--config-file', file);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('[ovnmeta] metrics_bind');
    expect(r.stderr).toContain(file);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('a bad metrics_bind is a config error (exit 2), a bad flag a usage error (exit 2)', async () => {
    const file = await ini('bad.ini', '[ovnmeta]\nmetrics_bind = nowhere\n');
    const bad = await health('--config-file', file);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('metrics_bind');
    const flag = await health('--bogus');
    expect(flag.exitCode).toBe(2);
  });

  test('a wildcard bind is asked on loopback', () => {
    expect(readyzUrl({ host: '0.0.0.0', port: 9105 })).toBe('http://127.0.0.1:9105/readyz');
    expect(readyzUrl({ host: '::', port: 9105 })).toBe('http://[::1]:9105/readyz');
    expect(readyzUrl({ host: 'fd00::1', port: 1 })).toBe('http://[fd00::1]:1/readyz');
  });
});
