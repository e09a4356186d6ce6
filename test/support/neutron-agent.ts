// neutron's own OVN metadata agent (`neutron-ovn-metadata-agent`, Debian
// package of neutron 21.0) run against a sandbox chassis, for the migration
// test: configured the way an operator's files configure it, run as root as
// a child process with its state_path and log inside the chassis dir.
//
// What it leaves on the host (neutron/agent/ovn/metadata/agent.py, driver.py;
// neutron/agent/linux/external_process.py):
//   - per network: namespace ovnmeta-<net>, veth tap<net[:10]>0/1, OVS port,
//     and on a netdev bridge an iptables mangle POSTROUTING CHECKSUM rule in
//     the namespace (_ensure_datapath_checksum);
//   - per network: one haproxy, daemonized (own session, so it outlives the
//     agent unless its service manager kills it), config
//     $state_path/ovn-metadata-proxy/<net>.conf, pid file
//     $state_path/external/pids/<net>.pid.haproxy;
//   - the unix socket $state_path/metadata_proxy those haproxies forward to.
//
// Privileges: `[agent] root_helper =` (empty) makes neutron run ip/iptables
// and start its oslo.privsep daemons (`privsep-helper`, neutron/conf/agent/
// ovn/metadata/config.py setup_privsep) directly, without sudo or rootwrap:
// we are root. Those daemons, and the agent's metadata workers, stay in the
// agent's process group, so the whole agent is stopped by that group id, as
// systemd stops a unit's cgroup. Haproxies are stopped by their pid files,
// never by name: other processes on the machine may be haproxies too.
import { execa, type ResultPromise } from 'execa';
import { readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, sleep, type Chassis } from '../../src/sandbox/index.js';

export const NEUTRON_AGENT = '/usr/bin/neutron-ovn-metadata-agent';
export const HAPROXY = '/usr/sbin/haproxy';

export interface NeutronConfigOptions {
  readonly novaPort: number;
  readonly secret: string;
}

/** The operator's files, as Debian lays them out, written into the chassis dir. */
export interface NeutronFiles {
  /** /etc/neutron/neutron.conf: state_path, logging, root helper. */
  readonly neutronConf: string;
  /** /etc/neutron/neutron_ovn_metadata_agent.ini: nova, secret, OVS and SB. */
  readonly agentIni: string;
  readonly statePath: string;
  readonly logFile: string;
}

/** Why neutron's agent cannot run here, or undefined when it can. */
export function neutronMissing(): string | undefined {
  for (const path of [NEUTRON_AGENT, HAPROXY]) {
    if (!existsSync(path)) return `${path} is missing: run scripts/install-deps.sh`;
  }
  return undefined;
}

