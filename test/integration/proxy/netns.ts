// Real network namespaces for the proxy's integration tests, without OVS:
// per network, a "metadata" namespace and a "vm" namespace joined by a plain
// veth pair, addressed as the agent and a guest would be. Names are unique
// to this run (never `ovnmeta-`) and every namespace made here is deleted by
// `removeAll`, also from a process 'exit' hook.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);
const tag = randomBytes(2).toString('hex');
export const PREFIX = `pxtest-${process.pid}-${tag}-`;
const made = new Set<string>();

process.on('exit', () => {
  for (const ns of made) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
});

export interface TestNetwork {
  readonly network: string;
  /** Where the proxy listens (stands for ovnmeta-<network>). */
  readonly namespace: string;
  readonly vmNamespace: string;
  /** Listener-side veth end (gets 169.254.169.254 and fe80::a9fe:a9fe). */
  readonly device: string;
  readonly vmDevice: string;
  readonly vmMac: string;
  readonly vmIp: string;
}

async function sh(ns: string, script: string): Promise<void> {
  await run('ip', ['netns', 'exec', ns, 'sh', '-ec', script]);
}

/** Builds one network; `subnet` is the third octet of 10.213.<subnet>.0/24.
 *  With `dad`, fe80::a9fe:a9fe goes through duplicate address detection
 *  (tentative for about a second), as when the agent adds it. */
export async function makeNetwork(
  name: string,
  subnet: number,
  vmMac: string,
  options: { dad?: boolean } = {},
): Promise<TestNetwork> {
  const namespace = `${PREFIX}${name}`;
  const vmNamespace = `${PREFIX}${name}-vm`;
  const device = `px${tag}${name}l`;
  const vmDevice = `px${tag}${name}v`;
  const vmIp = `10.213.${subnet}.5`;
  for (const ns of [namespace, vmNamespace]) {
    await run('ip', ['netns', 'add', ns]);
    made.add(ns);
  }
  await run('ip', [
    'link',
    'add',
    device,
    'netns',
    namespace,
    'type',
    'veth',
    'peer',
    'name',
    vmDevice,
    'netns',
    vmNamespace,
  ]);
  await sh(
    namespace,
    `ip link set lo up
     sysctl -qw net.ipv6.conf.${device}.accept_dad=${options.dad ? 1 : 0}
     ip addr add 169.254.169.254/32 dev ${device}
     ip addr add 10.213.${subnet}.1/24 dev ${device}
     ip addr add fe80::a9fe:a9fe/128 dev ${device} ${options.dad ? '' : 'nodad'}
     ip link set ${device} up`,
  );
  await sh(
    vmNamespace,
    `ip link set lo up
     sysctl -qw net.ipv6.conf.${vmDevice}.accept_dad=0
     ip link set ${vmDevice} address ${vmMac}
     ip addr add ${vmIp}/24 dev ${vmDevice}
     ip link set ${vmDevice} up
     ip route add 169.254.169.254/32 via 10.213.${subnet}.1`,
  );
  // The kernel generates the VM's link-local address once it sees carrier,
  // which linkwatch may report up to a second late: wait, as a guest would.
  for (let tries = 0; ; tries++) {
    const { stdout } = await run('ip', [
      '-n',
      vmNamespace,
      '-6',
      'addr',
      'show',
      'dev',
      vmDevice,
      'scope',
      'link',
    ]);
    if (stdout.includes('fe80::') && !stdout.includes('tentative')) break;
    if (tries === 50) throw new Error(`no IPv6 link-local address on ${vmDevice} after 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { network: `${PREFIX}${name}-net`, namespace, vmNamespace, device, vmDevice, vmMac, vmIp };
}

export interface CurlResult {
  readonly status: number;
  readonly body: string;
}

/** curl from inside the VM namespace; status 0 when no HTTP answer came. */
export async function curlFromVm(net: TestNetwork, url: string, headers: string[] = []): Promise<CurlResult> {
  const args = [
    'netns',
    'exec',
    net.vmNamespace,
    'curl',
    '-g',
    '-s',
    '-m',
    '5',
    '-o',
    '-',
    '-w',
    '\n%{http_code}',
  ];
  for (const header of headers) args.push('-H', header);
  try {
    const { stdout } = await run('ip', [...args, url]);
    const cut = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
  } catch (error) {
    const stdout = String((error as { stdout?: string }).stdout ?? '');
    return { status: Number(stdout.slice(stdout.lastIndexOf('\n') + 1)) || 0, body: '' };
  }
}

export async function removeAll(): Promise<void> {
  for (const ns of made) {
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    made.delete(ns);
  }
}
