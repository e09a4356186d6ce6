// Port_Binding rows decoded from replica rows: where a port is bound and
// where neutron asked for it, and malformed rows reported, never thrown.
import { describe, expect, it } from 'vitest';
import { decodePortBinding, isBoundTo, isWantedAt } from '../../../src/agent/sb-rows.js';

const row = (over: Record<string, unknown> = {}) => ({
  _uuid: 'pb-1',
  logical_port: 'vm-1',
  type: '',
  datapath: 'dp-1',
  mac: ['fa:16:3e:00:00:10 10.0.0.10'],
  external_ids: new Map([['neutron:device_id', 'inst-1']]),
  ...over,
});

describe('decodePortBinding: requested chassis', () => {
  it('reads requested_chassis and requested_additional_chassis; absent columns are empty', () => {
    const pb = decodePortBinding(row({ requested_chassis: 'ch-1', requested_additional_chassis: ['ch-2'] }));
    expect(pb).toMatchObject({
      ok: true,
      value: { requestedChassis: 'ch-1', requestedAdditionalChassis: ['ch-2'] },
    });
    expect(decodePortBinding(row())).toMatchObject({
      ok: true,
      value: { requestedChassis: undefined, requestedAdditionalChassis: [] },
    });
  });

  it('reports a malformed requested column instead of throwing', () => {
    expect(decodePortBinding(row({ requested_chassis: 7 }))).toEqual({
      ok: false,
      reason: 'requested_chassis is not a uuid',
    });
    expect(decodePortBinding(row({ requested_additional_chassis: 'ch-2' }))).toEqual({
      ok: false,
      reason: 'requested_additional_chassis is not a set of uuids',
    });
  });

  it('a port requested here is wanted here but not bound here; bound is both', () => {
    const requested = decodePortBinding(row({ requested_chassis: 'ch-1' }));
    const migrating = decodePortBinding(row({ chassis: 'ch-0', requested_additional_chassis: ['ch-1'] }));
    const bound = decodePortBinding(row({ chassis: 'ch-1' }));
    if (!requested.ok || !migrating.ok || !bound.ok) throw new Error('decode');
    expect([isWantedAt(requested.value, 'ch-1'), isBoundTo(requested.value, 'ch-1')]).toEqual([true, false]);
    expect([isWantedAt(migrating.value, 'ch-1'), isBoundTo(migrating.value, 'ch-1')]).toEqual([true, false]);
    expect([isWantedAt(bound.value, 'ch-1'), isBoundTo(bound.value, 'ch-1')]).toEqual([true, true]);
    expect(isWantedAt(requested.value, 'ch-2')).toBe(false);
  });
});