export async function writeNeutronConfig(chassis: Chassis, o: NeutronConfigOptions): Promise<NeutronFiles> {
  const statePath = join(chassis.dir, 'neutron');
  await mkdir(statePath, { recursive: true });
  const files: NeutronFiles = {
    neutronConf: join(chassis.dir, 'neutron.conf'),
    agentIni: join(chassis.dir, 'neutron_ovn_metadata_agent.ini'),
    statePath,
    logFile: join(chassis.dir, 'neutron-ovn-metadata-agent.log'),
  };
  await writeFile(
    files.neutronConf,
    [
      '[DEFAULT]',
      `state_path = ${statePath}`,
      'debug = true',
      `log_file = ${files.logFile}`,
      '',
      '[agent]',
      '# Root already: no sudo, no rootwrap (Debian ships',
      '# "sudo neutron-rootwrap /etc/neutron/rootwrap.conf").',
      'root_helper =',
      '',
      '[oslo_concurrency]',
      `lock_path = ${join(statePath, 'lock')}`,
      '',
    ].join('\n'),
  );
  await writeFile(
    files.agentIni,
    [
      '[DEFAULT]',
      'nova_metadata_host = 127.0.0.1',
      `nova_metadata_port = ${o.novaPort}`,
      `metadata_proxy_shared_secret = ${o.secret}`,
      '',
      '[ovs]',
      `ovsdb_connection = ${chassis.ovsDbRemote}`,
      '',
      '[ovn]',
      `ovn_sb_connection = ${chassis.sbTcpRemote}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return files;
}

export interface Haproxy {
  readonly network: string;
  readonly pidFile: string;
  readonly pid: number;
}

export class NeutronAgent {
  constructor(
    readonly files: NeutronFiles,
    readonly process: ResultPromise,
    /** The agent's pid, also its process group id (it leads its own session). */
    readonly pgid: number,
  ) {}

  /** Live processes of the agent's group: agent, metadata workers, privsep daemons. */
  async members(): Promise<number[]> {
    const pids: number[] = [];
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
      // "pid (comm) state ppid pgrp …": comm may hold spaces and parens.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === this.pgid && isAlive(Number(entry))) pids.push(Number(entry));
    }
    return pids;
  }

  /**
   * Stops the whole agent as `systemctl stop` would: SIGTERM to its process
   * group, SIGKILL to what is left after `graceMs`. Resolves once no process
   * of the group is alive, with how the agent itself ended.
   */
  async stop(graceMs = 10_000): Promise<{ exitCode?: number; signal?: string; killed: boolean }> {
    // An empty group is never signalled: its id may be someone else's by now.
    if ((await this.members()).length > 0) signalGroup(this.pgid, 'SIGTERM');
    const killed = !(await this.#waitGone(graceMs));
    if (killed) {
      signalGroup(this.pgid, 'SIGKILL');
      await this.#waitGone(5_000);
    }
    const { exitCode, signal } = await this.process;
    return { exitCode, signal, killed };
  }

  async #waitGone(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.members()).length > 0) {
      if (Date.now() > deadline) return false;
      await sleep(50);
    }
    return true;
  }

  /** For failure messages: whether the agent exited, and the tail of its log. */
  async diagnose(): Promise<string> {
    const { exitCode, signalCode } = this.process;
    const status =
      exitCode === null && signalCode === null ? 'running' : `exited (${exitCode ?? signalCode})`;
    const log = await readFile(this.files.logFile, 'utf8').catch(() => '(no log)');
    const tail = log.split('\n').slice(-20).join('\n');
    return `neutron-ovn-metadata-agent ${status}; ${this.files.logFile} (tail):\n${tail}`;
  }
}

/** Starts neutron's agent with the operator's two files. */
export async function startNeutronAgent(files: NeutronFiles): Promise<NeutronAgent> {
  // oslo.privsep makes its daemons' sockets in a temp dir that only a clean
  // exit removes: keep it in the state dir, which goes with the chassis.
  const tmp = join(files.statePath, 'tmp');
  await mkdir(tmp, { recursive: true });
  const child = execa(
    NEUTRON_AGENT,
    ['--config-file', files.neutronConf, '--config-file', files.agentIni],
    // Own session and process group; everything it logs goes to log_file.
    {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { TMPDIR: tmp },
      reject: false,
    },
  );
  if (child.pid === undefined) throw new Error(`${NEUTRON_AGENT} did not start`);
  return new NeutronAgent(files, child, child.pid);
}

const PID_SUFFIX = '.pid.haproxy';

/**
 * The haproxies neutron started under `statePath`: from its pid files
 * (external_process.ProcessManager), kept only when that pid is alive and
 * runs `haproxy -f <statePath>/ovn-metadata-proxy/<network>.conf` — a stale
 * pid file whose pid was reused is never taken for ours.
 */
export async function listHaproxies(statePath: string): Promise<Haproxy[]> {
  const dir = join(statePath, 'external', 'pids');
  const found: Haproxy[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith(PID_SUFFIX)) continue;
    const network = name.slice(0, -PID_SUFFIX.length);
    const pidFile = join(dir, name);
    const pid = Number.parseInt(await readFile(pidFile, 'utf8').catch(() => ''), 10);
    if (!(pid > 0) || !isAlive(pid)) continue;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    const config = join(statePath, 'ovn-metadata-proxy', `${network}.conf`);
    if (cmdline.includes('haproxy') && cmdline.includes(config)) found.push({ network, pidFile, pid });
  }
  return found;
}

/**
 * Step 3 of docs/deploy.md "Migrating a chassis from neutron's agent": stop
 * every haproxy neutron started (SIGTERM, SIGKILL after 5 s) and remove its
 * pid file. Returns the pids stopped.
 */
export async function stopHaproxies(statePath: string): Promise<number[]> {
  const proxies = await listHaproxies(statePath);
  for (const p of proxies) signal(p.pid, 'SIGTERM');
  for (const p of proxies) {
    if (!(await waitGone(p.pid, 5_000))) {
      signal(p.pid, 'SIGKILL');
      await waitGone(p.pid, 5_000);
    }
    await rm(p.pidFile, { force: true });
  }
  return proxies.map((p) => p.pid);
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // ESRCH: already gone
  }
}

function signalGroup(pgid: number, sig: NodeJS.Signals): void {
  signal(-pgid, sig);
}
