// The agent's wiring against the in-memory OVSDB server serving the real
// Open_vSwitch and OVN_Southbound schemas (monitor conditions evaluated,
// monitor_cond_change answered with the rows it selects), with a recording
// host and proxy and a fake clock: start-up order, event routing to network
// keys, readiness. The kernel and the proxy's listeners are the e2e ring's.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, type AgentHost, type AgentProxy } from '../../../src/agent/agent.js';
import { parseConfig } from '../../../src/agent/config/index.js';
import type { DesiredNetwork } from '../../../src/agent/desired.js';
import { OvsdbClient, type OvsdbClientOptions } from '../../../src/ovsdb/index.js';
import { FakeClock, FakeOvsdbServer, settle, uuidOf } from '../ovsdb/client-fake-server.js';
import { sbSchemaJson, vswitchSchemaJson } from '../schemas.js';
import {
  CH,
  NET_A,
  NET_B,
  NET_C,
  OTHER_CH,
  SYSTEM_ID,
  addChassis,
  addNetwork,
  datapathRow,
  DP,
  map,
  metadataPortRow,
  ref,
  vmPortRow,
} from './sb-rows-wire.js';

function ovsRoot(systemId: string | undefined) {
  return {
    external_ids: map(systemId === undefined ? {} : { 'system-id': systemId }),
    bridges: ['set', [ref(uuidOf(0x50))]],
  };
}

class RecordingHost implements AgentHost {
  readonly timeline: string[];
  namespaces: string[] = [];
  /** Until opened, every ensure waits (the first pass cannot finish). */
  gate: Promise<void> = Promise.resolve();
  constructor(timeline: string[]) {
    this.timeline = timeline;
  }
  /** The next ensures that fail (a retryable error). */
  failures = 0;
  readonly plumbing = {
    ensure: async (net: DesiredNetwork) => {
      this.timeline.push(`ensure ${net.networkId}`);
      await this.gate;
      if (this.failures > 0) {
        this.failures--;
        throw Object.assign(new Error('host busy'), { retryable: true });
      }
      return 'created' as const;
    },
    remove: async (namespace: string) => {
      this.timeline.push(`remove ${namespace}`);
      return 'unchanged' as const;
    },
  };
  networksWithNamespace = async () => this.namespaces;
}

class RecordingProxy implements AgentProxy {
  readonly networks = new Set<string>();
  async ensureListener(o: { network: string }) {
    const had = this.networks.has(o.network);
    this.networks.add(o.network);
    return had ? ('unchanged' as const) : ('created' as const);
  }
  async removeListener(network: string) {
    return this.networks.delete(network) ? ('removed' as const) : ('unchanged' as const);
  }
  listenerCount() {
    return this.networks.size;
  }
  async listenUnixSocket() {}
  async close() {}
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await settle(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function world(o: { systemId?: boolean } = {}) {
  const timeline: string[] = [];
  const clock = new FakeClock();
  const ovs = new FakeOvsdbServer(clock, vswitchSchemaJson());
  const sb = new FakeOvsdbServer(clock, sbSchemaJson());
  ovs.put('Open_vSwitch', uuidOf(0x40), ovsRoot(o.systemId === false ? undefined : SYSTEM_ID));
  ovs.put('Bridge', uuidOf(0x50), { name: 'br-int', datapath_type: 'system', ports: ['set', []] });
  addChassis(sb);
  // Record the SB requests that shape the monitor, in order, in the timeline.
  for (const method of ['monitor_cond_since', 'monitor_cond_change']) {
    sb.handlers.set(method, (conn, params) => {
      timeline.push(`${method} ${JSON.stringify(method === 'monitor_cond_change' ? params[2] : params[2])}`);
      return sb.default(conn, method, params);
    });
  }
  const host = new RecordingHost(timeline);
  const proxy = new RecordingProxy();
  const config = parseConfig([
    {
      name: 'test.ini',
      text: '[DEFAULT]\nmetadata_proxy_socket =\n[ovnmeta]\nresync_interval = 300\n',
    },
  ]);
  const start = () =>
    Agent.start({
      config,
      logger: pino({ level: 'silent' }),
      admin: null,
      clock,
      openClient: (o: OvsdbClientOptions) =>
        new OvsdbClient({ ...o, transport: o.database === 'Open_vSwitch' ? ovs.factory : sb.factory }),
      host,
      proxy: async () => proxy,
    });
  return { timeline, clock, ovs, sb, host, proxy, start };
}

const ensures = (timeline: readonly string[], net: string) =>
  timeline.filter((t) => t === `ensure ${net}`).length;

let agent: Agent | undefined;
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
});

