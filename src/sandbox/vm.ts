// A "VM" on a sandbox chassis: a network namespace whose eth0 is one end of
// a veth pair, the other end plugged into the integration bridge with
// external_ids:iface-id = its logical port, as nova/os-vif plugs a tap. Once
// ovn-controller sees it, it binds the Port_Binding to this chassis.
//
// Checksums: with a userspace (netdev/dummy) datapath TCP works only when the
// sending veth end does not offload its checksum, so eth0 gets
// `ethtool -K eth0 tx off` (see ovn-test-env.md: ARP works either way, which
// makes the failure look like a dead server).
//
// Names are unique to the run and never start with `ovnmeta-`: namespace
// `sbx-vm-<hex>`, host link `vm<hex>h`; inside, the guest device is renamed
// eth0, as in a real guest. Every VM is registered for removal on
// chassis.stop() and, synchronously, at process exit.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { quote, type Chassis, type Owned } from './chassis.js';
import { SandboxCurlError } from './errors.js';
import { cidrContains, parseCidr } from '../common/address.js';
import type { VmPort } from './neutron.js';
import { run, runRaw, type RunResult } from './run.js';

export const METADATA_IP = '169.254.169.254';
export const METADATA_IPV6 = 'fe80::a9fe:a9fe';

export interface VmOptions {
  /** Bring up IPv6: link-local (EUI-64, no DAD) and the port's IPv6 addresses. Default false (IPv6 off). */
  readonly ipv6?: boolean;
  /** Wait until Port_Binding.chassis is this chassis (default true). */
  readonly waitBound?: boolean;
  readonly bindTimeoutMs?: number;
}

export interface CurlOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly method?: string;
  readonly body?: string;
  readonly timeoutMs?: number;
}

export interface CurlResult {
  readonly status: number;
  readonly body: string;
}

const liveLinks = new Map<string, string>(); // namespace -> host link

process.once('exit', () => {
  for (const [namespace, link] of liveLinks) {
    spawnSync('ip', ['-force', '-batch', '-'], {
      input: `link del ${link}\nnetns del ${namespace}\n`,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
  }
});

export class Vm implements Owned {
  readonly device = 'eth0';
  #stopped = false;

  constructor(
    readonly chassis: Chassis,
    readonly port: VmPort,
    readonly namespace: string,
    readonly hostLink: string,
  ) {}

  /** Runs a command in the VM; a string goes through `sh -c`. Never throws on exit status. */
  exec(
    command: string | readonly string[],
    options: { input?: string; timeoutMs?: number } = {},
  ): Promise<RunResult> {
    const argv = typeof command === 'string' ? ['sh', '-c', command] : [...command];
    return runRaw('ip', ['netns', 'exec', this.namespace, ...argv], options);
  }

  /**
   * An HTTP request from the VM with curl. Resolves with any HTTP status;
   * throws SandboxCurlError when no HTTP answer came (refused, timeout).
   * IPv6 link-local URLs carry the zone URL-encoded: http://[fe80::a9fe:a9fe%25eth0]/.
   */
  async curl(url: string, options: CurlOptions = {}): Promise<CurlResult> {
    const args = [
      'curl',
      '-sS',
      '-g',
      '-m',
      String((options.timeoutMs ?? 10_000) / 1000),
      '-w',
      '\n%{http_code}',
    ];
    if (options.method) args.push('-X', options.method);
    for (const [k, v] of Object.entries(options.headers ?? {})) args.push('-H', `${k}: ${v}`);
    if (options.body !== undefined) args.push('--data-binary', '@-');
    args.push(url);
    const result = await this.exec(args, options.body === undefined ? {} : { input: options.body });
    if (result.exitCode !== 0)
      throw new SandboxCurlError(this.namespace, url, result.exitCode, result.stderr);
    const cut = result.stdout.lastIndexOf('\n');
    return { status: Number(result.stdout.slice(cut + 1)), body: result.stdout.slice(0, Math.max(cut, 0)) };
  }

  /** Unplugs and removes the namespace and veth; tolerant of parts already gone. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.chassis.disown(this);
    await this.chassis
      .vsctl('--if-exists', 'del-port', this.chassis.bridge, this.hostLink)
      .catch(() => undefined);
    // Deleting the host end first removes the pair at once; a namespace's
    // devices otherwise go away asynchronously after `netns del`.
    await runRaw('ip', ['-force', '-batch', '-'], {
      input: `link del ${this.hostLink}\nnetns del ${this.namespace}\n`,
    });
    liveLinks.delete(this.namespace);
  }
}

/** The metadata port address a VM routes 169.254.169.254 through (same subnet). */
function metadataGateway(port: VmPort): string | undefined {
  const meta = port.network.metadataPort;
  for (const ip of port.ips) {
    for (const [i, cidr] of meta.cidrs.entries()) {
      const parsed = parseCidr(cidr);
      if (parsed !== undefined && cidrContains(parsed, ip)) return meta.ips[i];
    }
  }
  return undefined;
}

/** Boots a VM for `port` on `chassis` (three spawns), and waits for the binding. */
export async function startVm(chassis: Chassis, port: VmPort, options: VmOptions = {}): Promise<Vm> {
  const id = randomBytes(4).toString('hex');
  const vm = new Vm(chassis, port, `sbx-vm-${id}`, `vm${id}h`);
  const guest = `vm${id}g`;
  const mtu = port.network.mtu;
  liveLinks.set(vm.namespace, vm.hostLink);
  chassis.own(vm);
  try {
    await run('ip', ['-batch', '-'], {
      input: [
        `netns add ${vm.namespace}`,
        `link add ${vm.hostLink} ${mtu ? `mtu ${mtu} ` : ''}type veth peer name ${guest} netns ${vm.namespace}`,
        `link set ${vm.hostLink} up`,
        '',
      ].join('\n'),
    });
    const ipv6 = options.ipv6 ?? false;
    const gateway = metadataGateway(port);
    const script = [
      'ip link set lo up',
      `ip link set ${guest} name eth0`,
      `ip link set eth0 address ${port.mac}${mtu ? ` mtu ${mtu}` : ''}`,
      ipv6 ? 'sysctl -qw net.ipv6.conf.eth0.accept_dad=0' : 'sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1',
      'ethtool -K eth0 tx off >/dev/null',
      ...port.cidrs
        .filter((c) => ipv6 || !c.includes(':'))
        .map((c) => `ip addr add ${c} dev eth0${c.includes(':') ? ' nodad' : ''}`),
      'ip link set eth0 up',
      ...(gateway ? [`ip route add ${METADATA_IP}/32 via ${gateway} dev eth0`] : []),
    ].join('\n');
    await run('ip', ['netns', 'exec', vm.namespace, 'sh', '-ec', script]);
    await chassis.vsctl(
      'add-port',
      chassis.bridge,
      vm.hostLink,
      '--',
      'set',
      'Interface',
      vm.hostLink,
      `external_ids:iface-id=${quote(port.name)}`,
      `external_ids:attached-mac=${quote(port.mac)}`,
      `external_ids:vm-uuid=${quote(port.instanceId)}`,
      'external_ids:iface-status=active',
    );
    if (options.waitBound ?? true) {
      await chassis.waitFor(
        async () => (await chassis.bindingOf(port.name)) === chassis.chassisUuid,
        options.bindTimeoutMs ?? 10_000,
        `Port_Binding ${port.name} bound to ${chassis.systemId}`,
      );
    }
    return vm;
  } catch (err) {
    await vm.stop().catch(() => undefined);
    throw err;
  }
}
