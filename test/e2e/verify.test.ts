// `ovnmeta verify` on a real chassis (issue 5): every check passes on a
// healthy network (exit 0); then each item is broken in turn, and exactly
// the check about it fails, with a reason that names it (exit 1), before it
// is repaired. Checks that depend on a broken one are skipped, never passed.
//
// The agent runs with resync_interval = 0, so kernel-side breaks (link
// down, MAC, MTU, address) stay broken while it keeps serving: only SB and
// OVS events make it reconcile. For OVS-side breaks, which it would repair
// at once, it is stopped; its listener is then down, so those runs also
// fail proxy-ipv4 (the "proxy not listening" item, checked on its own first).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { parseConfig, type Agent, type AgentConfig } from '../../src/agent/index.js';
import { verify } from '../../src/cli/verify.js';
import { ListenerHolder } from '../../src/proxy/holder-client.js';
import { run, runRaw, type Chassis, type Network, type Vm, type VmPort } from '../../src/sandbox/index.js';
import { OvnTrace, verifyChassis, VerifyTraceError, type VerifyReport } from '../../src/verify/index.js';
import type { Check } from '../../src/verify/types.js';
import { agentIni, SECRET, startAgent } from '../support/agent.js';
import { startChassis } from '../support/chassis.js';
import { startFakeNova, type FakeNova } from '../support/fake-nova.js';
import { createNetwork, createVmPort } from '../support/neutron.js';
import { startVm } from '../support/vm.js';

const EXTRA = 'resync_interval = 0';

let chassis: Chassis;
let nova: FakeNova;
let agent: Agent | undefined;
let net: Network;
let port: VmPort;
let vm: Vm;
let ini: string;
let config: AgentConfig;
let ns: string;
let rootVeth: string;
let insideVeth: string;
const bridges: string[] = [];

beforeAll(async () => {
  chassis = await startChassis();
  nova = await startFakeNova({ secret: SECRET });
  agent = await startAgent(chassis, { novaPort: nova.port, extra: EXTRA });
  net = await createNetwork(chassis, { cidrs: ['10.81.0.0/24'], mtu: 1442 });
  ns = `ovnmeta-${net.id}`;
  rootVeth = `tap${net.id.slice(0, 10)}0`;
  insideVeth = `tap${net.id.slice(0, 10)}1`;
  port = await createVmPort(net);
  vm = await startVm(chassis, port);
  const text = agentIni(chassis, { novaPort: nova.port, extra: EXTRA });
  ini = join(chassis.dir, `verify-${randomBytes(3).toString('hex')}.ini`);
  await writeFile(ini, text, { mode: 0o600 });
  config = parseConfig([{ name: ini, text }], {});
  await chassis.waitFor(
    async () => {
      const r = await vm
        .curl('http://169.254.169.254/latest/meta-data/instance-id', { timeoutMs: 2000 })
        .catch(() => undefined);
      return r?.status === 200;
    },
    20_000,
    'the VM gets its metadata',
  );
});

afterAll(async () => {
  await agent?.stop();
  await nova?.close();
  for (const b of bridges) await chassis?.vsctl('--if-exists', 'del-br', b).catch(() => {});
  if (net) {
    await run('ip', ['link', 'del', rootVeth]).catch(() => {});
    await run('ip', ['netns', 'del', ns]).catch(() => {});
  }
  await chassis?.stop();
});

const label = (c: Check) => (c.subject ? `${c.name} ${c.subject}` : c.name);
const all = (r: VerifyReport) => [...r.chassis, ...r.networks.flatMap((n) => n.checks)];
const failed = (r: VerifyReport) =>
  all(r)
    .filter((c) => c.status === 'fail')
    .map(label);
const reasonOf = (r: VerifyReport, name: string) => all(r).find((c) => c.name === name)?.reason;

const check = (probe = false) => verifyChassis({ config, probe });

/** Verifies until `ok(report)` holds (the agent or ovn-controller catching up). */
async function until(ok: (r: VerifyReport) => boolean, what: string, ms = 20_000): Promise<VerifyReport> {
  let last: VerifyReport | undefined;
  try {
    return await chassis.waitFor(
      async () => {
        last = await check();
        return ok(last) ? last : undefined;
      },
      ms,
      what,
    );
  } catch (err) {
    throw new Error(
      `${(err as Error).message}; last failures: ${JSON.stringify(last && all(last).filter((c) => c.status !== 'pass'))}`,
    );
  }
}

