// ovnmeta beside a neutron-ovn-agent kept for other extensions (docs/deploy.md,
// "Keeping neutron-ovn-agent for other extensions"), on a real ovsdb-server
// with the SB schema. ovnmeta's side is its own Registration fed from its own
// OvsdbClient replica, as the agent wires it; neutron-ovn-agent's side is the
// writes neutron master's OVNNeutronAgent.start makes
// (neutron/agent/ovn/agent/ovn_neutron_agent.py: _cleanup_previous_tags =
// db_remove of the neutron:ovn-metadata-* keys, register_ovn_agent = db_add of
// its id, update_neutron_sb_cfg_key = db_set of its sb-cfg), made here with
// ovn-sbctl `remove`, `add` and `set`, the same ovsdb operations.
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CHASSIS_PRIVATE_KEYS as K,
  METADATA_AGENT_ROLE,
  OVN_NEUTRON_AGENT_ROLE,
  Registration,
  type AgentRole,
} from '../../../src/agent/index.js';
import { OvsdbClient } from '../../../src/ovsdb/index.js';
import { stopAllDaemons } from '../../support/daemon.js';
import { destroyOvsdbServer, startOvsdbServer, type OvsdbServer } from '../../support/ovsdb-server.js';
import { waitFor } from '../../../src/sandbox/index.js';

let server: OvsdbServer;
const stops: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  server = await startOvsdbServer({ schema: 'sb', tcp: false });
});
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});
afterAll(async () => {
  await destroyOvsdbServer(server);
  await stopAllDaemons();
});

const sbctl = async (...args: string[]) =>
  (await execa('ovn-sbctl', [`--db=${server.unixRemote}`, ...args])).stdout.trim();

let chassisCount = 0;

/** A chassis as ovn-controller leaves it: Chassis and Chassis_Private rows. */
async function newChassis(): Promise<string> {
  const name = `ch-${Math.random().toString(16).slice(2, 10)}`;
  await sbctl('chassis-add', name, 'geneve', `127.0.0.${++chassisCount}`);
  const chassis = await sbctl('--bare', '--columns=_uuid', 'find', 'Chassis', `name=${name}`);
  await sbctl('create', 'Chassis_Private', `name=${name}`, `chassis=${chassis}`, 'nb_cfg=7');
  // ovn-sbctl made the SB_Global row; northd's last nb_cfg, as the chassis saw it.
  await sbctl('set', 'SB_Global', '.', 'nb_cfg=7');
  return name;
}

const externalIds = async (name: string): Promise<Record<string, string>> => {
  const text = await sbctl(
    '--format=json',
    '--columns=external_ids',
    'find',
    'Chassis_Private',
    `name=${name}`,
  );
  const [[, pairs]] = (JSON.parse(text) as { data: [[string, [string, string][]]][] }).data[0]!;
  return Object.fromEntries(pairs);
};

/** ovnmeta's registration on `name`, wired as src/agent/agent.ts wires it. */
async function ovnmeta(name: string, role: AgentRole, agentId: string): Promise<Registration> {
  const client = new OvsdbClient({
    remote: server.unixRemote,
    database: 'OVN_Southbound',
    maxBackoffMs: 500,
  });
  client.monitor({
    Chassis_Private: { columns: ['name', 'nb_cfg', 'external_ids'] },
    SB_Global: { columns: ['nb_cfg'] },
  });
  const registration = new Registration({
    role,
    agentId,
    bridge: 'br-int',
    agentDownTimeSeconds: 9,
    random: () => 0,
    transact: (ops) => client.transact(ops),
  });
  const feed = () => {
    const row = [...client.replica.table('Chassis_Private').values()].find((r) => r.name === name);
    registration.chassisPrivate(
      row && {
        uuid: row._uuid,
        nbCfg: row.nb_cfg as number,
        externalIds: row.external_ids as ReadonlyMap<string, string>,
      },
    );
    const global = [...client.replica.table('SB_Global').values()][0];
    if (global) registration.sbGlobal(global.nb_cfg as number);
  };
  client.on('status', (s) => {
    if (s.type === 'connected') client.replica.on('change', feed);
  });
  await client.start();
  feed();
  stops.push(async () => {
    registration.close();
    await client.close();
  });
  return registration;
}