describe('Agent start-up order', () => {
  it('opens the Southbound only once the OVS db names the chassis (system-id)', async () => {
    const w = world({ systemId: false });
    const started = w.start();
    await settle();
    expect(w.ovs.conns).toHaveLength(1);
    expect(w.sb.conns).toHaveLength(0);
    w.ovs.put('Open_vSwitch', uuidOf(0x40), ovsRoot(SYSTEM_ID));
    agent = await started;
    expect(w.sb.conns).toHaveLength(1);
  });

  it('reads our Chassis row, then targets the conditions at it, before reconciling anything', async () => {
    const w = world();
    addNetwork(w.sb, NET_A, 1);
    addNetwork(w.sb, NET_B, 2, OTHER_CH); // its VM is bound elsewhere: never served here
    agent = await w.start();
    const shaping = w.timeline.filter((t) => t.startsWith('monitor_'));
    // The default (static) clauses: every metadata port and datapath from the
    // first monitor on, no VM port until our Chassis row names our uuid.
    expect(shaping[0]).toMatch(/^monitor_cond_since /);
    expect(shaping[0]).toContain('"Port_Binding":{"columns"');
    expect(shaping[0]).toContain('["type","==","localport"]');
    expect(shaping[0]).not.toContain('["chassis","=="');
    expect(shaping[1]).toContain(`["chassis","==",["uuid","${CH}"]]`);
    // They change with the Chassis row only, never per network.
    expect(shaping.join('\n')).not.toContain(NET_A);
    expect(shaping).toHaveLength(2);
    // Nothing was reconciled before the conditions settled; then network A, not B.
    const firstEnsure = w.timeline.indexOf(`ensure ${NET_A}`);
    expect(firstEnsure).toBeGreaterThan(w.timeline.indexOf(shaping[1]!));
    await agent.idle();
    expect(ensures(w.timeline, NET_B)).toBe(0);
    expect(w.proxy.networks).toEqual(new Set([NET_A]));
  });

  it('adds networks that only have a namespace on the host to the first pass', async () => {
    const w = world();
    w.host.namespaces = [NET_C];
    agent = await w.start();
    await agent.idle();
    // No SB rows for it: it is torn down (the namespace removed), not served.
    expect(w.timeline).toContain(`remove ovnmeta-${NET_C}`);
  });
});

describe('Agent readiness', () => {
  it('is ready only after the first reconcile pass, not when start() returns', async () => {
    const w = world();
    addNetwork(w.sb, NET_A, 1);
    let open!: () => void;
    w.host.gate = new Promise<void>((r) => (open = r));
    agent = await w.start();
    await until('the first ensure', () => ensures(w.timeline, NET_A) === 1);
    expect(agent.notReady()).toBe('first reconcile pass not done');
    open();
    await agent.idle();
    await settle();
    expect(agent.notReady()).toBeUndefined();
  });
});

