// The catalogue in src/namespace/errors.ts and docs/errors.md agree.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as errors from '../../../src/namespace/errors.js';

const samples: errors.NetnsError[] = [
  new errors.NetnsInvalidDesiredError('ovnmeta-x', 'mtu', 1, 'too small'),
  new errors.NetnsKernelError('ovnmeta-x', 'addr replace 10.0.0.2/24 dev tapx1', 'EEXIST', 'kernel refused'),
  new errors.NetnsSpawnError('ip -batch -', Object.assign(new Error('spawn ip ENOENT'), { code: 'ENOENT' })),
  new errors.NetnsInspectError('ovnmeta-x', 'bad json'),
  new errors.NetnsOvsBridgeMissingError('br-int'),
  new errors.NetnsNotSharedError('/run/netns', 'in a podman container', '/run/netns is a private mount'),
];

describe('NETNS_ error catalogue', () => {
  const classes: unknown[] = Object.values(errors).filter(
    (value) => typeof value === 'function' && value.prototype instanceof errors.NetnsError,
  );

  it('has one sample per class and code, each with its name, a NETNS_ code and retryable', () => {
    expect(new Set<unknown>(samples.map((e) => e.constructor))).toEqual(new Set(classes));
    expect(samples.map((e) => e.code).sort()).toEqual([...errors.NETNS_ERROR_CODES].sort());
    for (const e of samples) {
      expect(e.name).toBe(e.constructor.name);
      expect(e.code).toMatch(/^NETNS_[A-Z_]+$/);
      expect(typeof e.retryable).toBe('boolean');
    }
  });

  it('lists every code, with its class and retryability, in docs/errors.md', () => {
    const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `(NETNS_[A-Z_]+)` \| `(\w+)` \| ([^|]+?) \|/gm)];
    expect(documented.map((m) => m[1]).sort()).toEqual([...errors.NETNS_ERROR_CODES].sort());
    for (const [, code, name, retryable] of documented) {
      const sample = samples.find((e) => e.code === code)!;
      expect(sample.name).toBe(name);
      if (retryable === 'yes' || retryable === 'no') expect(sample.retryable).toBe(retryable === 'yes');
    }
  });

  it('names the namespace, the failing step and the errno; the kernel refusing for good is terminal', () => {
    const e = samples[1] as errors.NetnsKernelError;
    expect(e.message).toBe('addr replace 10.0.0.2/24 dev tapx1 (in ovnmeta-x): kernel refused: EEXIST');
    expect(e.retryable).toBe(true);
    expect(new errors.NetnsKernelError('root netns', 'netns add x', 'EPERM', 'unshare').retryable).toBe(
      false,
    );
  });

  it('a missing binary is terminal, a transient spawn failure is not', () => {
    expect(samples[2]!.retryable).toBe(false);
    expect(samples[2]!.cause).toBeInstanceOf(Error);
    const eagain = new errors.NetnsSpawnError(
      'ip',
      Object.assign(new Error('spawn EAGAIN'), { code: 'EAGAIN' }),
    );
    expect(eagain.retryable).toBe(true);
  });
});
