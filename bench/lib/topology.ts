// Builds a provisioning bench topology fast, on a sandbox chassis: N
// neutron-shaped networks, each with its metadata port (a localport) and one
// VM port, and one namespace "VM" per VM port plugged into br-int so that
// ovn-controller binds it to this chassis for real (a binding made with
// `ovn-sbctl lsp-bind` to a chassis that runs ovn-controller is released by
// it: ovn-test-env.md).
//
// The rows are those src/sandbox/neutron.ts writes one network at a time
// (same external_ids, same address plan: .2 metadata, .10 the VM); here they
// go out in a few big `ovn-nbctl` transactions, and the VMs are made with a
// handful of spawns per batch instead of four per VM, so that 1,000 networks
// take seconds, not minutes. Names are unique to the run and never start with
// `ovnmeta-`.
import { randomBytes, randomUUID } from 'node:crypto';
import { namespaceName, vethNames } from '../../src/namespace/index.js';
import { quote, randomMac, run, runRaw, type Chassis } from '../../src/sandbox/index.js';

export interface BenchVm {
  /** LSP name = Port_Binding.logical_port. */
  readonly port: string;
  readonly mac: string;
  readonly ip: string;
  readonly instanceId: string;
  readonly projectId: string;
  /** The VM's namespace and the two ends of its veth (guest end inside). */
  readonly namespace: string;
  readonly hostLink: string;
  readonly guestLink: string;
}

export interface BenchNetwork {
  readonly id: string;
  readonly switchName: string;
  readonly prefix: number;
  readonly metadataPort: { readonly name: string; readonly mac: string; readonly ip: string };
  readonly vm: BenchVm;
  /** What the agent must make: its namespace, veth ends, the addresses inside. */
  readonly namespace: string;
  readonly vethRoot: string;
  readonly vethInside: string;
  readonly addresses: readonly string[];
}

const METADATA_CIDR = '169.254.169.254/32';
const RUN = randomBytes(2).toString('hex');

/**
 * Network `index` of this run: subnet 10.(100 + index/256).(index%256).0/24,
 * random uuids (unique per run), link names within IFNAMSIZ (15).
 */
export function planNetwork(index: number): BenchNetwork {
  if (index < 0 || index >= 150 * 256) throw new RangeError(`network index ${index} out of range`);
  const id = randomUUID();
  const net = `10.${100 + (index >> 8)}.${index & 255}`;
  const tag = `b${RUN}${index.toString(36).padStart(3, '0')}`;
  const veth = vethNames(id);
  const metadataIp = `${net}.2`;
  return {
    id,
    switchName: `neutron-${id}`,
    prefix: 24,
    metadataPort: { name: randomUUID(), mac: randomMac(), ip: metadataIp },
    vm: {
      port: randomUUID(),
      mac: randomMac(),
      ip: `${net}.10`,
      instanceId: randomUUID(),
      projectId: randomUUID().replaceAll('-', ''),
      namespace: `sbx-bench-${RUN}-${index}`,
      hostLink: `${tag}h`,
      guestLink: `${tag}g`,
    },
    namespace: namespaceName(id),
    vethRoot: veth.root,
    vethInside: veth.inside,
    addresses: [METADATA_CIDR, `${metadataIp}/24`],
  };
}

/** `column:key=value` arguments of ovn-nbctl/ovs-vsctl `set`, quoted. */
function mapArgs(column: string, entries: Record<string, string>): string[] {
  return Object.entries(entries).map(([k, v]) => `${column}:${quote(k)}=${quote(v)}`);
}

/**
 * ovn-nbctl commands for one network, as neutron-server writes them (see
 * neutron.ts). `requestedChassis`: the VM port's binding host, which neutron
 * sets (options:requested-chassis) once nova has bound the port, before the
 * plug; undefined leaves it out.
 */
function nbCommands(n: BenchNetwork, requestedChassis: string | undefined): string[] {
  const ls = n.switchName;
  const meta = n.metadataPort;
  const vmAddresses = `${n.vm.mac} ${n.vm.ip}`;
  return [
    ...['--', 'ls-add', ls, '--', 'set', 'Logical_Switch', ls],
    ...mapArgs('external_ids', {
      'neutron:network_name': `net-${n.id.slice(0, 8)}`,
      'neutron:revision_number': '1',
    }),
    ...['--', 'lsp-add', ls, meta.name, '--', 'lsp-set-type', meta.name, 'localport'],
    ...['--', 'lsp-set-addresses', meta.name, `${meta.mac} ${meta.ip}`],
    ...['--', 'set', 'Logical_Switch_Port', meta.name],
    ...mapArgs('external_ids', {
      'neutron:device_owner': 'network:distributed',
      'neutron:device_id': `ovnmeta-${n.id}`,
      'neutron:cidrs': `${meta.ip}/${n.prefix}`,
      'neutron:network_name': ls,
      'neutron:project_id': '',
    }),
    ...['--', 'lsp-add', ls, n.vm.port, '--', 'lsp-set-addresses', n.vm.port, vmAddresses],
    ...['--', 'lsp-set-port-security', n.vm.port, vmAddresses],
    ...['--', 'set', 'Logical_Switch_Port', n.vm.port],
    ...mapArgs('external_ids', {
      'neutron:device_id': n.vm.instanceId,
      'neutron:device_owner': 'compute:nova',
      'neutron:project_id': n.vm.projectId,
      'neutron:cidrs': `${n.vm.ip}/${n.prefix}`,
      'neutron:network_name': ls,
      'neutron:port_name': '',
    }),
    ...(requestedChassis === undefined ? [] : mapArgs('options', { 'requested-chassis': requestedChassis })),
  ];
}

