// The AGENT_VERIFY_ catalogue: codes, classes, retryability, and docs/verify.md.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  VERIFY_ERROR_CODES,
  VerifyDatabaseError,
  VerifyTraceError,
  VerifyUsageError,
  type VerifyError,
} from '../../../src/verify/index.js';

const samples: VerifyError[] = [
  new VerifyUsageError('unknown option --nope'),
  new VerifyDatabaseError('OVN_Southbound', 'tcp:10.0.0.1:6642', 'no synced replica within 10000 ms'),
  new VerifyTraceError('exited 1: database connection failed'),
];

describe('verify errors', () => {
  it('one class per code, name = class, message names the object', () => {
    expect(samples.map((e) => e.code).sort()).toEqual([...VERIFY_ERROR_CODES].sort());
    for (const e of samples) expect(e.name).toBe(e.constructor.name);
    expect(samples[1]!.message).toBe(
      'OVN_Southbound at tcp:10.0.0.1:6642: no synced replica within 10000 ms',
    );
    expect(samples.map((e) => e.retryable)).toEqual([false, true, true]);
  });

  it('docs/verify.md lists every code with its class and retryability', () => {
    const doc = readFileSync(new URL('../../../docs/verify.md', import.meta.url), 'utf8');
    for (const e of samples) {
      const row = doc.split('\n').find((l) => l.includes(`\`${e.code}\``));
      expect(row, e.code).toBeDefined();
      expect(row).toContain(`\`${e.name}\``);
      expect(row).toContain(e.retryable ? '| yes |' : '| no |');
    }
  });
});
