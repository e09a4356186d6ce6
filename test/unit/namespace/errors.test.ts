import { describe, expect, it } from 'vitest';
import {
  NETNS_ERROR_CODES,
  NetnsCommandError,
  NetnsError,
  NetnsInspectError,
  NetnsInvalidDesiredError,
  NetnsOvsBridgeMissingError,
  NetnsSpawnError,
} from '../../../src/namespace/index.js';

describe('NETNS_ error catalogue', () => {
  const samples: NetnsError[] = [
    new NetnsInvalidDesiredError('ovnmeta-x', 'mtu', 1, 'too small'),
    new NetnsCommandError(
      'ip -n ovnmeta-x -batch -',
      1,
      'RTNETLINK answers: File exists\nCommand failed -:2\n',
      'addr replace …',
    ),
    new NetnsSpawnError('ip -batch -', Object.assign(new Error('spawn ip ENOENT'), { code: 'ENOENT' })),
    new NetnsInspectError('ovnmeta-x', 'bad json'),
    new NetnsOvsBridgeMissingError('br-int'),
  ];

  it('has one class per code, each a NetnsError with a NETNS_ code', () => {
    expect(samples.map((e) => e.code).sort()).toEqual([...NETNS_ERROR_CODES].sort());
    for (const e of samples) {
      expect(e).toBeInstanceOf(NetnsError);
      expect(e.code).toMatch(/^NETNS_[A-Z_]+$/);
      expect(e.name).toBe(e.constructor.name);
      expect(typeof e.retryable).toBe('boolean');
    }
  });

  it('names the object and the failing batch line', () => {
    const e = samples[1] as NetnsCommandError;
    expect(e.message).toBe(
      'ip -n ovnmeta-x -batch - (at "addr replace …") exited 1: RTNETLINK answers: File exists',
    );
    expect(e.retryable).toBe(true);
  });

  it('a missing binary is terminal, a transient spawn failure is not', () => {
    expect(samples[2]!.retryable).toBe(false);
    expect(samples[2]!.cause).toBeInstanceOf(Error);
    const eagain = new NetnsSpawnError('ip', Object.assign(new Error('spawn EAGAIN'), { code: 'EAGAIN' }));
    expect(eagain.retryable).toBe(true);
  });
});
