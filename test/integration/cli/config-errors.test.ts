// `ovnmeta agent` with a bad config: a clear message naming the option, the
// file and what is expected, exit 2, before touching anything.
import { execa } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const MAIN = resolve(import.meta.dirname, '../../../dist/cli/main.js');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ovnmeta-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function agentWith(files: Record<string, string>) {
  const paths: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    const p = join(dir, name);
    await writeFile(p, text);
    paths.push('--config-file', p);
  }
  return execa('node', [MAIN, 'agent', ...paths], { reject: false, timeout: 20_000 });
}

describe('ovnmeta agent: configuration errors', () => {
  test('a bad value names option, section, file and what is expected; exit 2', async () => {
    const r = await agentWith({
      'neutron.conf': '[DEFAULT]\nmetadata_proxy_shared_secret = s3cr#t\n',
      'metadata.ini': '[DEFAULT]\nnova_metadata_port = eighty\n[ovn]\novsdb_probe_interval = -5\n',
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('nova_metadata_port');
    expect(r.stderr).toContain(join(dir, 'metadata.ini'));
    expect(r.stderr).toMatch(/port/i);
    expect(r.stderr).toContain('ovsdb_probe_interval');
    expect(r.stderr).not.toContain('s3cr#t');
  });

  test('a missing file is named; exit 2', async () => {
    const r = await execa('node', [MAIN, 'agent', '--config-file', join(dir, 'nope.ini')], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(join(dir, 'nope.ini'));
  });

  test('unknown sections and options of neutron files are accepted: it starts and waits for OVS', async () => {
    const text =
      '[DEFAULT]\ncore_plugin = ml2\nauth_strategy = keystone\n[keystone_authtoken]\nwww_authenticate_uri = http://x\n' +
      '[ovs]\novsdb_connection = unix:/nonexistent/db.sock\novsdb_timeout = 10\n[ovnmeta]\nmetrics_bind =\n';
    await writeFile(join(dir, 'ok.conf'), text);
    const r = await execa('node', [MAIN, 'agent', '--config-file', join(dir, 'ok.conf')], {
      reject: false,
      timeout: 3_000,
    });
    expect(r.timedOut).toBe(true); // still running: no config error
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('ovnmeta agent starting');
  });
});
