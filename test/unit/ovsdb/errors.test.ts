// The catalogue test (as fastify's test/internals/errors.test.js): every
// error class in src/ovsdb/errors.ts has a unique OVSDB_ code, name equal to
// its class name, a boolean retryable, and a row in docs/errors.md.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as errors from '../../../src/ovsdb/errors.js';

type ErrorClass = (new (...args: unknown[]) => errors.OvsdbError) & { code?: unknown };

const classes: [string, ErrorClass][] = Object.entries(errors as Record<string, unknown>)
  .filter(([, v]) => typeof v === 'function' && v.prototype instanceof errors.OvsdbError)
  .map(([name, v]) => [name, v as ErrorClass]);

// Constructor arguments for classes that need more than strings.
const samples: Record<string, unknown[]> = {
  OvsdbTransactionError: [
    [{ index: 0, error: 'timed out', details: undefined, op: { op: 'wait', table: 'T' } }],
  ],
  OvsdbJsonError: [3, 'sample'],
  OvsdbFrameTooLargeError: ['sample', 10, 5],
  OvsdbProbeTimeoutError: ['sample', 1000],
};

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const ovsdbSection = doc.slice(doc.indexOf('## OVSDB_'), doc.indexOf('\n## ', doc.indexOf('## OVSDB_') + 1));

describe('src/ovsdb/errors.ts catalogue', () => {
  it('has classes', () => {
    expect(classes.length).toBeGreaterThanOrEqual(14);
    expect(ovsdbSection.length).toBeGreaterThan(0);
  });

  it('gives every class a unique OVSDB_ code', () => {
    const codes = classes.map(([, cls]) => cls.code);
    for (const code of codes) expect(code).toMatch(/^OVSDB_[A-Z_]+$/);
    expect(new Set(codes).size).toBe(codes.length);
  });

  for (const [exportName, cls] of classes) {
    it(`${exportName}: name, code, retryable, message, docs`, () => {
      const err = new cls(...(samples[exportName] ?? ['sample', 'sample', 'sample']));
      expect(err).toBeInstanceOf(Error);
      expect(err.name).toBe(exportName);
      expect(cls.name).toBe(exportName);
      expect(err.code).toBe(cls.code);
      expect(typeof err.retryable).toBe('boolean');
      expect(err.message.length).toBeGreaterThan(0);
      expect(ovsdbSection).toContain(`| \`${cls.code as string}\` | \`${exportName}\` |`);
    });
  }

  it('lists no code in the OVSDB_ section that the catalogue lacks', () => {
    const documented = [...ovsdbSection.matchAll(/^\| `(OVSDB_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(classes.map(([, cls]) => cls.code as string).sort());
  });

  it('keeps cause when wrapping', () => {
    const cause = new SyntaxError('x');
    expect(new errors.OvsdbDecodeError('T.c', 'bad', { cause }).cause).toBe(cause);
  });

  it('makes a transaction retryable only when every failure is a timed-out wait', () => {
    const f = (error: string) => ({ index: 0, error, details: undefined, op: undefined });
    expect(new errors.OvsdbTransactionError([f('timed out')]).retryable).toBe(true);
    expect(new errors.OvsdbTransactionError([f('timed out'), f('constraint violation')]).retryable).toBe(
      false,
    );
  });
});
