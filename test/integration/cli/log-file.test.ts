// `ovnmeta agent` with [DEFAULT] log_file / log_dir: the JSON lines go to the
// file (appended), and a file the agent cannot open is a configuration error
// naming the option and the file it was set in (exit 2, no stack trace).
import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const MAIN = resolve(import.meta.dirname, '../../../dist/cli/main.js');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ovnmeta-logfile-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// An agent that cannot reach its OVS db keeps retrying: long enough to log.
const ini = (extra: string) =>
  [
    '[DEFAULT]',
    extra,
    `state_path = ${dir}`,
    'metadata_proxy_shared_secret = s3cret-logfile',
    '[ovs]',
    `ovsdb_connection = unix:${dir}/no-ovs.sock`,
    '[ovn]',
    `ovn_sb_connection = unix:${dir}/no-sb.sock`,
    '[ovnmeta]',
    'metrics_bind =',
  ].join('\n');

async function runUntilLogged(file: string, path: string): Promise<{ stdout: string; log: string }> {
  const child = execa('node', [MAIN, 'agent', '--config-file', file], { reject: false, timeout: 20_000 });
  let log = '';
  for (let i = 0; i < 200 && !log.includes('configuration read'); i++) {
    await new Promise((r) => setTimeout(r, 50));
    log = await readFile(path, 'utf8').catch(() => '');
  }
  child.kill('SIGTERM');
  const r = await child;
  return { stdout: r.stdout, log };
}

describe('[DEFAULT] log_file and log_dir', () => {
  test('log_dir + relative log_file: JSON lines appended there, none on stdout', async () => {
    await writeFile(join(dir, 'agent.log'), 'kept\n');
    const file = join(dir, 'a.ini');
    await writeFile(file, ini(`log_dir = ${dir}\nlog_file = agent.log`));
    const { stdout, log } = await runUntilLogged(file, join(dir, 'agent.log'));
    const lines = log.trim().split('\n');
    expect(lines[0]).toBe('kept');
    const first = JSON.parse(lines[1]!) as { msg: string; config_files: string[] };
    expect(first).toMatchObject({ msg: 'configuration read', config_files: [file] });
    expect(stdout).toBe('');
    expect(log).not.toContain('s3cret-logfile');
  });

  test('a log_file in a missing directory: exit 2 naming log_file and the file', async () => {
    const file = join(dir, 'b.ini');
    await writeFile(file, ini(`log_file = ${dir}/missing/agent.log`));
    const r = await execa('node', [MAIN, 'agent', '--config-file', file], { reject: false, timeout: 20_000 });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(
      /^ovnmeta: \[DEFAULT\] log_file = ".*missing\/agent\.log" in .*b\.ini: .*ENOENT/,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

// use_journal and use_syslog against a real systemd-journald, in a private
// mount namespace (test/support/journald-sandbox.sh) so that the host's
// journal and /dev stay untouched. journald is also the syslog daemon there.
const SANDBOX = resolve(import.meta.dirname, '../../support/journald-sandbox.sh');

interface JournalEntry {
  MESSAGE: string;
  PRIORITY: string;
  SYSLOG_IDENTIFIER: string;
  SYSLOG_FACILITY?: string;
  _TRANSPORT: string;
}

async function journalOf(file: string): Promise<{ entries: JournalEntry[]; stdout: string }> {
  const out = join(dir, `journal-${Date.now()}.json`);
  const r = await execa(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      SANDBOX,
      out,
      'configuration read',
      '20',
      'node',
      MAIN,
      'agent',
      '--config-file',
      file,
    ],
    { reject: false, timeout: 40_000 },
  );
  const text = await readFile(out, 'utf8');
  const entries = text
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as JournalEntry)
    .filter((e) => e.SYSLOG_IDENTIFIER === 'ovnmeta');
  return { entries, stdout: r.stdout };
}

describe('[DEFAULT] use_journal and use_syslog, with a real journald', () => {
  test('use_journal: every JSON line is a journal entry (stdout transport, severity as PRIORITY), none on stdout', async () => {
    const file = join(dir, 'journal.ini');
    await writeFile(file, ini('use_journal = true'));
    const { entries, stdout } = await journalOf(file);
    const read = entries.find((e) => e.MESSAGE.includes('"msg":"configuration read"'));
    expect(read).toMatchObject({ _TRANSPORT: 'stdout', PRIORITY: '6' });
    expect(JSON.parse(read!.MESSAGE)).toMatchObject({ level: 30, config_files: [file] });
    expect(stdout).toBe('');
    expect(JSON.stringify(entries)).not.toContain('s3cret-logfile');
  });

  test('use_syslog with syslog_log_facility: entries through /dev/log at that facility, stdout kept', async () => {
    const file = join(dir, 'syslog.ini');
    await writeFile(file, ini('use_syslog = true\nsyslog_log_facility = LOG_LOCAL3'));
    const { entries, stdout } = await journalOf(file);
    const read = entries.find((e) => e.MESSAGE.includes('"msg":"configuration read"'));
    expect(read).toMatchObject({ _TRANSPORT: 'syslog', PRIORITY: '6', SYSLOG_FACILITY: '19' });
    expect(JSON.parse(read!.MESSAGE)).toMatchObject({ msg: 'configuration read' });
    expect(stdout).toContain('"msg":"configuration read"');
  });

  test('use_journal without a journald: exit 2 naming use_journal and its file', async () => {
    // This machine runs no journald on the host (the test checks it is so).
    expect(await readFile('/run/systemd/journal/stdout').catch((e: NodeJS.ErrnoException) => e.code)).toBe(
      'ENOENT',
    );
    const file = join(dir, 'nojournal.ini');
    await writeFile(file, ini('use_journal = true'));
    const r = await execa('node', [MAIN, 'agent', '--config-file', file], { reject: false, timeout: 20_000 });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(
      /^ovnmeta: \[DEFAULT\] use_journal = "true" in .*nojournal\.ini: a running systemd-journald/,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
