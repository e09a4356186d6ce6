// Metadata requests from the bench's VMs, as a guest makes them: curl
// http://169.254.169.254/latest/meta-data/instance-id inside the VM's
// namespace. Success is a 200 with the VM's own instance id (fake nova
// answers only correctly signed requests). Also what to say about a VM that
// gets none.
import { runRaw, sleep, type Chassis } from '../../src/sandbox/index.js';
import type { AgentProcess } from './agent-process.js';
import { eachLimited, type BenchNetwork } from './topology.js';

export const METADATA_PATH = '/latest/meta-data/instance-id';
export const METADATA_URL = `http://169.254.169.254${METADATA_PATH}`;

function curl(net: BenchNetwork, timeoutS: number, writeOut: boolean) {
  const out = writeOut ? ['-w', '\n%{http_code}'] : [];
  return runRaw('ip', [
    'netns',
    'exec',
    net.vm.namespace,
    'curl',
    '-sS',
    '-m',
    String(timeoutS),
    ...out,
    METADATA_URL,
  ]);
}

/** One request from the VM; true on 200 with the VM's own instance id. */
export async function fetchOwnInstanceId(net: BenchNetwork, timeoutS: number): Promise<boolean> {
  const r = await curl(net, timeoutS, true);
  return r.exitCode === 0 && r.stdout === `${net.vm.instanceId}\n200`;
}

/** What a VM that got no metadata has: the agent's listener, OVS and ovn-controller state of both ports. */
export async function whyNotServed(
  chassis: Chassis,
  /** When our agent logged the network's listener ready; undefined for another agent. */
  listenerAt: ((network: string) => number | undefined) | undefined,
  net: BenchNetwork,
): Promise<string> {
  const get = (iface: string, column: string) =>
    chassis.vsctl('--if-exists', 'get', 'Interface', iface, column).catch(() => '?');
  const last = await curl(net, 2, false);
  return [
    `network ${net.id}:`,
    ...(listenerAt === undefined
      ? []
      : [`listener ${listenerAt(net.id) === undefined ? 'never logged ready' : 'ready'},`]),
    `ovn-installed metadata port ${(await get(net.vethRoot, 'external_ids:ovn-installed')) || 'no'},`,
    `VM port ${(await get(net.vm.hostLink, 'external_ids:ovn-installed')) || 'no'};`,
    `ofport of ${net.vethRoot} ${await get(net.vethRoot, 'ofport')};`,
    `curl now: ${last.stderr || last.stdout}`,
  ].join(' ');
}

/**
 * Correctness, not timed: every VM gets its own instance id through the
 * agent's namespace, each within 60 s of its turn (8 at a time). Returns how
 * many did; says why for the first few that did not.
 */
export async function checkServed(
  chassis: Chassis,
  agent: AgentProcess,
  networks: readonly BenchNetwork[],
  log: (msg: string) => void,
): Promise<number> {
  let served = 0;
  const unserved: BenchNetwork[] = [];
  const t = performance.now();
  await eachLimited(networks, 8, async (n) => {
    const until = performance.now() + 60_000;
    while (performance.now() < until) {
      if (await fetchOwnInstanceId(n, 2)) return void served++;
      await sleep(50);
    }
    unserved.push(n);
  });
  for (const n of unserved.slice(0, 5))
    log(`  not served in 60 s: ${await whyNotServed(chassis, (id) => agent.listenerReadyAt(id), n)}`);
  log(
    `${served}/${networks.length} VMs got their instance id (checked in ${((performance.now() - t) / 1000).toFixed(1)} s)`,
  );
  return served;
}
