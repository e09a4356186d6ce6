// Bridge row events that re-check every served network (bench/provision
// found every port add re-checking all of them: quadratic provisioning).
import { describe, expect, it } from 'vitest';
import { bridgeEventMatters } from '../../../src/agent/triggers.js';

const bridge = { _uuid: 'b1', name: 'br-int', datapath_type: 'netdev', ports: ['p1', 'p2'] };

describe('bridgeEventMatters', () => {
  it('a port added to or removed from the bridge is not a reason to re-check every network', () => {
    expect(
      bridgeEventMatters({
        table: 'Bridge',
        type: 'update',
        uuid: 'b1',
        new: bridge,
        old: { ports: ['p1'] },
      }),
    ).toBe(false);
  });

  it('a datapath_type change or a rename is', () => {
    expect(
      bridgeEventMatters({
        table: 'Bridge',
        type: 'update',
        uuid: 'b1',
        new: bridge,
        old: { datapath_type: 'system' },
      }),
    ).toBe(true);
    expect(
      bridgeEventMatters({
        table: 'Bridge',
        type: 'update',
        uuid: 'b1',
        new: bridge,
        old: { name: 'br-old', ports: [] },
      }),
    ).toBe(true);
  });

  it('the bridge created or deleted is', () => {
    expect(bridgeEventMatters({ table: 'Bridge', type: 'insert', uuid: 'b1', new: bridge })).toBe(true);
    expect(bridgeEventMatters({ table: 'Bridge', type: 'delete', uuid: 'b1', old: bridge })).toBe(true);
  });
});
