// [DEFAULT] log_file, log_dir, use_stderr, use_journal, use_syslog placed as
// oslo.log places them.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/agent/index.js';
import { logFilePath, logSinks, syslogFacility } from '../../../src/cli/log-destination.js';

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
