// The agent through an OVSDB relay (issue 12): its ovn_sb_connection is an
// ovsdb-server relay (`relay:OVN_Southbound:<members>`) in front of a
// 3-member Raft SB, while ovn-northd and ovn-controller use the cluster. It
// reads through the relay, its Chassis_Private writes are forwarded to the
// cluster, the VM is served; when the relay restarts the agent reconnects,
// sees changes made since, and keeps heartbeating. Both monitor modes
// (`[ovnmeta] sb_monitor`): the default, conditional, holds only this
// chassis' VM ports; `all` holds every Port_Binding of the SB.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Agent } from '../../src/agent/index.js';
import { run, type Chassis, type Network, type Vm, type VmPort } from '../../src/sandbox/index.js';
import { startAgent, SECRET } from '../support/agent.js';
import { startChassis } from '../support/chassis.js';
import { startFakeNova, type FakeNova } from '../support/fake-nova.js';
import { createNetwork, createVmPort } from '../support/neutron.js';
import { startVm } from '../support/vm.js';

let chassis: Chassis;
let nova: FakeNova;
let agent: Agent;
const made = new Set<string>();

beforeAll(async () => {
  chassis = await startChassis({ sbRelay: true });
  nova = await startFakeNova({ secret: SECRET });
  agent = await startAgent(chassis, { novaPort: nova.port, sbConnection: chassis.sbRelayRemote });
});

afterAll(async () => {
  await agent?.stop();
  await nova?.close();
  for (const id of made) {
    await run('ip', ['link', 'del', `tap${id.slice(0, 10)}0`]).catch(() => {});
    await run('ip', ['netns', 'del', `ovnmeta-${id}`]).catch(() => {});
  }
  await chassis?.stop();
});

const until = <T>(fn: () => Promise<T | undefined | false>, what: string, ms = 20_000) =>
  chassis.waitFor(fn, ms, what);

/** A Chassis_Private external_ids value, read from the cluster (not the relay). */
const ext = async (key: string): Promise<string> =>
  (
    await chassis.sbctl('get', 'Chassis_Private', chassis.systemId, `external_ids:"${key}"`).catch(() => '')
  ).replace(/"/g, '');

async function metric(sample: string): Promise<number> {
  const text = await agent.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(sample));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

async function served(vm: Vm, port: VmPort): Promise<boolean> {
  const r = await vm
    .curl('http://169.254.169.254/latest/meta-data/instance-id', { timeoutMs: 2000 })
    .catch(() => undefined);
  return r?.status === 200 && r.body === port.instanceId;
}

/** Port_Binding rows the agent's replica holds, and the SB (cluster) has. */
async function portBindings(): Promise<{ held: number; sb: number }> {
  const held = await metric('ovnmeta_replica_rows{db="OVN_Southbound",table="Port_Binding"}');
  const sb = (await chassis.sbctl('--bare', '--columns=_uuid', 'list', 'Port_Binding'))
    .split('\n')
    .filter(Boolean).length;
  return { held, sb };
}

/** Bumps nb_cfg (northd copies it to SB_Global) and waits for the agent's sb-cfg to follow. */
async function heartbeatFollows(what: string): Promise<void> {
  await chassis.nbctl('--wait=sb', 'sync');
  const nbCfg = (await chassis.sbctl('get', 'SB_Global', '.', 'nb_cfg')).trim();
  expect(Number(nbCfg)).toBeGreaterThan(0);
  // Later writes come within neutron's random delay (<= 10 s at agent_down_time 75).
  await until(async () => (await ext('neutron:ovn-metadata-sb-cfg')) === nbCfg, what, 20_000);
}

describe('the agent through an SB relay in front of a Raft cluster', () => {
  let net: Network;

  test('the SB is a 3-member cluster and the relay is connected to it', async () => {
    const status = await chassis.appctl('sb', 'cluster/status', 'OVN_Southbound');
    expect(status).toMatch(/^Status: cluster member$/m);
    const servers = status.slice(status.indexOf('Servers:')).split('\n').slice(1);
    expect(servers.filter((l) => /^\s+\S+ \(\S+ at unix:/.test(l))).toHaveLength(3);
    // The relay answers the SB schema from its own copy.
    const tables = await run('ovsdb-client', ['list-tables', chassis.sbRelayRemote, 'OVN_Southbound']);
    expect(tables).toMatch(/^Port_Binding$/m);
  });

  test('reads through the relay: the VM is served; writes forwarded: registration and heartbeat reach the cluster', async () => {
    net = await createNetwork(chassis, { cidrs: ['10.91.0.0/24'] });
    made.add(net.id);
    const port = await createVmPort(net);
    const vm = await startVm(chassis, port);
    await until(() => served(vm, port), 'VM served by the agent behind the relay', 30_000);
    expect(await metric('ovnmeta_ovsdb_connected{db="OVN_Southbound"}')).toBe(1);
    // Default mode, conditional: a port bound nowhere is not held (the metadata port and ours are).
    await createVmPort(net, { ips: ['10.91.0.30'] });
    await until(async () => (await portBindings()).sb === 3, 'the unbound port in the SB');
    expect(await portBindings()).toEqual({ held: 2, sb: 3 });

    await until(async () => (await ext('neutron:ovn-metadata-id')) !== '', 'registered via the relay');
    expect(await ext('neutron:ovn-metadata-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await ext('neutron:ovn-bridge')).toBe('br-int');
    await heartbeatFollows('heartbeat forwarded by the relay');
  });

  test('the relay restarts: the agent reconnects, sees later changes and keeps heartbeating', async () => {
    const reconnects = await metric('ovnmeta_ovsdb_reconnects_total{db="OVN_Southbound"}');
    await chassis.restartRelay();
    await until(
      async () =>
        (await metric('ovnmeta_ovsdb_reconnects_total{db="OVN_Southbound"}')) > reconnects &&
        (await metric('ovnmeta_ovsdb_connected{db="OVN_Southbound"}')) === 1,
      'the agent reconnected to the restarted relay',
    );
    // A port created after the restart reaches the agent through the relay.
    const port = await createVmPort(net, { ips: ['10.91.0.20'] });
    const vm = await startVm(chassis, port);
    await until(() => served(vm, port), 'new VM served after the relay restart', 30_000);
    await heartbeatFollows('heartbeat after the relay restart');
  });
});

describe('sb_monitor = all, through the same relay', () => {
  test('the agent holds every Port_Binding, serves the VMs, registers and heartbeats', async () => {
    await agent.stop();
    agent = await startAgent(chassis, {
      novaPort: nova.port,
      sbConnection: chassis.sbRelayRemote,
      extra: 'sb_monitor = all',
    });
    // Every row of the SB, the unbound port included.
    await until(async () => {
      const { held, sb } = await portBindings();
      return held === sb && held > 0;
    }, 'the replica holds the whole Port_Binding table');
    // A new network with a VM here: found without any condition change.
    const other = await createNetwork(chassis, { cidrs: ['10.92.0.0/24'] });
    made.add(other.id);
    const port = await createVmPort(other);
    const vm = await startVm(chassis, port);
    await until(() => served(vm, port), 'VM in a new network served in mode all', 30_000);
    await heartbeatFollows('heartbeat in mode all');
  });
});
