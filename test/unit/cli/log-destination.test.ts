// [DEFAULT] log_file and log_dir placed as oslo.log places them.
import { describe, expect, it } from 'vitest';
import { logFilePath } from '../../../src/cli/log-destination.js';

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
