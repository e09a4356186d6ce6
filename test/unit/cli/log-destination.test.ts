// [DEFAULT] log_file, log_dir, use_stderr, use_journal, use_syslog placed as
// oslo.log places them.
import { createRequire } from 'node:module';
import { mkdtempSync, openSync, readFileSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../../src/agent/index.js';
import {
  coalescingDestination,
  LOG_FLUSH_CHARS,
  logFilePath,
  logSinks,
  syslogFacility,
} from '../../../src/cli/log-destination.js';

const cfg = (log_file: string, log_dir: string) => ({ DEFAULT: { log_file, log_dir } }) as never;

describe('logFilePath', () => {
  it('neither option: standard output', () => {
    expect(logFilePath(cfg('', ''))).toBeUndefined();
  });
  it('log_file alone is the path', () => {
    expect(logFilePath(cfg('/var/log/ovnmeta/agent.log', ''))).toBe('/var/log/ovnmeta/agent.log');
  });
  it('a relative log_file goes under log_dir, an absolute one does not', () => {
    expect(logFilePath(cfg('agent.log', '/var/log/neutron'))).toBe('/var/log/neutron/agent.log');
    expect(logFilePath(cfg('/tmp/a.log', '/var/log/neutron'))).toBe('/tmp/a.log');
  });
  it('log_dir alone: <log_dir>/ovnmeta.log', () => {
    expect(logFilePath(cfg('', '/var/log/neutron'))).toBe('/var/log/neutron/ovnmeta.log');
  });
});

const sinksOf = (ini: string) => logSinks(parseConfig([{ name: 'a.ini', text: `[DEFAULT]\n${ini}\n` }]));

describe('logSinks: oslo.log _setup_logging_from_conf', () => {
  it('nothing set: standard output only', () => {
    expect(sinksOf('')).toEqual([{ kind: 'stdout' }]);
  });
  it('a file, stderr or the journal replace standard output; syslog adds to it', () => {
    expect(sinksOf('log_file = /l/a.log')).toEqual([{ kind: 'file', path: '/l/a.log' }]);
    expect(sinksOf('use_stderr = true')).toEqual([{ kind: 'stderr' }]);
    expect(sinksOf('use_journal = true')).toEqual([{ kind: 'journal' }]);
    expect(sinksOf('use_syslog = true')).toEqual([{ kind: 'stdout' }, { kind: 'syslog', facility: 'user' }]);
  });
  it('all at once, in oslo order', () => {
    expect(
      sinksOf(
        'log_dir = /l\nuse_stderr = yes\nuse_journal = on\nuse_syslog = 1\nsyslog_log_facility = LOG_LOCAL3',
      ),
    ).toEqual([
      { kind: 'file', path: '/l/ovnmeta.log' },
      { kind: 'stderr' },
      { kind: 'journal' },
      { kind: 'syslog', facility: 'local3' },
    ]);
  });
});

describe('syslogFacility: the names oslo _find_facility takes', () => {
  it('LOG_ prefix optional, any case', () => {
    expect(['LOG_USER', 'user', 'log_local7', 'DAEMON'].map(syslogFacility)).toEqual([
      'user',
      'user',
      'local7',
      'daemon',
    ]);
  });
  it('unknown: undefined', () => {
    expect(syslogFacility('LOG_NOPE')).toBeUndefined();
    expect(syslogFacility('local8')).toBeUndefined();
  });
});

// sonic-boom (pino's destination) writes through the CommonJS fs module.
const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
const dir = mkdtempSync(join(tmpdir(), 'ovnmeta-log-'));
afterEach(() => vi.restoreAllMocks());

/** The file once it holds `expected` (writes complete on libuv's pool), or as it is after 5 s. */
async function settled(file: string, expected: string): Promise<string> {
  const deadline = Date.now() + 5_000;
  while (readFileSync(file, 'utf8') !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return readFileSync(file, 'utf8');
}

describe('coalescingDestination', () => {
  it('writes the lines of one flush interval together, in order, once it ends', async () => {
    const file = join(dir, 'a.log');
    const fd = openSync(file, 'w');
    const writes = vi.spyOn(fs, 'write');
    try {
      const dest = coalescingDestination(fd);
      dest.write('{"n":1}\n');
      await new Promise((resolve) => setImmediate(resolve)); // a later turn, same interval
      dest.write('{"n":2}\n');
      dest.write('{"n":3}\n');
      expect(readFileSync(file, 'utf8')).toBe(''); // nothing before the interval ends
      expect(writes).toHaveBeenCalledTimes(0);
      expect(await settled(file, '{"n":1}\n{"n":2}\n{"n":3}\n')).toBe('{"n":1}\n{"n":2}\n{"n":3}\n');
      expect(writes).toHaveBeenCalledTimes(1);

      dest.write('{"n":4}\n'); // after the hand-over: a write of its own, not held back
      expect(await settled(file, '{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n')).toBe(
        '{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n',
      );
      expect(writes).toHaveBeenCalledTimes(2);
    } finally {
      writes.mockRestore();
      closeSync(fd);
    }
  });

  it(`hands over at once when ${LOG_FLUSH_CHARS} characters wait, then waits again`, async () => {
    const file = join(dir, 'b.log');
    const fd = openSync(file, 'w');
    const writes = vi.spyOn(fs, 'write');
    try {
      const dest = coalescingDestination(fd);
      const big = `{"x":"${'y'.repeat(LOG_FLUSH_CHARS)}"}\n`;
      dest.write('{"n":1}\n');
      dest.write(big);
      expect(writes).toHaveBeenCalledTimes(1); // during the turn, no timer
      dest.write('{"n":2}\n');
      expect(writes).toHaveBeenCalledTimes(1);
      const all = `{"n":1}\n${big}{"n":2}\n`;
      expect(await settled(file, all)).toBe(all);
      expect(writes).toHaveBeenCalledTimes(2);
    } finally {
      writes.mockRestore();
      closeSync(fd);
    }
  });
});

process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
