// The catalogue in src/proxy/errors.ts and docs/errors.md agree.
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import * as errors from '../../../src/proxy/errors.js';

const samples: errors.ProxyError[] = [
  new errors.ProxyListenFailedError('ns', '169.254.169.254:80', 'in use'),
  new errors.ProxyHelperFailedError('ns', 'gone'),
  new errors.ProxyInvalidPortError('p', 'bad'),
  new errors.ProxyInvalidOptionsError('auth_ca_cert', 'unreadable'),
  new errors.ProxyClosedError('listen'),
  new errors.ProxyNovaUnreachableError('http://nova:8775'),
  new errors.ProxyNovaTimeoutError('http://nova:8775', 60_000),
  new errors.ProxyNovaBadResponseError('http://nova:8775', 'status 418'),
];

describe('PROXY_ error catalogue', () => {
  const classes = Object.values(errors).filter(
    (value: unknown) => typeof value === 'function' && value.prototype instanceof errors.ProxyError,
  );

  it('has one sample per class, each with its name, a PROXY_ code and retryable', () => {
    expect(new Set(samples.map((e) => e.constructor))).toEqual(new Set(classes));
    for (const error of samples) {
      expect(error.name).toBe(error.constructor.name);
      expect(error.code).toMatch(/^PROXY_[A-Z_]+$/);
      expect(typeof error.retryable).toBe('boolean');
      expect(error.message.length).toBeGreaterThan(10);
    }
    expect(new Set(samples.map((e) => e.code)).size).toBe(samples.length);
  });

  it('lists every code, with its class and retryability, in docs/errors.md', () => {
    const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `(PROXY_[A-Z_]+)` \| `(\w+)` \| (yes|no) \|/gm)];
    expect(documented.map((m) => m[1]).sort()).toEqual(samples.map((e) => e.code).sort());
    for (const [, code, name, retryable] of documented) {
      const sample = samples.find((e) => e.code === code)!;
      expect(sample.name).toBe(name);
      expect(sample.retryable).toBe(retryable === 'yes');
    }
  });
});