/** Writes the networks to the NB, `perTransaction` networks per ovn-nbctl call. */
export async function writeNorthbound(
  chassis: Chassis,
  networks: readonly BenchNetwork[],
  o: { perTransaction?: number; requestedChassis?: boolean } = {},
): Promise<void> {
  const perTransaction = o.perTransaction ?? 100;
  const requested = o.requestedChassis === false ? undefined : chassis.systemId;
  for (let i = 0; i < networks.length; i += perTransaction) {
    await chassis.nbctl(...networks.slice(i, i + perTransaction).flatMap((n) => nbCommands(n, requested)));
  }
}

/** Runs `fn` over `items`, at most `limit` at a time. */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Makes the VMs' namespaces and veths, configured as a booted guest would be
 * (address, route to 169.254.169.254 via the metadata port, no IPv6, tx
 * checksum offload off for the userspace datapath), not yet plugged. Spawns:
 * two `ip -batch` and one ethtool loop for all, then one `ip -n NS -batch`
 * per VM. The guest's ARP retransmit timer is 50 ms instead of 1 s, so that
 * an ARP sent before OVN's flows exist costs the measurement 50 ms, not 1 s.
 */
export async function prepareVms(networks: readonly BenchNetwork[]): Promise<void> {
  const vms = networks.map((n) => n.vm);
  await run('ip', ['-batch', '-'], {
    input: vms
      .flatMap((vm) => [
        `netns add ${vm.namespace}`,
        `link add ${vm.hostLink} type veth peer name ${vm.guestLink}`,
        `link set ${vm.guestLink} address ${vm.mac}`,
      ])
      .join('\n'),
    timeoutMs: 120_000,
  });
  // Features (unlike addresses) survive the move into the namespace.
  await run(
    'sh',
    ['-ec', 'for d; do ethtool -K "$d" tx off >/dev/null; done', 'sh', ...vms.map((v) => v.guestLink)],
    {
      timeoutMs: 120_000,
    },
  );
  await run('ip', ['-batch', '-'], {
    input: vms
      .flatMap((vm) => [`link set ${vm.guestLink} netns ${vm.namespace}`, `link set ${vm.hostLink} up`])
      .join('\n'),
    timeoutMs: 120_000,
  });
  await eachLimited(networks, 8, async (n) => {
    const g = n.vm.guestLink;
    await run('ip', ['-n', n.vm.namespace, '-batch', '-'], {
      input: [
        'link set lo up',
        `link set ${g} addrgenmode none`,
        `ntable change name arp_cache dev ${g} retrans 50`,
        `addr add ${n.vm.ip}/${n.prefix} dev ${g}`,
        `link set ${g} up`,
        `route add 169.254.169.254/32 via ${n.metadataPort.ip} dev ${g}`,
      ].join('\n'),
    });
  });
}

/** Plugs the VMs into the integration bridge as os-vif does: iface-id = the logical port. */
export async function plugVms(
  chassis: Chassis,
  networks: readonly BenchNetwork[],
  perTransaction = 200,
): Promise<void> {
  for (let i = 0; i < networks.length; i += perTransaction) {
    const args = networks.slice(i, i + perTransaction).flatMap(({ vm }) => [
      ...['--', 'add-port', chassis.bridge, vm.hostLink, '--', 'set', 'Interface', vm.hostLink],
      ...mapArgs('external_ids', {
        'iface-id': vm.port,
        'attached-mac': vm.mac,
        'vm-uuid': vm.instanceId,
        'iface-status': 'active',
      }),
    ]);
    await chassis.vsctl(...args);
  }
}

/**
 * `ip -force -batch` input removing what the run made on the host: the VMs,
 * and the agent's namespaces and veths of these networks only (the agent
 * leaves them on stop). Tolerant of parts already gone; the OVS ports go
 * with the chassis. Used async at the end and synchronously at exit.
 */
export function hostCleanupScript(networks: readonly BenchNetwork[]): string {
  return networks
    .flatMap((n) => [
      `link del ${n.vm.hostLink}`,
      `netns del ${n.vm.namespace}`,
      `link del ${n.vethRoot}`,
      `netns del ${n.namespace}`,
    ])
    .join('\n');
}

export async function removeFromHost(networks: readonly BenchNetwork[]): Promise<void> {
  if (networks.length === 0) return;
  await runRaw('ip', ['-force', '-batch', '-'], { input: hostCleanupScript(networks), timeoutMs: 300_000 });
}
