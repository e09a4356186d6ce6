import { describe, expect, it } from 'vitest';
import { Interner, KeyedInterner } from '../../../../src/ovsdb/wire/intern.js';

// String identity is not observable from JS (=== compares contents), so these
// tests pin the values and the on/off decisions; the memory effect is
// measured by bench/ovsdb-load (retainedHeapMb).
describe('Interner', () => {
  it('returns equal strings and stays on while values repeat', () => {
    const interner = new Interner();
    for (let i = 0; i < 10_000; i++) {
      const s = `compute-${i % 100}`;
      expect(interner.intern(s)).toBe(s);
    }
    expect(interner.active).toBe(true);
  });

  it('switches off after a window of mostly unique values, and still returns them', () => {
    const interner = new Interner();
    for (let i = 0; i < 1023; i++) interner.intern(`port-${i}`);
    expect(interner.active).toBe(true);
    interner.intern('port-1023');
    expect(interner.active).toBe(false);
    expect(interner.intern('port-0')).toBe('port-0');
    expect(interner.active).toBe(false);
  });

  it('judges each map key on its own', () => {
    const keyed = new KeyedInterner();
    for (let i = 0; i < 5000; i++) {
      expect(keyed.intern('neutron:device_id', `dev-${i}`)).toBe(`dev-${i}`);
      expect(keyed.intern('neutron:device_owner', 'compute:nova')).toBe('compute:nova');
    }
  });
});
