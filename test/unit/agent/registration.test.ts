import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  METADATA_AGENT_ROLE,
  OVN_NEUTRON_AGENT_ROLE,
  decideRole,
  shadowedByOvnNeutronAgent,
  type AgentRole,
} from '../../../src/agent/agent-role.js';
import { Registration, maxHeartbeatDelayMs, registrationOps } from '../../../src/agent/registration.js';

type Op = Record<string, unknown>;

function setup(random = () => 0.5, role?: AgentRole) {
  const writes: Op[][] = [];
  let fail = 0;
  const reg = new Registration({
    ...(role ? { role } : {}),
    agentId: 'agent-1',
    bridge: 'br-int',
    agentDownTimeSeconds: 75,
    random,
    transact: async (ops) => {
      if (fail > 0) {
        fail--;
        throw new Error('connection lost');
      }
      writes.push(ops);
    },
  });
  return { reg, writes, failNext: (n: number) => (fail = n) };
}

const sbCfgOf = (ops: Op[]) => {
  const muts = ops[0]!.mutations as unknown[][];
  const ins = muts.find((m) => m[1] === 'insert')![2] as [string, [string, string][]];
  return Object.fromEntries(ins[1]);
};

describe('Registration', () => {
  afterEach(() => vi.useRealTimers());

  it('neutron delay bound: max(min(down // 3, 10), 3) seconds', () => {
    expect(maxHeartbeatDelayMs(75)).toBe(10_000);
    expect(maxHeartbeatDelayMs(15)).toBe(5_000);
    expect(maxHeartbeatDelayMs(6)).toBe(3_000);
  });

  it('registers with the id only-if-absent, bridge and sb-cfg replaced', () => {
    const [op] = registrationOps('row-1', 'agent-1', 'br-int', 7);
    expect(op).toEqual({
      op: 'mutate',
      table: 'Chassis_Private',
      where: [['_uuid', '==', ['uuid', 'row-1']]],
      mutations: [
        ['external_ids', 'delete', ['set', ['neutron:ovn-bridge', 'neutron:ovn-metadata-sb-cfg']]],
        [
          'external_ids',
          'insert',
          [
            'map',
            [
              ['neutron:ovn-metadata-id', 'agent-1'],
              ['neutron:ovn-bridge', 'br-int'],
              ['neutron:ovn-metadata-sb-cfg', '7'],
            ],
          ],
        ],
      ],
    });
  });

  it('writes the first heartbeat at once and later ones after the random delay, newest value', async () => {
    vi.useFakeTimers();
    const { reg, writes } = setup(() => 0.5);
    reg.chassisPrivate({ uuid: 'row-1', nbCfg: 3 });
    await vi.advanceTimersByTimeAsync(0);
    expect(writes).toHaveLength(1);
    expect(reg.registered).toBe(true);
    reg.sbGlobal(4);
    await vi.advanceTimersByTimeAsync(0);
    expect(writes).toHaveLength(2);
    expect(sbCfgOf(writes[1]!)).toEqual({ 'neutron:ovn-metadata-sb-cfg': '4' });
    reg.sbGlobal(5);
    reg.sbGlobal(6);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(writes).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(writes).toHaveLength(3);
    expect(sbCfgOf(writes[2]!)).toEqual({ 'neutron:ovn-metadata-sb-cfg': '6' });
  });

  it('registers again when the Chassis_Private row is recreated, and retries failed writes', async () => {
    vi.useFakeTimers();
    const { reg, writes, failNext } = setup();
    reg.chassisPrivate({ uuid: 'row-1', nbCfg: 1 });
    await vi.advanceTimersByTimeAsync(0);
    reg.chassisPrivate({ uuid: 'row-1', nbCfg: 1 });
    await vi.advanceTimersByTimeAsync(0);
    expect(writes).toHaveLength(1);
    failNext(1);
    reg.chassisPrivate({ uuid: 'row-2', nbCfg: 1 });
    await vi.advanceTimersByTimeAsync(0);
    expect(reg.registered).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(reg.registered).toBe(true);
    expect(writes).toHaveLength(2);
    expect((writes[1]![0]!.where as unknown[][])[0]).toEqual(['_uuid', '==', ['uuid', 'row-2']]);
  });
});