describe('Agent event routing', () => {
  it('a Port_Binding change reaches its own network key and no other', async () => {
    const w = world();
    addNetwork(w.sb, NET_A, 1);
    addNetwork(w.sb, NET_B, 2);
    agent = await w.start();
    await agent.idle();
    expect([ensures(w.timeline, NET_A), ensures(w.timeline, NET_B)]).toEqual([1, 1]);
    // Network B's metadata port gets another subnet.
    w.sb.put('Port_Binding', uuidOf(0x102), metadataPortRow(NET_B, '10.0.2.2/24,10.0.9.2/24', '10.0.2.2'));
    await until('network B reconciled again', () => ensures(w.timeline, NET_B) === 2);
    await agent.idle();
    expect(ensures(w.timeline, NET_A)).toBe(1);
    // A change the desired state does not read (a revision number) reaches no key.
    w.sb.put('Port_Binding', uuidOf(0x102), {
      ...metadataPortRow(NET_B, '10.0.2.2/24,10.0.9.2/24', '10.0.2.2'),
      external_ids: map({
        'neutron:device_owner': 'network:distributed',
        'neutron:device_id': `ovnmeta-${NET_B}`,
        'neutron:cidrs': '10.0.2.2/24,10.0.9.2/24',
        'neutron:revision_number': '9',
      }),
    });
    await settle();
    await agent.idle();
    expect([ensures(w.timeline, NET_A), ensures(w.timeline, NET_B)]).toEqual([1, 2]);
  });

  it('a VM port bound here in a new network serves that network, with no condition change', async () => {
    const w = world();
    addNetwork(w.sb, NET_A, 1);
    addNetwork(w.sb, NET_C, 3, OTHER_CH);
    agent = await w.start();
    await agent.idle();
    expect(ensures(w.timeline, NET_C)).toBe(0);
    // The VM of network C moves to this chassis.
    w.sb.put('Port_Binding', uuidOf(0x203), vmPortRow(NET_C, '10.0.3.10', CH));
    const changesBefore = w.timeline.filter((t) => t.startsWith('monitor_cond_change')).length;
    await until('network C served', () => w.proxy.networks.has(NET_C));
    // The static clauses already selected its datapath and metadata port.
    expect(w.timeline.filter((t) => t.startsWith('monitor_cond_change'))).toHaveLength(changesBefore);
    expect(ensures(w.timeline, NET_A)).toBe(1);
    // The identity index follows the same events: the VM is known by its address.
    expect(agent.identity.lookup(NET_C, '10.0.3.10')).toMatchObject({
      kind: 'found',
      instanceId: `inst-${NET_C}`,
    });
  });

  it('a VM port neutron asked to bind here is prepared for before it is bound; its VM is known only once bound', async () => {
    const w = world();
    addNetwork(w.sb, NET_A, 1);
    agent = await w.start();
    await agent.idle();
    // nova binds the port to this host: neutron sets requested-chassis, northd
    // fills requested_chassis; the VIF is not plugged, nothing is bound yet.
    const { chassis: _unbound, ...requested } = vmPortRow(NET_C, '10.0.3.10', CH);
    w.sb.put('Datapath_Binding', DP[NET_C]!, datapathRow(NET_C));
    w.sb.put('Port_Binding', uuidOf(0x103), metadataPortRow(NET_C, '10.0.3.2/24', '10.0.3.2'));
    w.sb.put('Port_Binding', uuidOf(0x203), { ...requested, requested_chassis: ref(CH) });
    await until('network C served', () => w.proxy.networks.has(NET_C));
    expect(agent.identity.lookup(NET_C, '10.0.3.10').kind).not.toBe('found');
    // ovn-controller claims it once plugged: now the VM is known.
    w.sb.put('Port_Binding', uuidOf(0x203), { ...requested, requested_chassis: ref(CH), chassis: ref(CH) });
    await until('VM known', () => agent!.identity.lookup(NET_C, '10.0.3.10').kind === 'found');
    // Requested elsewhere and unbound (nova moved it away before plugging): no longer wanted here.
    w.sb.put('Port_Binding', uuidOf(0x203), { ...requested, requested_chassis: ref(OTHER_CH) });
    await until('network C torn down', () => !w.proxy.networks.has(NET_C));
  });

  it('a failed reconcile is retried after its backoff, on the clock it was given', async () => {
    const w = world();
    addNetwork(w.sb, NET_A, 1);
    w.host.failures = 1;
    agent = await w.start();
    await agent.idle();
    await settle();
    expect(ensures(w.timeline, NET_A)).toBe(1);
    expect(w.proxy.networks.has(NET_A)).toBe(false);
    // The first backoff is 5 ms (work-queue.ts): nothing happens until the clock moves.
    await w.clock.advance(5);
    await until('the retry', () => w.proxy.networks.has(NET_A));
    expect(ensures(w.timeline, NET_A)).toBe(2);
  });

  it('the periodic resync enqueues every network on the clock it was given', async () => {
    const w = world();
    addNetwork(w.sb, NET_A, 1);
    agent = await w.start();
    await agent.idle();
    expect(ensures(w.timeline, NET_A)).toBe(1);
    await w.clock.advance(299_000);
    expect(ensures(w.timeline, NET_A)).toBe(1);
    await w.clock.advance(1_000);
    await until('the resync pass', () => ensures(w.timeline, NET_A) === 2);
  });
});
