import { describe, expect, it } from 'vitest';
import { METADATA_AGENT_ROLE, OVN_NEUTRON_AGENT_ROLE } from '../../../src/agent/agent-role.js';
import { agentIdFor, chassisUuid, metadataAgentId, parseUuid, uuid5 } from '../../../src/agent/chassis-id.js';

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

  it('the OVN Neutron agent: uuid5("ovn_agent") of the chassis UUID in its own namespace fd7e0970-…', () => {
    // python3: c = uuid.uuid5(uuid.UUID('fd7e0970-7164-11ed-80f0-00000003158a'), 'ch1'); uuid.uuid5(c, 'ovn_agent')
    expect(chassisUuid('ch1', OVN_NEUTRON_AGENT_ROLE.chassisNamespace)).toBe(
      '25be3129-c1fb-514d-9d0e-8ed54e689ab2',
    );
    expect(agentIdFor(OVN_NEUTRON_AGENT_ROLE, 'ch1')).toBe('4712b1d8-0f4f-5be9-a40f-63c89ec93e42');
    expect(agentIdFor(OVN_NEUTRON_AGENT_ROLE, '5f6e4c3a-1b2c-4d5e-8f90-123456789abc')).toBe(
      '96d63304-5f0c-5de8-9332-e02f6b961282',
    );
    expect(agentIdFor(METADATA_AGENT_ROLE, 'ch1')).toBe(metadataAgentId('ch1'));
  });
});
