// Metadata requests from the bench's VMs, as a guest makes them: curl
// http://169.254.169.254/latest/meta-data/instance-id inside the VM's
// namespace. Success is a 200 with the VM's own instance id (fake nova
// answers only correctly signed requests). Also what to say about a VM that
// gets none.
import { runRaw, sleep, type Chassis } from '../../src/sandbox/index.js';
import { parseTable0InPorts } from '../../src/verify/microflow.js';
import type { AgentProcess } from './agent-process.js';
import { eachLimited, type BenchNetwork } from './topology.js';

export const METADATA_URL = 'http://169.254.169.254/latest/meta-data/instance-id';

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

/**
 * When the VM first got its instance id (performance.now()), or undefined
 * after `deadlineMs`: a new curl every 25 ms, each on its own connection, so
 * that a SYN sent before the path existed (retransmitted only after 1 s)
 * does not count; the answer is the completion time of the first success.
 */
export async function servedAt(net: BenchNetwork, deadlineMs = 60_000): Promise<number | undefined> {
  const until = performance.now() + deadlineMs;
  const attempts: Promise<void>[] = [];
  let first: number | undefined;
  while (first === undefined && performance.now() < until) {
    attempts.push(
      fetchOwnInstanceId(net, 3).then((ok) => {
        if (ok) first ??= performance.now();
      }),
    );
    await sleep(25);
  }
  await Promise.all(attempts);
  return first;
}

/** What a VM that got no metadata has: the agent's listener, OVS and ovn-controller state of both ports. */
export async function whyNotServed(
  chassis: Chassis,
  agent: AgentProcess,
  net: BenchNetwork,
): Promise<string> {
  const get = (iface: string, column: string) =>
    chassis.vsctl('--if-exists', 'get', 'Interface', iface, column).catch(() => '?');
  const last = await curl(net, 2, false);
  return [
    `network ${net.id}:`,
    `listener ${agent.listenerReadyAt(net.id) === undefined ? 'never logged ready' : 'ready'},`,
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
  for (const n of unserved.slice(0, 5)) log(`  not served in 60 s: ${await whyNotServed(chassis, agent, n)}`);
  log(
    `${served}/${networks.length} VMs got their instance id (checked in ${((performance.now() - t) / 1000).toFixed(1)} s)`,
  );
  return served;
}

/**
 * When ovn-controller had installed the flows of the network's metadata port
 * (performance.now()): its ofport appears as an `in_port=` of br-int's table
 * 0 (what `verify`'s localport-bound check reads), polled every 20 ms with
 * ovs-ofctl; undefined after `deadlineMs`. Only for a few binds: each poll is
 * a spawn.
 */
export async function localportFlowAt(
  chassis: Chassis,
  net: BenchNetwork,
  deadlineMs = 60_000,
): Promise<number | undefined> {
  const until = performance.now() + deadlineMs;
  let ofport = 0;
  while (performance.now() < until) {
    if (ofport <= 0) {
      const r = await runRaw(
        'ovs-vsctl',
        [`--db=${chassis.ovsDbRemote}`, '--if-exists', 'get', 'Interface', net.vethRoot, 'ofport'],
        {
          env: chassis.env,
        },
      );
      ofport = Number(r.stdout.trim()) || 0;
    }
    if (ofport > 0) {
      const r = await runRaw(
        'ovs-ofctl',
        ['--no-names', '--no-stats', 'dump-flows', chassis.bridge, 'table=0'],
        {
          env: chassis.env,
        },
      );
      if (r.exitCode === 0 && parseTable0InPorts(r.stdout).has(ofport)) return performance.now();
    }
    await sleep(20);
  }
  return undefined;
}
