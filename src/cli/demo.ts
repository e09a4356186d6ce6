// `ovnmeta demo`: a throwaway OVN chassis in userspace (its own run dir and
// free ports), a fake nova that checks signatures, two neutron-shaped
// networks with one VM namespace each, and the agent; each VM fetches its
// metadata with curl. Ctrl-C (or --once, right after the fetches) tears it
// all down. Built on src/sandbox, the same code the end-to-end tests use.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CliUsageError, usageLine } from './args.js';
import { pino } from 'pino';
import { Agent, parseConfig } from '../agent/index.js';
import { removePlumbing, vethNames } from '../namespace/index.js';
import {
  createNetwork,
  createVmPort,
  startChassis,
  startFakeNova,
  startVm,
  type Chassis,
  type FakeNova,
  type Network,
  type Vm,
} from '../sandbox/index.js';

const say = (line = '') => process.stdout.write(`${line}\n`);

interface Demo {
  chassis?: Chassis;
  nova?: FakeNova;
  agent?: Agent;
  networks: Network[];
  vms: Vm[];
}

async function teardown(demo: Demo): Promise<void> {
  say('\ntearing down…');
  await demo.agent?.stop().catch(() => undefined);
  for (const net of demo.networks) {
    await removePlumbing(`ovnmeta-${net.id}`, vethNames(net.id).root).catch(() => undefined);
  }
  await demo.nova?.close().catch(() => undefined);
  await demo.chassis?.stop().catch(() => undefined); // stops the VMs it owns too
  say('done: no namespace, link or daemon of the demo is left.');
}

export async function demo(argv: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { once: { type: 'boolean', default: false } } }));
  } catch (err) {
    throw new CliUsageError(`ovnmeta demo: ${usageLine(err)}`, { cause: err });
  }
  const d: Demo = { networks: [], vms: [] };
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    void teardown(d).then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let ok = true;
  try {
    say(
      'ovnmeta demo: starting a userspace OVN chassis (ovsdb-server, ovs-vswitchd, northd, ovn-controller)…',
    );
    d.chassis = await startChassis({ name: `demo-${randomBytes(3).toString('hex')}` });
    const c = d.chassis;
    say(`  chassis ${c.systemId} in ${c.dir} (${c.startupMs} ms)`);

    const secret = randomBytes(16).toString('hex');
    d.nova = await startFakeNova({ secret });
    say(`  fake nova metadata API on ${d.nova.url} (checks X-Instance-ID-Signature)`);

    for (const cidr of ['10.10.1.0/24', '10.10.2.0/24']) {
      const net = await createNetwork(c, { cidrs: [cidr], mtu: 1442 });
      d.networks.push(net);
      const port = await createVmPort(net);
      d.vms.push(await startVm(c, port));
      say(`  network ${net.id} (${cidr}): VM ${port.ips[0]} instance ${port.instanceId}`);
    }

    const state = join(c.dir, 'state');
    await mkdir(state, { recursive: true });
    const ini = [
      '[DEFAULT]',
      `nova_metadata_host = 127.0.0.1`,
      `nova_metadata_port = ${d.nova.port}`,
      `metadata_proxy_shared_secret = ${secret}`,
      `state_path = ${state}`,
      '[ovs]',
      `ovsdb_connection = ${c.ovsDbRemote}`,
      '[ovnmeta]',
      'metrics_bind =',
    ].join('\n');
    const logFile = join(c.dir, 'agent.log');
    const logger = pino({ level: 'info' }, pino.destination({ dest: logFile, sync: false }));
    const t0 = performance.now();
    d.agent = await Agent.start({
      config: parseConfig([{ name: 'demo.ini', text: ini }]),
      logger,
      admin: { host: '127.0.0.1', port: 0 },
    });
    say(`  agent started (SB from ovn-remote ${c.sbRemote}); logs in ${logFile}`);

    say('\nEach VM asks 169.254.169.254, as cloud-init does:');
    for (const vm of d.vms) {
      const url = 'http://169.254.169.254/latest/meta-data/instance-id';
      let got: { status: number; body: string } | undefined;
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        got = await vm.curl(url, { timeoutMs: 2000 }).catch(() => undefined);
        if (got?.status === 200) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const served = Math.round(performance.now() - t0);
      say(`\n$ ip netns exec ${vm.namespace} curl ${url}`);
      say(`${got?.body ?? '(no answer)'}    [HTTP ${got?.status ?? '-'}, ${served} ms after agent start]`);
      const json = await vm
        .curl('http://169.254.169.254/openstack/latest/meta_data.json')
        .catch(() => undefined);
      say(`$ ip netns exec ${vm.namespace} curl http://169.254.169.254/openstack/latest/meta_data.json`);
      say(json?.body ?? '(no answer)');
      if (got?.status !== 200 || got.body !== vm.port.instanceId) ok = false;
    }

    const admin = `http://127.0.0.1:${d.agent.adminPort}`;
    say('\nWhat the agent built, and how to poke at it:');
    for (const net of d.networks) {
      const v = vethNames(net.id);
      say(`  ip netns exec ovnmeta-${net.id} ip addr show ${v.inside}`);
    }
    say(`  ovs-vsctl --db=${c.ovsDbRemote} show`);
    say(`  ovn-sbctl --db=${c.sbRemote} show`);
    say(`  curl ${admin}/metrics | grep ovnmeta_`);
    say(`  curl ${admin}/readyz`);
    say(
      ok ? '\nAll VMs got their own metadata.' : '\nA VM did not get its metadata: see the agent log above.',
    );

    if (!values.once && !interrupted) {
      say('Press Ctrl-C to tear everything down.');
      await new Promise<void>(() => {}); // until a signal
    }
  } catch (err) {
    ok = false;
    process.stderr.write(`ovnmeta demo failed: ${(err as Error).stack ?? String(err)}\n`);
  }
  if (!interrupted) {
    interrupted = true;
    await teardown(d);
  }
  process.exitCode = ok ? 0 : 1;
}
