// Watches, from outside the agent, the two moments the provisioning bench
// measures, with timestamps on this process' performance.now() clock:
//
// - bound: ovn-controller wrote Port_Binding.chassis = this chassis for a VM
//   port (our own OVSDB monitor of the SB: the update reaches us when it
//   reaches the agent);
// - plumbed: the network is fully plumbed on the host, i.e. the integration
//   bridge has an Interface named after its root veth with external_ids
//   iface-id = the metadata port (our own monitor of the local OVS db, no
//   polling), AND its namespace exists with every address on the inside veth
//   (one `ip -n NS -json addr show` per network, run as soon as the OVS port
//   appears and repeated every 10 ms until the addresses are there). The
//   time recorded is when that host check returned, so it is an upper bound
//   that includes one `ip` spawn (a few ms).
import { runRaw } from '../../src/sandbox/index.js';
import { OvsdbClient, type Row, type RowEvent } from '../../src/ovsdb/index.js';
import type { Chassis } from '../../src/sandbox/index.js';
import type { BenchNetwork } from './topology.js';

interface Waiter {
  at?: number;
  resolve?: (at: number) => void;
}

function waiter(map: Map<string, Waiter>, key: string): Waiter {
  let w = map.get(key);
  if (w === undefined) map.set(key, (w = {}));
  return w;
}

function settle(map: Map<string, Waiter>, key: string, at: number): void {
  const w = waiter(map, key);
  if (w.at !== undefined) return;
  w.at = at;
  w.resolve?.(at);
}

function when(map: Map<string, Waiter>, key: string): Promise<number> {
  const w = waiter(map, key);
  if (w.at !== undefined) return Promise.resolve(w.at);
  return new Promise((resolve) => (w.resolve = resolve));
}

/** The addresses on `device` in `namespace`, `ip/prefix`; undefined when either is missing. */
export async function addressesIn(namespace: string, device: string): Promise<Set<string> | undefined> {
  const r = await runRaw('ip', ['-n', namespace, '-json', 'addr', 'show', 'dev', device]);
  if (r.exitCode !== 0) return undefined;
  const links = JSON.parse(r.stdout || '[]') as { addr_info?: { local: string; prefixlen: number }[] }[];
  return new Set((links[0]?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
}

export class Observer {
  readonly #bound = new Map<string, Waiter>(); // VM logical port -> bound time
  readonly #plumbed = new Map<string, Waiter>(); // network id -> plumbed time
  readonly #installed = new Map<string, Waiter>(); // VM host link -> ovn-installed time
  readonly #byVeth = new Map<string, BenchNetwork>();
  readonly #byVmLink = new Set<string>();
  readonly #byVmPort = new Set<string>();
  readonly #checking = new Set<string>();
  /** Host checks in flight; bounded so that the bench does not crowd the agent's own spawns. */
  #inFlight = 0;
  readonly #queued: (() => void)[] = [];
  #closed = false;

  private constructor(
    private readonly chassis: Chassis,
    private readonly ovs: OvsdbClient,
    private readonly sb: OvsdbClient,
    private readonly maxChecks: number,
  ) {}

  static async start(chassis: Chassis, maxChecks = 2): Promise<Observer> {
    const ovs = new OvsdbClient({
      remote: chassis.ovsDbRemote,
      database: 'Open_vSwitch',
      probeIntervalMs: 0,
    });
    ovs.monitor({ Interface: { columns: ['name', 'external_ids'] } });
    const sb = new OvsdbClient({ remote: chassis.sbRemote, database: 'OVN_Southbound', probeIntervalMs: 0 });
    sb.monitor({ Port_Binding: { columns: ['logical_port', 'chassis'] } });
    await Promise.all([ovs.start(), sb.start()]);
    const observer = new Observer(chassis, ovs, sb, maxChecks);
    ovs.replica.on('change', (events: readonly RowEvent[]) =>
      observer.#onInterfaces(events.map((e) => e.new)),
    );
    sb.replica.on('change', (events: readonly RowEvent[]) => observer.#onBindings(events.map((e) => e.new)));
    return observer;
  }

  /** Starts watching these networks (their VM binding and their plumbing). */
  watch(networks: readonly BenchNetwork[]): void {
    for (const n of networks) {
      this.#byVeth.set(n.vethRoot, n);
      this.#byVmPort.add(n.vm.port);
      this.#byVmLink.add(n.vm.hostLink);
    }
    this.#onInterfaces(this.ovs.replica.table('Interface').values());
    this.#onBindings(this.sb.replica.table('Port_Binding').values());
  }

  /** When the VM port of `network` was first seen bound to this chassis. */
  bound(network: BenchNetwork): Promise<number> {
    return when(this.#bound, network.vm.port);
  }

  /** When `network` was first seen fully plumbed (see the header). */
  plumbed(network: BenchNetwork): Promise<number> {
    return when(this.#plumbed, network.id);
  }

  /**
   * When ovn-controller marked the VM's OVS interface ovn-installed: its
   * flows are in vswitchd (the barrier after them was answered). This is when
   * the port goes up, neutron tells nova, and nova starts the guest.
   */
  installed(network: BenchNetwork): Promise<number> {
    return when(this.#installed, network.vm.hostLink);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([this.ovs.close(), this.sb.close()]);
  }

  #onBindings(rows: Iterable<Row | undefined>): void {
    const now = performance.now();
    const ours = this.chassis.chassisUuid;
    for (const row of rows) {
      const port = row?.logical_port;
      if (typeof port === 'string' && row?.chassis === ours && this.#byVmPort.has(port)) {
        settle(this.#bound, port, now);
      }
    }
  }

  #onInterfaces(rows: Iterable<Row | undefined>): void {
    const now = performance.now();
    for (const row of rows) {
      const name = row?.name;
      if (typeof name === 'string' && this.#byVmLink.has(name)) {
        const ids = row?.external_ids;
        if (ids instanceof Map && ids.get('ovn-installed') === 'true') settle(this.#installed, name, now);
        continue;
      }
      const net = typeof row?.name === 'string' ? this.#byVeth.get(row.name) : undefined;
      if (net === undefined || this.#plumbed.get(net.id)?.at !== undefined || this.#checking.has(net.id)) {
        continue;
      }
      const ids = row?.external_ids;
      if (ids instanceof Map && ids.get('iface-id') === net.metadataPort.name) void this.#check(net);
    }
  }

  async #acquire(): Promise<void> {
    if (this.#inFlight < this.maxChecks) this.#inFlight++;
    else await new Promise<void>((r) => this.#queued.push(r)); // the releaser hands its slot over
  }

  #release(): void {
    const next = this.#queued.shift();
    if (next) next();
    else this.#inFlight--;
  }

  /** Host check of one network, repeated until its addresses are all there. */
  async #check(net: BenchNetwork): Promise<void> {
    this.#checking.add(net.id);
    try {
      while (!this.#closed) {
        await this.#acquire();
        let have: Set<string> | undefined;
        try {
          have = await addressesIn(net.namespace, net.vethInside);
        } finally {
          this.#release();
        }
        if (have !== undefined && net.addresses.every((a) => have.has(a))) {
          settle(this.#plumbed, net.id, performance.now());
          return;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      this.#checking.delete(net.id);
    }
  }
}
