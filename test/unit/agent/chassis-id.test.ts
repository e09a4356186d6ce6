import { describe, expect, it } from 'vitest';
import { chassisUuid, metadataAgentId, parseUuid, uuid5 } from '../../../src/agent/chassis-id.js';

// Expected values computed with Python's uuid module, as neutron does.
describe('chassis ids', () => {
  it('uuid5 matches Python uuid.uuid5', () => {
    expect(uuid5('ch1', 'd34bf9f6-da32-4871-9af8-15a4626b41ab')).toBe('bbcd729e-f4a4-5e65-b172-a23095bbedcc');
  });

  it('a non-UUID system-id is hashed; the agent id derives from the chassis uuid', () => {
    expect(chassisUuid('ch1')).toBe('bbcd729e-f4a4-5e65-b172-a23095bbedcc');
    expect(metadataAgentId('ch1')).toBe('902ae2af-c755-5c53-859c-c466137ed38c');
  });

  it('a UUID system-id is used as it is (any case, with or without hyphens)', () => {
    const id = '5f6e4c3a-1b2c-4d5e-8f90-123456789abc';
    expect(chassisUuid(id.toUpperCase())).toBe(id);
    expect(parseUuid(id.replace(/-/g, ''))).toBe(id);
    expect(metadataAgentId(id)).toBe('258596b7-0fa6-5259-a06d-ebdb689309bd');
  });
});