describe('the OVN Neutron agent role (neutron-ovn-agent with the metadata extension)', () => {
  afterEach(() => vi.useRealTimers());

  it('is chosen when [agent] extensions names metadata; otherwise the metadata agent', () => {
    expect(decideRole({ agent: { extensions: ['metadata'] } }).role).toBe(OVN_NEUTRON_AGENT_ROLE);
    const mixed = decideRole({ agent: { extensions: ['ovs', 'metadata', 'qos_hwol'] } });
    expect(mixed.role).toBe(OVN_NEUTRON_AGENT_ROLE);
    expect(mixed.ignoredExtensions).toEqual(['ovs', 'qos_hwol']);
    expect(decideRole({ agent: { extensions: [] } }).role).toBe(METADATA_AGENT_ROLE);
    expect(decideRole({ agent: { extensions: ['ovs'] } }).role).toBe(METADATA_AGENT_ROLE);
  });

  it("writes neutron-ovn-agent's keys and removes the metadata agent's in the same mutation", () => {
    const [op] = registrationOps('row-1', 'agent-n', 'br-int', 9, OVN_NEUTRON_AGENT_ROLE);
    expect((op as { mutations: unknown }).mutations).toEqual([
      [
        'external_ids',
        'delete',
        [
          'set',
          [
            'neutron:ovn-bridge',
            'neutron:ovn-neutron-agent-sb-cfg',
            'neutron:ovn-metadata-sb-cfg',
            'neutron:description-metadata',
            'neutron:ovn-metadata-id',
          ],
        ],
      ],
      [
        'external_ids',
        'insert',
        [
          'map',
          [
            ['neutron:ovn-neutron-agent-id', 'agent-n'],
            ['neutron:ovn-bridge', 'br-int'],
            ['neutron:ovn-neutron-agent-sb-cfg', '9'],
          ],
        ],
      ],
    ]);
  });

  it("the metadata agent role removes nothing of the OVN Neutron agent's", () => {
    const [op] = registrationOps('row-1', 'agent-1', 'br-int', 9, METADATA_AGENT_ROLE);
    const removed = ((op as { mutations: unknown }).mutations as unknown[][])[0]![2] as [string, string[]];
    expect(removed[1]).toEqual(['neutron:ovn-bridge', 'neutron:ovn-metadata-sb-cfg']);
  });

  it('heartbeats into neutron:ovn-neutron-agent-sb-cfg', async () => {
    vi.useFakeTimers();
    const { reg, writes } = setup(() => 0, OVN_NEUTRON_AGENT_ROLE);
    reg.chassisPrivate({ uuid: 'row-1', nbCfg: 3 });
    await vi.advanceTimersByTimeAsync(0);
    reg.sbGlobal(4);
    await vi.advanceTimersByTimeAsync(0);
    expect(sbCfgOf(writes[1]!)).toEqual({ 'neutron:ovn-neutron-agent-sb-cfg': '4' });
  });
});

describe('guard: another writer on our keys', () => {
  afterEach(() => vi.useRealTimers());
  const ids = (o: Record<string, string>) => new Map(Object.entries(o));

  it('our id removed (neutron-ovn-agent start-up): register again, without the cleanup', async () => {
    vi.useFakeTimers();
    const { reg, writes } = setup();
    reg.chassisPrivate({ uuid: 'row-1', nbCfg: 3, externalIds: ids({}) });
    await vi.advanceTimersByTimeAsync(0);
    reg.sbGlobal(5);
    await vi.advanceTimersByTimeAsync(0);
    expect(writes).toHaveLength(2);
    // our keys as we wrote them: nothing to do
    reg.chassisPrivate({
      uuid: 'row-1',
      nbCfg: 5,
      externalIds: ids({ 'neutron:ovn-metadata-id': 'agent-1', 'neutron:ovn-metadata-sb-cfg': '5' }),
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(writes).toHaveLength(2);
    // removed by someone else
    reg.chassisPrivate({
      uuid: 'row-1',
      nbCfg: 5,
      externalIds: ids({ 'neutron:ovn-neutron-agent-id': 'x' }),
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(writes).toHaveLength(3);
    expect(sbCfgOf(writes[2]!)).toEqual({
      'neutron:ovn-metadata-id': 'agent-1',
      'neutron:ovn-bridge': 'br-int',
      'neutron:ovn-metadata-sb-cfg': '5',
    });
  });

  it('our sb-cfg set back to an older value: the newest is written again', async () => {
    vi.useFakeTimers();
    const { reg, writes } = setup(() => 0, OVN_NEUTRON_AGENT_ROLE);
    reg.chassisPrivate({ uuid: 'row-1', nbCfg: 7, externalIds: ids({}) });
    await vi.advanceTimersByTimeAsync(0);
    reg.sbGlobal(8);
    await vi.advanceTimersByTimeAsync(0);
    expect(writes).toHaveLength(2);
    reg.chassisPrivate({
      uuid: 'row-1',
      nbCfg: 8,
      externalIds: ids({
        'neutron:ovn-neutron-agent-id': 'agent-1',
        'neutron:ovn-neutron-agent-sb-cfg': '7',
      }),
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(writes).toHaveLength(3);
    expect(sbCfgOf(writes[2]!)).toEqual({ 'neutron:ovn-neutron-agent-sb-cfg': '8' });
    // a newer value than ours (the other writer is ahead) is left alone
    reg.chassisPrivate({
      uuid: 'row-1',
      nbCfg: 8,
      externalIds: ids({
        'neutron:ovn-neutron-agent-id': 'agent-1',
        'neutron:ovn-neutron-agent-sb-cfg': '9',
      }),
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(writes).toHaveLength(3);
  });
});

describe('shadowedByOvnNeutronAgent', () => {
  const withAgentId = new Map([['neutron:ovn-neutron-agent-id', 'a-1']]);
  it('the metadata agent is shadowed by an OVN Neutron agent id on its row; that agent itself is not', () => {
    expect(shadowedByOvnNeutronAgent(METADATA_AGENT_ROLE, withAgentId)).toBe(true);
    expect(shadowedByOvnNeutronAgent(METADATA_AGENT_ROLE, new Map())).toBe(false);
    expect(shadowedByOvnNeutronAgent(METADATA_AGENT_ROLE, undefined)).toBe(false);
    expect(shadowedByOvnNeutronAgent(OVN_NEUTRON_AGENT_ROLE, withAgentId)).toBe(false);
  });
});
