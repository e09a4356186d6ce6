// `verify`'s registration check: would neutron-server list this chassis'
// agent alive (neutron_agent.py NeutronAgent.alive, ovsdb_monitor.py
// ChassisOVNAgentWriteEvent)?
import { describe, expect, test } from 'vitest';
import { METADATA_AGENT_ROLE, OVN_NEUTRON_AGENT_ROLE, agentIdFor } from '../../../src/agent/index.js';
import { registrationCheck, renderJson, renderTable } from '../../../src/verify/index.js';

const ids = (o: Record<string, string>) => ({ externalIds: new Map(Object.entries(o)) });
const neutronId = agentIdFor(OVN_NEUTRON_AGENT_ROLE, 'ch1');
const metaId = agentIdFor(METADATA_AGENT_ROLE, 'ch1');
const base = { systemId: 'ch1', nbCfg: 10 };

describe('registrationCheck', () => {
  test('OVN Neutron agent with its id and a fresh sb-cfg passes', () => {
    const c = registrationCheck({
      ...base,
      role: OVN_NEUTRON_AGENT_ROLE,
      agentId: neutronId,
      row: ids({ 'neutron:ovn-neutron-agent-id': neutronId, 'neutron:ovn-neutron-agent-sb-cfg': '9' }),
    });
    expect(c.status).toBe('pass');
    expect(c.detail).toContain('OVN Neutron agent (neutron-ovn-agent)');
  });

  test('sb-cfg behind nb_cfg passes, saying so (neutron also counts nb_cfg_timestamp)', () => {
    const c = registrationCheck({
      ...base,
      role: OVN_NEUTRON_AGENT_ROLE,
      agentId: neutronId,
      row: ids({ 'neutron:ovn-neutron-agent-id': neutronId, 'neutron:ovn-neutron-agent-sb-cfg': '8' }),
    });
    expect(c.status).toBe('pass');
    expect(c.detail).toMatch(/behind nb_cfg 10/);
  });

  test('as the metadata agent, an OVN Neutron agent id on the row shadows us', () => {
    const c = registrationCheck({
      ...base,
      role: METADATA_AGENT_ROLE,
      agentId: metaId,
      row: ids({
        'neutron:ovn-metadata-id': metaId,
        'neutron:ovn-metadata-sb-cfg': '10',
        'neutron:ovn-neutron-agent-id': neutronId,
      }),
    });
    expect(c.status).toBe('fail');
    expect(c.reason).toMatch(/\[agent\] extensions = metadata/);
  });

  test('no id, or another id, fails naming the key', () => {
    const missing = registrationCheck({ ...base, role: METADATA_AGENT_ROLE, agentId: metaId, row: ids({}) });
    expect(missing.reason).toMatch(/no neutron:ovn-metadata-id/);
    const other = registrationCheck({
      ...base,
      role: METADATA_AGENT_ROLE,
      agentId: metaId,
      row: ids({ 'neutron:ovn-metadata-id': 'x', 'neutron:ovn-metadata-sb-cfg': '10' }),
    });
    expect(other.reason).toMatch(/neutron:ovn-metadata-id = x/);
    expect(
      registrationCheck({ ...base, role: METADATA_AGENT_ROLE, agentId: metaId, row: undefined }).status,
    ).toBe('fail');
  });
});

test('the report shows the identity in text and JSON', () => {
  const report = {
    identity: {
      role: 'ovn-neutron-agent',
      agentType: 'OVN Neutron agent',
      binary: 'neutron-ovn-agent',
      reason: '[agent] extensions = metadata names metadata',
      agentId: neutronId,
    },
    chassis: [],
    networks: [],
  };
  expect(renderTable(report)).toContain(`agent: OVN Neutron agent (neutron-ovn-agent) id ${neutronId}`);
  expect(JSON.parse(renderJson(report)).identity).toEqual(report.identity);
});
