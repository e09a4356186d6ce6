// `ovnmeta agent` with a bad config: a clear message naming the option, the
// file and what is expected, exit 2, before touching anything.
import { execa } from 'execa';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
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

// Every command-line mistake: exit 2, one line naming the option, no stack.
describe('ovnmeta agent|cleanup|verify: command-line mistakes are usage errors', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown option', ['--config-dirr', '/tmp'], /unknown option --config-dirr/],
    ['missing value at the end', ['--config-file'], /option --config-file needs a value/],
    [
      'missing value before another option',
      ['--config-dir', '--config-file=/x'],
      /option --config-dir needs a value/,
    ],
    ['empty value', ['--config-file='], /option --config-file needs a value/],
    ['a positional argument', ['extra'], /unexpected argument extra/],
    [
      'a --config-dir that does not exist',
      ['--config-dir', '/nonexistent/ovnmeta.d'],
      /--config-dir \/nonexistent\/ovnmeta\.d does not exist/,
    ],
  ];
  for (const command of ['agent', 'cleanup', 'verify']) {
    for (const [what, args, message] of cases) {
      test(`${command}: ${what}`, async () => {
        const r = await execa('node', [MAIN, command, ...args], {
          reject: false,
          timeout: 20_000,
          env: { HOME: dir },
        });
        expect(r.exitCode).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).not.toMatch(/\n\s+at |TypeError|ERR_PARSE_ARGS/);
      });
    }
  }
});

describe('where the configuration comes from', () => {
  test('--config-dir DIR reads its *.conf (not other names), after the --config-file before it', async () => {
    const d = join(dir, 'agent.conf.d');
    await mkdir(d, { recursive: true });
    await writeFile(join(d, '10-bad.conf'), '[DEFAULT]\nnova_metadata_port = ten\n');
    await writeFile(join(d, '20-bad.conf'), '[ovn]\novsdb_probe_interval = twenty\n');
    await writeFile(join(d, 'ignored.ini'), '[DEFAULT]\nmetadata_backlog = nope\n');
    const before = join(dir, 'before.conf');
    await writeFile(before, '[DEFAULT]\nnova_metadata_port = 8775\n');
    const r = await execa('node', [MAIN, 'agent', '--config-file', before, '--config-dir', d], {
      reject: false,
      timeout: 20_000,
      env: { HOME: dir },
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`nova_metadata_port = "ten" in ${join(d, '10-bad.conf')}`);
    expect(r.stderr).toContain(`ovsdb_probe_interval = "twenty" in ${join(d, '20-bad.conf')}`);
    expect(r.stderr).not.toContain('metadata_backlog');
  });

  test('no arguments: /etc/neutron/neutron.conf and /etc/neutron/neutron.conf.d/*.conf are found (EDPM)', async () => {
    // A private mount namespace with a tmpfs on /etc/neutron: the host's own
    // /etc/neutron is neither read nor touched. HOME has no .neutron.
    const home = join(dir, 'empty-home');
    await mkdir(home, { recursive: true });
    const script = [
      'set -e',
      'mount -t tmpfs tmpfs /etc/neutron',
      'mkdir /etc/neutron/neutron.conf.d',
      "printf '[DEFAULT]\\nnova_metadata_port = from-etc\\n' > /etc/neutron/neutron.conf",
      "printf '[DEFAULT]\\nagent_down_time = from-etc-dir\\n' > /etc/neutron/neutron.conf.d/10-x.conf",
      "printf '[DEFAULT]\\nmetadata_backlog = not-a-conf\\n' > /etc/neutron/neutron.conf.d/20-x.ini",
      `exec node ${MAIN} agent`,
    ].join('\n');
    const r = await execa('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], {
      reject: false,
      timeout: 20_000,
      env: { HOME: home },
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('nova_metadata_port = "from-etc" in /etc/neutron/neutron.conf');
    expect(r.stderr).toContain('agent_down_time = "from-etc-dir" in /etc/neutron/neutron.conf.d/10-x.conf');
    expect(r.stderr).not.toContain('metadata_backlog');
  });

  test('no arguments: ~/.neutron/neutron.conf and ~/.neutron/neutron.conf.d/*.conf are found, as oslo finds them', async () => {
    const home = join(dir, 'home');
    await mkdir(join(home, '.neutron', 'neutron.conf.d'), { recursive: true });
    await writeFile(join(home, '.neutron', 'neutron.conf'), '[DEFAULT]\nnova_metadata_port = from-home\n');
    await writeFile(
      join(home, '.neutron', 'neutron.conf.d', '50-x.conf'),
      '[DEFAULT]\nagent_down_time = from-dir\n',
    );
    const r = await execa('node', [MAIN, 'agent'], { reject: false, timeout: 20_000, env: { HOME: home } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(
      `nova_metadata_port = "from-home" in ${join(home, '.neutron', 'neutron.conf')}`,
    );
    expect(r.stderr).toContain(
      `agent_down_time = "from-dir" in ${join(home, '.neutron', 'neutron.conf.d', '50-x.conf')}`,
    );
  });
});
