import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

import { AccessLog } from '../../../src/proxy/access-log.js';

/** A logger as the agent's (base, a child of the root), with a fixed time, and its raw lines. */
function capture() {
  const lines: string[] = [];
  const root = pino(
    { base: { service: 'ovnmeta' }, timestamp: () => ',"time":1765098000000' },
    { write: (line: string) => void lines.push(line) },
  );
  return { lines, logger: root.child({ component: 'proxy' }) };
}

const fields = (status: number, ms: number) => ({
  method: 'GET',
  path: '/latest/meta-data/instance-id',
  status,
  ms,
});

/** The line as one call with the seven fields writes it (what the proxy logged before). */
function oneCall(
  network: string | null,
  instance: string | null,
  source: string | null,
  status: number,
  ms: number,
) {
  const { lines, logger } = capture();
  logger.info({ network, instance, source, ...fields(status, ms) }, 'metadata request');
  return lines[0]!;
}

describe('AccessLog', () => {
  it('writes a VM line byte for byte as one call with the seven fields', () => {
    const { lines, logger } = capture();
    const access = new AccessLog(logger);
    access.write('net-1', 'inst-1', '10.0.0.5', fields(200, 0.8));
    access.write('net-1', 'inst-1', '10.0.0.5', fields(404, 1.2)); // the cached child
    access.write('net-1', 'inst-2', 'fe80::1', fields(200, 3));
    expect(lines).toEqual([
      oneCall('net-1', 'inst-1', '10.0.0.5', 200, 0.8),
      oneCall('net-1', 'inst-1', '10.0.0.5', 404, 1.2),
      oneCall('net-1', 'inst-2', 'fe80::1', 200, 3),
    ]);
    expect(Object.keys(JSON.parse(lines[0]!) as object)).toEqual([
      'level',
      'time',
      'service',
      'component',
      'network',
      'instance',
      'source',
      'method',
      'path',
      'status',
      'ms',
      'msg',
    ]);
  });

  it('writes nulls for a request whose network, source or VM is unknown', () => {
    const { lines, logger } = capture();
    const access = new AccessLog(logger);
    access.write('net-1', null, '10.0.0.5', fields(404, 0.1));
    access.write(null, null, null, fields(400, 0.1));
    expect(lines).toEqual([
      oneCall('net-1', null, '10.0.0.5', 404, 0.1),
      oneCall(null, null, null, 400, 0.1),
    ]);
  });

  it('follows a source address that now belongs to another instance, or another network', () => {
    const { lines, logger } = capture();
    const access = new AccessLog(logger);
    access.write('net-1', 'inst-1', '10.0.0.5', fields(200, 1));
    access.write('net-1', 'inst-9', '10.0.0.5', fields(200, 1));
    access.write('net-2', 'inst-1', '10.0.0.5', fields(200, 1));
    expect(lines).toEqual([
      oneCall('net-1', 'inst-1', '10.0.0.5', 200, 1),
      oneCall('net-1', 'inst-9', '10.0.0.5', 200, 1),
      oneCall('net-2', 'inst-1', '10.0.0.5', 200, 1),
    ]);
  });

  it('keeps writing the right lines past the number of VMs it keeps', () => {
    const { lines, logger } = capture();
    const access = new AccessLog(logger);
    const vms = 5000;
    for (let i = 0; i < vms; i++)
      access.write(`net-${i % 7}`, `inst-${i}`, `10.0.${i >> 8}.${i & 255}`, fields(200, 1));
    access.write('net-0', 'inst-0', '10.0.0.0', fields(200, 1));
    expect(lines).toHaveLength(vms + 1);
    expect(lines[vms - 1]).toBe(oneCall(`net-${(vms - 1) % 7}`, `inst-${vms - 1}`, '10.0.19.135', 200, 1));
    expect(lines[vms]).toBe(oneCall('net-0', 'inst-0', '10.0.0.0', 200, 1));
  });
});