const healthy = (r: VerifyReport) => failed(r).length === 0 && all(r).every((c) => c.status === 'pass');

/** Runs the CLI function in-process: exit code and output. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c) => (out.push(String(c)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c) => (err.push(String(c)), true));
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await verify(args);
    return { code: Number(process.exitCode ?? 0), out: out.join(''), err: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = before;
  }
}

describe('a healthy chassis', () => {
  test('every check passes, --probe included; exit 0; JSON for scripts', async () => {
    const { code, out } = await cli(['--config-file', ini, '--json', '--probe']);
    const report = JSON.parse(out) as {
      ok: boolean;
      chassis: { name: string; ok: boolean }[];
      networks: { id: string; checks: { name: string; subject?: string; ok: boolean; reason?: string }[] }[];
    };
    expect(report.networks.map((n) => n.id)).toEqual([net.id]);
    expect(report.networks[0]!.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.networks[0]!.checks.map((c) => (c.subject ? `${c.name} ${c.subject}` : c.name))).toEqual([
      'metadata-port',
      `ovn-trace ${port.name}`,
      'namespace',
      'veth',
      'mac',
      'mtu',
      'addresses',
      'checksum-fill',
      'ovs-port',
      'localport-bound',
      'proxy-ipv4',
      `probe ${port.name}`,
    ]);
    expect(report.chassis.map((c) => [c.name, c.ok])).toEqual([
      ['ovs-db', true],
      ['southbound', true],
      ['chassis', true],
      ['registration', true],
    ]);
    expect(report.ok).toBe(true);
    expect(code).toBe(0);
  });

  test('the human table names network, check and result; --network selects', async () => {
    const { code, out } = await cli(['--config-file', ini, '--network', net.id]);
    expect(code).toBe(0);
    expect(out).toMatch(
      new RegExp(
        `^${net.id}\\s+ovn-trace ${port.name}\\s+PASS\\s+10\\.81\\.0\\.10 -> 169\\.254\\.169\\.254:80 reaches output`,
        'm',
      ),
    );
    expect(out).toMatch(/^OK: 1 network\(s\): 15 passed, 0 failed, 0 skipped$/m);
    const other = await cli([
      '--config-file',
      ini,
      '--network',
      '00000000-0000-0000-0000-00000000beef',
      '--json',
    ]);
    expect(other.code).toBe(1);
    expect(JSON.parse(other.out).networks[0].checks[0].reason).toMatch(/no VM port of this network is bound/);
  });

  test('usage and configuration errors exit 2', async () => {
    expect((await cli(['--config-file', ini, '--bogus'])).code).toBe(2);
    const missing = await cli(['--config-file', join(chassis.dir, 'nope.ini')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('nope.ini');
  });
});

describe('what cannot be reached is a failed check, not a crash', () => {
  test('an unreachable Southbound fails the southbound check, naming the remote', async () => {
    const nope = `unix:${chassis.dir}/nope.sock`;
    const text = agentIni(chassis, { novaPort: nova.port, extra: EXTRA }).replace(
      /^ovn_sb_connection = .*$/m,
      `ovn_sb_connection = ${nope}`,
    );
    const r = await verifyChassis({
      config: parseConfig([{ name: 'nope.ini', text }], {}),
      dbTimeoutMs: 1000,
    });
    expect(failed(r)).toEqual(['southbound']);
    expect(reasonOf(r, 'southbound')).toMatch(
      new RegExp(`^OVN_Southbound at ${nope}: no synced replica within 1000 ms \\(.*\\)$`),
    );
    expect(r.networks).toEqual([]);
  });

  test('ovn-trace: a missing SB socket is reported with its own words', async () => {
    const db = `unix:${chassis.dir}/nope.sock`;
    const err = await OvnTrace.start({ db, startTimeoutMs: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerifyTraceError);
    expect((err as VerifyTraceError).code).toBe('AGENT_VERIFY_TRACE_FAILED');
    expect((err as Error).message).toBe(
      `ovn-trace: exited 1: ovn-trace: ${db}: database connection failed (No such file or directory)`,
    );
  });

  test('ovn-trace: an SB that never answers times out, and the daemon is stopped by its pid file', async () => {
    const silent = createServer(() => {}); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const db = `tcp:127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const err = await OvnTrace.start({ db, startTimeoutMs: 1500 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VerifyTraceError);
      expect((err as Error).message).toBe(`ovn-trace: did not load the Southbound at ${db} within 1500 ms`);
      await chassis.waitFor(
        async () => (await runRaw('pgrep', ['-f', `db=${db}`])).exitCode === 1,
        5000,
        'the ovn-trace daemon gone',
      );
    } finally {
      silent.close();
    }
  });
});

describe('an IPv6-only VM', () => {
  let net6: Network;
  let port6: VmPort;

  test('traces ip6 to fe80::a9fe:a9fe and checks the IPv6 listener; the address missing skips it', async () => {
    net6 = await createNetwork(chassis, { cidrs: ['2001:db8:81::/64'] });
    port6 = await createVmPort(net6);
    await startVm(chassis, port6, { ipv6: true });
    const ns6 = `ovnmeta-${net6.id}`;
    const inside6 = `tap${net6.id.slice(0, 10)}1`;
    try {
      const only6 = () => verifyChassis({ config, networks: [net6.id], probe: true });
      const r = await chassis.waitFor(
        async () => {
          const x = await only6();
          return healthy(x) ? x : undefined;
        },
        20_000,
        'the IPv6 network served',
      );
      const checks = r.networks[0]!.checks;
      expect(checks.find((c) => c.name === 'ovn-trace')?.detail).toMatch(
        /^fe80::\S+ -> \[fe80::a9fe:a9fe\]:80 reaches output/,
      );
      // Answered, and port 80 is held by ovnmeta's listener holder.
      expect(checks.find((c) => c.name === 'proxy-ipv6')?.detail).toMatch(
        new RegExp(
          `^http://\\[fe80::a9fe:a9fe%${inside6}\\]:80/ answered HTTP 404 \\(listener holder pid \\d+\\)$`,
        ),
      );
      expect(checks.find((c) => c.name === 'probe')?.status).toBe('pass');

      await run('ip', ['-n', ns6, 'addr', 'del', 'fe80::a9fe:a9fe/128', 'dev', inside6]);
      const broken = await only6();
      expect(failed(broken)).toEqual(['addresses']);
      expect(reasonOf(broken, 'addresses')).toBe(`${ns6}: ${inside6} lacks fe80::a9fe:a9fe/128`);
      expect(broken.networks[0]!.checks.find((c) => c.name === 'proxy-ipv6')?.status).toBe('skip');
    } finally {
      await chassis.nbctl('--if-exists', 'lsp-del', port6.name);
      await chassis.waitFor(async () => !existsSync(`/run/netns/${ns6}`), 15_000, `${ns6} torn down`);
    }
  });
});

describe('the Southbound side, agent running', () => {
  test('metadata port without neutron:cidrs: metadata-port fails alone', async () => {
    await chassis.nbctl(
      '--wait=sb',
      'remove',
      'Logical_Switch_Port',
      net.metadataPort.name,
      'external_ids',
      '"neutron:cidrs"',
    );
    const r = await check();
    expect(failed(r)).toEqual(['metadata-port']);
    expect(reasonOf(r, 'metadata-port')).toBe(`metadata port ${net.metadataPort.name} has no neutron:cidrs`);
    expect((await cli(['--config-file', ini])).code).toBe(1);
    await chassis.nbctl(
      '--wait=sb',
      'set',
      'Logical_Switch_Port',
      net.metadataPort.name,
      `external_ids:"neutron:cidrs"="${net.metadataPort.cidrs.join(' ')}"`,
    );
    await until(healthy, 'the agent serves the network again');
  });

  test('an ACL dropping the request: ovn-trace fails alone, naming the stage', async () => {
    const sw = net.switchName;
    await chassis.nbctl('--wait=sb', 'acl-add', sw, 'from-lport', '3000', 'ip4 && tcp.dst == 80', 'drop');
    try {
      const r = await check();
      expect(failed(r)).toEqual([`ovn-trace ${port.name}`]);
      expect(reasonOf(r, 'ovn-trace')).toMatch(
        new RegExp(
          `^10\\.81\\.0\\.10 -> 169\\.254\\.169\\.254:80 is dropped, want output\\("${net.metadataPort.name}"\\); last stage ls_in_acl.*tcp\\.dst == 80`,
        ),
      );
    } finally {
      await chassis.nbctl('--wait=sb', 'acl-del', sw);
    }
    expect(healthy(await check())).toBe(true);
  });

  test('--probe with another secret at nova: probe fails alone, with nova 403 and why', async () => {
    const novaPort = nova.port;
    await nova.close();
    nova = await startFakeNova({ secret: 'not-the-agents-secret', port: novaPort });
    try {
      const r = await check(true);
      expect(failed(r)).toEqual([`probe ${port.name}`]);
      expect(reasonOf(r, 'probe')).toBe(
        'as 10.81.0.10: nova answered 403 "Invalid proxy request signature.": metadata_proxy_shared_secret differs between ovnmeta and nova',
      );
    } finally {
      await nova.close();
      nova = await startFakeNova({ secret: SECRET, port: novaPort });
    }
    expect(healthy(await check(true))).toBe(true);
  });
});

describe('the host side, agent running (it does not heal the kernel without resync)', () => {
  const ip = (...args: string[]) => run('ip', ['-n', ns, ...args]);

  test('inside veth down: veth fails; the proxy check is skipped', async () => {
    await ip('link', 'set', insideVeth, 'down');
    try {
      const r = await check();
      expect(failed(r)).toEqual(['veth']);
      expect(reasonOf(r, 'veth')).toBe(`${ns}: ${insideVeth} is down`);
      expect(all(r).find((c) => c.name === 'proxy-ipv4')?.status).toBe('skip');
    } finally {
      await ip('link', 'set', insideVeth, 'up');
    }
    expect(healthy(await check())).toBe(true);
  });

  test('wrong MAC: mac fails alone', async () => {
    await ip('link', 'set', insideVeth, 'address', 'fa:16:3e:00:be:ef');
    try {
      const r = await check();
      expect(failed(r)).toEqual(['mac']);
      expect(reasonOf(r, 'mac')).toBe(
        `${ns}: ${insideVeth} MAC fa:16:3e:00:be:ef, want ${net.metadataPort.mac}`,
      );
    } finally {
      await ip('link', 'set', insideVeth, 'address', net.metadataPort.mac);
    }
  });

  test('wrong MTU: mtu fails alone', async () => {
    await ip('link', 'set', insideVeth, 'mtu', '1500');
    try {
      const r = await check();
      expect(failed(r)).toEqual(['mtu']);
      expect(reasonOf(r, 'mtu')).toBe(`${ns}: ${insideVeth} MTU 1500, want 1442`);
    } finally {
      await ip('link', 'set', insideVeth, 'mtu', '1442');
    }
  });

  test('missing subnet address: addresses fails alone', async () => {
    await ip('addr', 'del', '10.81.0.2/24', 'dev', insideVeth);
    try {
      const r = await check();
      expect(failed(r)).toEqual(['addresses']);
      expect(reasonOf(r, 'addresses')).toBe(`${ns}: ${insideVeth} lacks 10.81.0.2/24`);
    } finally {
      await ip('addr', 'add', '10.81.0.2/24', 'dev', insideVeth);
    }
    expect(healthy(await check())).toBe(true);
  });
});

describe('agent stopped for good (its listener holder ended, as `ovnmeta release` does)', () => {
  beforeAll(async () => {
    await agent!.stop(); // namespaces stay
    agent = undefined;
    // The holder keeps port 80 across a restart; stopping for good ends it.
    ListenerHolder.end(join(chassis.dir, 'state', 'ovnmeta-listeners.sock'));
  });

  test('proxy not listening: proxy-ipv4 fails alone; --probe finds no socket', async () => {
    const r = await check();
    expect(failed(r)).toEqual(['proxy-ipv4']);
    expect(reasonOf(r, 'proxy-ipv4')).toMatch(
      new RegExp(`^nothing listens on http://169\\.254\\.169\\.254:80/ in ${ns} \\(`),
    );
    const p = await check(true);
    expect(failed(p)).toEqual(['proxy-ipv4', `probe ${port.name}`]);
    expect(reasonOf(p, 'probe')).toMatch(
      /metadata_proxy_socket .*: nothing listens there; is the agent running\?/,
    );
  });

  test('OVS port on another bridge: ovs-port fails; localport-bound is skipped', async () => {
    const other = `brv${randomBytes(4).toString('hex')}`;
    bridges.push(other);
    await chassis.vsctl('add-br', other, '--', 'set', 'Bridge', other, 'datapath_type=netdev');
    const uuid = await chassis.vsctl('get', 'Port', rootVeth, '_uuid');
    await chassis.vsctl(
      'remove',
      'Bridge',
      'br-int',
      'ports',
      uuid,
      '--',
      'add',
      'Bridge',
      other,
      'ports',
      uuid,
    );
    try {
      const r = await check();
      expect(failed(r)).toEqual(['ovs-port', 'proxy-ipv4']);
      expect(reasonOf(r, 'ovs-port')).toBe(`${rootVeth} is on ${other}, not br-int`);
      expect(all(r).find((c) => c.name === 'localport-bound')?.status).toBe('skip');
    } finally {
      await chassis.vsctl(
        'remove',
        'Bridge',
        other,
        'ports',
        uuid,
        '--',
        'add',
        'Bridge',
        'br-int',
        'ports',
        uuid,
      );
      await chassis.vsctl('del-br', other);
    }
    await until((r) => failed(r).join() === 'proxy-ipv4', 'ovn-controller binds the localport again');
  });

  test('localport not installed (its flow gone, ovn-controller stopped): localport-bound fails', async () => {
    const ofport = (await chassis.vsctl('get', 'Interface', rootVeth, 'ofport')).trim();
    await chassis.stopController({ keepChassis: true });
    try {
      await run('ovs-ofctl', ['del-flows', `unix:${chassis.dir}/br-int.mgmt`, `table=0,in_port=${ofport}`]);
      const r = await check();
      expect(failed(r)).toEqual(['localport-bound', 'proxy-ipv4']);
      expect(reasonOf(r, 'localport-bound')).toBe(
        `br-int table 0 has no flow for in_port=${ofport} (${rootVeth}): ovn-controller has not bound localport ${net.metadataPort.name} here`,
      );
    } finally {
      await chassis.startController();
    }
    await until((r) => failed(r).join() === 'proxy-ipv4', 'ovn-controller reinstalls the flow');
  });

  test('OVS port deleted: ovs-port fails, naming it', async () => {
    await chassis.vsctl('del-port', 'br-int', rootVeth);
    try {
      const r = await check();
      expect(failed(r)).toEqual(['ovs-port', 'proxy-ipv4']);
      expect(reasonOf(r, 'ovs-port')).toBe(`no port ${rootVeth} on any bridge`);
    } finally {
      await chassis.vsctl(
        'add-port',
        'br-int',
        rootVeth,
        '--',
        'set',
        'Interface',
        rootVeth,
        `external_ids:iface-id="${net.metadataPort.name}"`,
      );
    }
    await until((r) => failed(r).join() === 'proxy-ipv4', 'the localport bound again');
  });

  test('namespace missing: namespace fails; what lived in it is skipped', async () => {
    await run('ip', ['netns', 'del', ns]);
    // The veth pair goes with the namespace, asynchronously.
    await chassis.waitFor(async () => !existsSync(`/sys/class/net/${rootVeth}`), 5000, `${rootVeth} gone`);
    const r = await check();
    expect(failed(r)).toEqual(['namespace']);
    expect(reasonOf(r, 'namespace')).toBe(`namespace ${ns} does not exist`);
    expect(
      all(r)
        .filter((c) => c.status === 'skip')
        .map((c) => c.name),
    ).toEqual(['veth', 'mac', 'mtu', 'addresses', 'checksum-fill', 'localport-bound', 'proxy-ipv4']);
  });

  test('agent started again: it repairs, and everything passes again', async () => {
    agent = await startAgent(chassis, { novaPort: nova.port, extra: EXTRA });
    await until(healthy, 'the agent repaired the network', 30_000);
    const { code } = await cli(['--config-file', ini, '--probe']);
    expect(code).toBe(0);
  });
});
