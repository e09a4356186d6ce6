// The table of neutron master's options (docs/configuration.md) and the schema
// agree: every option called honoured is one ovnmeta reads, under neutron's
// section and name, and every neutron-named option ovnmeta reads is listed.
import { describe, expect, it } from 'vitest';
import { NEUTRON_OPTIONS } from '../../../../src/agent/config/neutron-options.js';
import { optionEntries } from '../../../../src/agent/index.js';

const inSchema = new Set(optionEntries.map((e) => `${e.section}.${e.option}`));
const listed = new Set(NEUTRON_OPTIONS.map((o) => `${o.section}.${o.option}`));

describe("neutron's options table", () => {
  it('every honoured option is in the schema', () => {
    const honoured = NEUTRON_OPTIONS.filter((o) => o.ignored === undefined).map(
      (o) => `${o.section}.${o.option}`,
    );
    expect(honoured.filter((k) => !inSchema.has(k))).toEqual([]);
    expect(honoured.length).toBeGreaterThan(40);
  });
  it('every schema option outside [ovnmeta] is listed', () => {
    const ours = optionEntries.filter((e) => e.section !== 'ovnmeta').map((e) => `${e.section}.${e.option}`);
    expect(ours.filter((k) => !listed.has(k))).toEqual([]);
  });
  it('lists each option once', () => {
    expect(listed.size).toBe(NEUTRON_OPTIONS.length);
  });
});
