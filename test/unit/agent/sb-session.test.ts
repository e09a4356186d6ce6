// The one local SB session (sb-session.ts) alone, as `verify` uses it: one
// start and one settle give our Chassis row, the local networks and their
// metadata ports; after a reconnect the conditions are brought up to date.
import { afterEach, describe, expect, it } from 'vitest';
import { SbSession } from '../../../src/agent/sb-session.js';
import { OvsdbClient } from '../../../src/ovsdb/index.js';
import { FakeOvsdbServer, settle, uuidOf } from '../ovsdb/client-fake-server.js';
import { sbSchemaJson } from '../schemas.js';
import {
  CH,
  DP,
  NET_A,
  NET_B,
  NET_C,
  OTHER_CH,
  SYSTEM_ID,
  addChassis,
  addNetwork,
  vmPortRow,
} from './sb-rows-wire.js';

let session: SbSession | undefined;
afterEach(async () => {
  await session?.close();
  session = undefined;
});

function open(sb: FakeOvsdbServer, onChassis?: (uuid: string | undefined) => void): SbSession {
  return new SbSession({
    remote: 'tcp:192.0.2.1:6642',
    systemId: SYSTEM_ID,
    client: { probeIntervalMs: 0 },
    openClient: (o) => new OvsdbClient({ ...o, transport: sb.factory, random: () => 0 }),
    ...(onChassis ? { onChassis } : {}),
  });
}

describe('SbSession', () => {
  it("start() reads our Chassis row; settle() loads this chassis' VM ports and every metadata port and datapath", async () => {
    const sb = new FakeOvsdbServer(undefined, sbSchemaJson());
    addChassis(sb);
    addNetwork(sb, NET_A, 1);
    addNetwork(sb, NET_B, 2, OTHER_CH);
    const seen: (string | undefined)[] = [];
    session = open(sb, (uuid) => seen.push(uuid));
    await session.start();
    expect(session.chassis).toBe(CH);
    expect(seen).toEqual([CH]);
    await session.settle();
    expect(session.scanLocalNetworks().networks).toEqual(new Set([NET_A]));
    expect(session.monitors(NET_A)).toBe(true);
    // The default static clauses select every metadata port, not VM ports
    // bound to another chassis (docs/scale.md).
    const ports = [...session.client.replica.table('Port_Binding').values()].map((r) => r.logical_port);
    expect(ports.sort()).toEqual([`meta-${NET_A}`, `meta-${NET_B}`, `vm-${NET_A}`]);
    expect(session.view.inputs(NET_A, session.chassis).metadataPorts).toHaveLength(1);
    expect(session.view.datapathOfNetwork(NET_B)?.uuid).toBe(DP[NET_B]);
  });

  it('after a reconnect, a VM that moved here meanwhile is loaded and names its network', async () => {
    const sb = new FakeOvsdbServer(undefined, sbSchemaJson());
    addChassis(sb);
    addNetwork(sb, NET_A, 1);
    addNetwork(sb, NET_C, 3, OTHER_CH);
    session = open(sb);
    await session.start();
    await session.settle();
    expect(session.scanLocalNetworks().networks).toEqual(new Set([NET_A]));
    sb.last.drop();
    // While we were away, network C's VM moved here.
    sb.put('Port_Binding', uuidOf(0x203), vmPortRow(NET_C, '10.0.3.10', CH));
    for (let i = 0; i < 100 && !session.scanLocalNetworks().networks.has(NET_C); i++) await settle(5);
    expect(sb.conns).toHaveLength(2);
    expect(session.scanLocalNetworks().networks).toEqual(new Set([NET_A, NET_C]));
    expect(session.monitors(NET_C)).toBe(true);
    expect(session.view.datapathOfNetwork(NET_C)?.uuid).toBe(DP[NET_C]);
  });
});