/** neutron master's OVNNeutronAgent.start, as its three ovsdbapp commands. */
async function neutronOvnAgentStarts(name: string, agentId: string): Promise<void> {
  const q = (key: string) => `"${key}"`; // ovsdb-data syntax: a key with ':' is quoted
  const metadataKeys = [K.metadataSbCfg, K.metadataDescription, K.metadataId].map(q);
  await sbctl('remove', 'Chassis_Private', name, 'external_ids', ...metadataKeys);
  await sbctl('add', 'Chassis_Private', name, 'external_ids', `${q(K.neutronAgentId)}=${agentId}`);
  const nbCfg = await sbctl('get', 'Chassis_Private', name, 'nb_cfg');
  await sbctl('set', 'Chassis_Private', name, `external_ids:${q(K.neutronAgentSbCfg)}=${nbCfg}`);
}

const AGENT_ID = '0b6c3a4e-2f5d-5b1e-9c1a-4d2e8f7a6b5c';

describe('coexistence with a neutron-ovn-agent kept for other extensions', () => {
  it('ovnmeta as the OVN Neutron agent: neither start-up erases a key the other wrote', async () => {
    const name = await newChassis();
    await sbctl('set', 'Chassis_Private', name, 'external_ids:ovn-controller-key=kept');
    await ovnmeta(name, OVN_NEUTRON_AGENT_ROLE, AGENT_ID);
    await waitFor(
      async () => (await externalIds(name))[K.neutronAgentId] === AGENT_ID,
      5_000,
      'ovnmeta registered',
    );

    await neutronOvnAgentStarts(name, AGENT_ID);
    // ovnmeta restarts after it: its own start-up cleanup runs again.
    stops.splice(0).forEach((s) => void s());
    await ovnmeta(name, OVN_NEUTRON_AGENT_ROLE, AGENT_ID);
    await new Promise((r) => setTimeout(r, 500));
    expect(await externalIds(name)).toEqual({
      'ovn-controller-key': 'kept',
      [K.neutronAgentId]: AGENT_ID,
      [K.neutronAgentSbCfg]: '7',
      [K.bridge]: 'br-int',
    });

    // Both heartbeat into the same key; nb_cfg moves on and ovnmeta follows.
    await sbctl('set', 'Chassis_Private', name, 'nb_cfg=8');
    await sbctl('set', 'SB_Global', '.', 'nb_cfg=8');
    await waitFor(async () => (await externalIds(name))[K.neutronAgentSbCfg] === '8', 5_000, 'heartbeat 8');
    // neutron-ovn-agent's delayed write of an older value is written over.
    await sbctl('set', 'Chassis_Private', name, `external_ids:"${K.neutronAgentSbCfg}"=7`);
    await waitFor(
      async () => (await externalIds(name))[K.neutronAgentSbCfg] === '8',
      5_000,
      'newest written again',
    );
  });

  it('ovnmeta as the metadata agent loses its keys at every neutron-ovn-agent start, and writes them again', async () => {
    const name = await newChassis();
    const metadataId = 'c1f0e4b2-7d3a-5e6f-8a9b-0c1d2e3f4a5b';
    await ovnmeta(name, METADATA_AGENT_ROLE, metadataId);
    await waitFor(async () => (await externalIds(name))[K.metadataId] === metadataId, 5_000, 'registered');

    await neutronOvnAgentStarts(name, AGENT_ID);
    // The unsafe arrangement (docs/deploy.md): the keys are gone for a moment,
    // and neutron-server then lists only the OVN Neutron agent for the row.
    await waitFor(
      async () => {
        const ids = await externalIds(name);
        return ids[K.metadataId] === metadataId && ids[K.metadataSbCfg] === '7' ? ids : undefined;
      },
      5_000,
      'ovnmeta wrote its keys again',
    );
    // ovnmeta, as the metadata agent, removes none of neutron-ovn-agent's.
    expect(await externalIds(name)).toMatchObject({
      [K.neutronAgentId]: AGENT_ID,
      [K.neutronAgentSbCfg]: '7',
    });
  });
});
