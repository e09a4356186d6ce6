// A whole OVN chassis in userspace, in one temp dir, for tests, benches and
// `ovnmeta demo`: the local Open_vSwitch ovsdb-server and ovs-vswitchd, the
// NB and SB ovsdb-servers (SB also on tcp 127.0.0.1), ovn-northd and
// ovn-controller, wired as in /work/shared/reference/ovn-test-env.md. Every
// daemon has its own pid file, unixctl socket and log in the dir, and is
// stopped by pid; several chassis can live side by side (see the datapath
// note in netdev-lock.ts: only one `netdev` chassis per machine, any number
// of `dummy` ones).
//
// With `sbRelay` the SB is a 3-member Raft cluster with an ovsdb-server relay
// in front (ovsdb(7) "Relay Service Model"): northd, ovn-controller and the
// ctl tools use the cluster, an agent may be pointed at the relay.
//
// Start-up runs independent steps in parallel: the three databases are
// created and served at once, the OVS db is configured (--no-wait) while
// northd starts, then vswitchd, then ovn-controller; ready means the SB
// Chassis row of this system-id exists.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  controlSocket,
  daemonSpec,
  readListeningPort,
  sbRemote,
  SB_MEMBERS,
  SCHEMAS,
  socketOf,
  type DaemonName,
} from './chassis-daemons.js';
import { createSbClusterFiles, waitDbConnected } from './sb-cluster.js';
import { Daemon } from './daemon.js';
import { SandboxDatapathBusyError, SandboxTimeoutError } from './errors.js';
import { acquireNetdevLock, type NetdevLock } from './netdev-lock.js';
import { run, sleep } from './run.js';
import { waitFor, type Polled } from './wait-for.js';

/** Generous: a loaded 2-core machine can take seconds to open a netdev datapath. */
const BRIDGE_TIMEOUT_MS = 30_000;

export { SCHEMAS };

export interface ChassisOptions {
  /** Label for names and messages; default `sbx-<random>` (unique per run). */
  readonly name?: string;
  /** OVS external_ids:system-id, the SB Chassis name; default `name`. */
  readonly systemId?: string;
  /** Integration bridge; default br-int. Set as external_ids:ovn-bridge. */
  readonly bridge?: string;
  /**
   * `netdev`: as on a DPDK host, the agent must fill TCP checksums; one per
   * machine (waits for the lock). `dummy`: same userspace datapath without
   * kernel tap devices; any number side by side. Default netdev.
   */
  readonly datapathType?: 'netdev' | 'dummy';
  /** How long to wait for another netdev chassis to stop (default 60 s, under the e2e hook timeout). */
  readonly lockTimeoutMs?: number;
  /** Parent of the temp dir (default the OS temp dir). */
  readonly parentDir?: string;
  /**
   * A 3-member Raft SB (daemons 'sb', 'sb2', 'sb3') with an ovsdb-server
   * relay ('relay', `sbRelayRemote`) in front of it: ovn-northd,
   * ovn-controller and the ctl tools use the cluster (`sbRemote` is the
   * members' list), an agent may use the relay. Default false: one
   * standalone SB.
   */
  readonly sbRelay?: boolean;
}

/** Something a chassis must remove when it stops (a VM, a fake chassis). */
export interface Owned {
  stop(): Promise<void>;
}

export class Chassis {
  readonly env: Readonly<Record<string, string>>;
  readonly ovsDbRemote: string;
  readonly sbRemote: string;
  readonly nbRemote: string;
  #chassisUuid = '';
  #startupMs = 0;
  #lockWaitMs = 0;
  #sbPort = 0;
  #daemons = new Map<DaemonName, Daemon>();
  #owned = new Set<Owned>();
  #lock: NetdevLock | undefined;
  #stopped = false;

  constructor(
    readonly dir: string,
    readonly name: string,
    readonly systemId: string,
    readonly bridge: string,
    readonly datapathType: 'netdev' | 'dummy',
    readonly sbCluster = false,
  ) {
    this.env = Object.fromEntries(
      ['OVS_RUNDIR', 'OVS_LOGDIR', 'OVS_DBDIR', 'OVN_RUNDIR', 'OVN_LOGDIR', 'OVN_DBDIR'].map((k) => [k, dir]),
    );
    this.ovsDbRemote = `unix:${socketOf(dir, 'ovsdb')}`;
    this.sbRemote = sbRemote({ dir, sbCluster });
    this.nbRemote = `unix:${socketOf(dir, 'nb')}`;
  }

  /** SB Chassis._uuid of this system-id; changes if ovn-controller re-creates its row. */
  get chassisUuid(): string {
    return this.#chassisUuid;
  }

  /** Wall time of the start-up proper, in ms (without waiting for the netdev lock). */
  get startupMs(): number {
    return this.#startupMs;
  }

  /** Time spent waiting for another netdev chassis to stop, in ms. */
  get lockWaitMs(): number {
    return this.#lockWaitMs;
  }

  /** The SB on tcp (what a remote agent would use), `tcp:127.0.0.1:<port>`. */
  get sbTcpRemote(): string {
    return `tcp:127.0.0.1:${this.#sbPort}`;
  }

  get sbPort(): number {
    return this.#sbPort;
  }

  /** The SB relay's unix remote (chassis started with `sbRelay`). */
  get sbRelayRemote(): string {
    if (!this.sbCluster) throw new Error(`chassis ${this.name}: started without sbRelay`);
    return `unix:${socketOf(this.dir, 'relay')}`;
  }

  /** Restarts the SB relay on the same socket (chassis started with `sbRelay`). */
  async restartRelay(): Promise<void> {
    await this.daemon('relay').stop();
    await this.#start('relay');
    await this.#waitDbConnected('relay');
  }

  /** One of the chassis daemons (its pid; crash tests: kill, sigstop, sigcont). */
  daemon(name: DaemonName): Daemon {
    const d = this.#daemons.get(name);
    if (d === undefined) throw new Error(`chassis ${this.name}: no daemon ${name}`);
    return d;
  }

  vsctl(...args: string[]): Promise<string> {
    return run('ovs-vsctl', [`--db=${this.ovsDbRemote}`, '--timeout=20', ...args], { env: this.env });
  }

  nbctl(...args: string[]): Promise<string> {
    return run('ovn-nbctl', [`--db=${this.nbRemote}`, '--timeout=20', ...args], { env: this.env });
  }

  sbctl(...args: string[]): Promise<string> {
    return run('ovn-sbctl', [`--db=${this.sbRemote}`, '--timeout=20', ...args], { env: this.env });
  }

  /** ovs-appctl/ovn-appctl against a daemon of this chassis. */
  appctl(daemon: DaemonName, ...args: string[]): Promise<string> {
    return run('ovs-appctl', ['-t', controlSocket(this.dir, daemon, this.daemon(daemon).pid), ...args], {
      env: this.env,
    });
  }

  /** `ovn-trace --minimal` on the SB of this chassis. */
  ovnTrace(datapath: string, microflow: string): Promise<string> {
    // --no-friendly-names: uuid-named ports (all of neutron's) are printed whole.
    return run(
      'ovn-trace',
      [`--db=${this.sbRemote}`, '--minimal', '--no-friendly-names', datapath, microflow],
      {
        env: this.env,
      },
    );
  }

  /** `Port_Binding.chassis` of a logical port: a Chassis _uuid, or '' when unbound. */
  async bindingOf(logicalPort: string): Promise<string> {
    return this.sbctl(
      '--bare',
      '--columns=chassis',
      'find',
      'Port_Binding',
      `logical_port=${quote(logicalPort)}`,
    );
  }

  /** Polls `fn` until it returns a value other than undefined/false/null (see wait-for.ts). */
  waitFor<T>(fn: Polled<T>, timeoutMs = 10_000, what = 'a condition'): Promise<T> {
    return waitFor(fn, timeoutMs, what);
  }

  /** Registers something to remove at stop(), before the daemons stop. */
  own(thing: Owned): void {
    this.#owned.add(thing);
  }

  disown(thing: Owned): void {
    this.#owned.delete(thing);
  }

  /** Restarts the SB ovsdb-server on the same socket and tcp port. */
  async restartSb(): Promise<void> {
    await this.daemon('sb').stop();
    await this.#start('sb');
  }

  /**
   * Stops ovn-controller. By default as `systemctl stop` does, with
   * `ovn-appctl exit`: it deletes its Chassis and Chassis_Private rows
   * (ovn-controller(8)). `keepChassis` sends SIGTERM instead, which leaves
   * them, as a crash or `exit --restart` would.
   */
  async stopController(options: { keepChassis?: boolean } = {}): Promise<void> {
    const controller = this.daemon('controller');
    if (!options.keepChassis && controller.running) {
      await this.appctl('controller', 'exit');
      if (await controller.waitExit(10_000)) return;
    }
    await controller.stop();
  }

  /** Starts ovn-controller again; resolves once its Chassis row exists (chassisUuid may change). */
  async startController(): Promise<void> {
    await this.#start('controller');
    await this.#waitChassisRow();
  }

  // ovn-controller registers (or, after `exit`, re-creates with a new uuid)
  // the SB Chassis of its system-id.
  async #waitChassisRow(): Promise<void> {
    this.#chassisUuid = await this.waitFor(
      async () =>
        (await this.sbctl('--bare', '--columns=_uuid', 'find', 'Chassis', `name=${quote(this.systemId)}`)) ||
        undefined,
      15_000,
      `SB Chassis ${this.systemId} (ovn-controller registration)`,
    );
  }

  /**
   * Stops everything this chassis started and removes what it made: VMs and
   * fake chassis, daemons (vswitchd with `exit --cleanup`, which deletes its
   * datapath's kernel tap devices), the netdev lock and the dir. Tolerant:
   * runs every step even when some fail, then throws the first failure.
   */
  async stop(options: { keepDir?: boolean } = {}): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const failures: unknown[] = [];
    const attempt = async (step: () => Promise<unknown>): Promise<void> => {
      try {
        await step();
      } catch (err) {
        failures.push(err);
      }
    };
    // VMs and fake chassis are independent of each other: remove them at once.
    await Promise.all([...this.#owned].map((thing) => attempt(() => thing.stop())));
    this.#owned.clear();
    await attempt(() => this.#daemons.get('controller')?.stop() ?? Promise.resolve());
    await attempt(() => this.#daemons.get('northd')?.stop() ?? Promise.resolve());
    const vswitchd = this.#daemons.get('vswitchd');
    if (vswitchd?.running) {
      // Without --cleanup, netdev taps (ovs-netdev, br-int) outlive the
      // daemon; and a SIGTERM during the cleanup interrupts it, so wait.
      await attempt(async () => {
        await this.appctl('vswitchd', 'exit', '--cleanup');
        await vswitchd.waitExit(5_000);
      });
    }
    await attempt(() => vswitchd?.stop() ?? Promise.resolve());
    await Promise.all(
      (['ovsdb', 'nb', 'relay', ...SB_MEMBERS] as const).map((n) =>
        attempt(() => this.#daemons.get(n)?.stop() ?? Promise.resolve()),
      ),
    );
    await attempt(() => this.#lock?.release() ?? Promise.resolve());
    const keep = options.keepDir || process.env.OVNMETA_SANDBOX_KEEP === '1';
    if (!keep) await attempt(() => rm(this.dir, { recursive: true, force: true }));
    if (failures.length > 0) throw failures[0];
  }

  // --- start-up -----------------------------------------------------------

  /** Used by startChassis only. */
  async boot(lockTimeoutMs: number): Promise<void> {
    const tLock = performance.now();
    if (this.datapathType === 'netdev') this.#lock = await acquireNetdevLock(this.dir, lockTimeoutMs);
    const t0 = performance.now();
    this.#lockWaitMs = Math.round(t0 - tLock);
    await Promise.all([
      ...(['ovs', 'nb'] as const).map((db) =>
        run('ovsdb-tool', ['create', join(this.dir, `${db === 'ovs' ? 'conf' : db}.db`), SCHEMAS[db]]),
      ),
      this.#createSb(),
    ]);
    await Promise.all([
      this.#start('ovsdb'),
      this.#start('nb'),
      ...(this.sbCluster ? SB_MEMBERS : (['sb'] as const)).map((m) => this.#start(m)),
    ]);
    if (this.sbCluster) {
      // --detach returns before a member has joined (ovsdb-server(1)).
      await Promise.all(SB_MEMBERS.map((m) => this.#waitDbConnected(m)));
      await this.#start('relay');
      await this.#waitDbConnected('relay');
    }
    const externalIds = [
      `external_ids:system-id=${quote(this.systemId)}`,
      `external_ids:hostname=${quote(this.name)}`,
      `external_ids:ovn-remote=${quote(this.sbRemote)}`,
      'external_ids:ovn-encap-type=geneve',
      'external_ids:ovn-encap-ip=127.0.0.1',
      `external_ids:ovn-bridge=${quote(this.bridge)}`,
      `external_ids:ovn-bridge-datapath-type=${this.datapathType}`,
    ];
    await Promise.all([
      this.vsctl(
        '--no-wait',
        'init',
        '--',
        'set',
        'Open_vSwitch',
        '.',
        ...externalIds,
        '--',
        'add-br',
        this.bridge,
        '--',
        'set',
        'Bridge',
        this.bridge,
        `datapath_type=${this.datapathType}`,
        'fail-mode=secure',
      ),
      this.#start('northd'),
    ]);
    const vswitchd = await this.#start('vswitchd');
    await this.#lock?.setHolder(vswitchd.pid, this.dir);
    await this.#waitBridge();
    await this.#start('controller');
    await this.#waitChassisRow();
    this.#startupMs = Math.round(performance.now() - t0);
  }

  /** The SB database file(s): standalone, or a Raft cluster of three over unix sockets. */
  async #createSb(): Promise<void> {
    if (this.sbCluster) await createSbClusterFiles(this.dir);
    else await run('ovsdb-tool', ['create', join(this.dir, 'sb.db'), SCHEMAS.sb]);
  }

  /** `ovsdb-client wait … connected`: a Raft member joined, a relay reached its source. */
  async #waitDbConnected(server: 'sb' | 'sb2' | 'sb3' | 'relay'): Promise<void> {
    await waitDbConnected(this.dir, server, this.env);
  }

  // The bridge's internal interface gets an ofport once the datapath opened;
  // a netdev datapath whose taps another vswitchd holds (one outside any
  // sandbox: the lock covers ours) reports the error there instead.
  async #waitBridge(): Promise<void> {
    const deadline = Date.now() + BRIDGE_TIMEOUT_MS;
    for (;;) {
      const [ofport = '', error = ''] = (
        await this.vsctl('--bare', '--columns=ofport,error', 'list', 'Interface', this.bridge)
      ).split('\n');
      if (error.trim() !== '') {
        throw new SandboxDatapathBusyError(`another ovs-vswitchd (${this.bridge}: ${error.trim()})`);
      }
      if (ofport.trim() !== '' && Number(ofport) >= 0) return;
      if (Date.now() > deadline)
        throw new SandboxTimeoutError(`bridge ${this.bridge} of ${this.name}`, BRIDGE_TIMEOUT_MS);
      await sleep(20);
    }
  }

  async #start(name: DaemonName): Promise<Daemon> {
    const layout = {
      dir: this.dir,
      name: this.name,
      env: this.env,
      datapathType: this.datapathType,
      sbPort: this.#sbPort,
      sbCluster: this.sbCluster,
    };
    const daemon = await new Daemon(daemonSpec(layout, name)).start();
    this.#daemons.set(name, daemon);
    if (name === 'sb' && this.#sbPort === 0) this.#sbPort = await readListeningPort(join(this.dir, 'sb.log'));
    return daemon;
  }
}

/** Quotes a string for the ovs-vsctl/ovn-nbctl value syntax (ovsdb-data). */
export function quote(value: string): string {
  return JSON.stringify(value);
}

function uniqueName(): string {
  return `sbx-${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
}

/** Starts a chassis; on failure stops whatever had started. */
export async function startChassis(options: ChassisOptions = {}): Promise<Chassis> {
  const name = options.name ?? uniqueName();
  const dir = await mkdtemp(join(options.parentDir ?? tmpdir(), 'ovn-sandbox-'));
  const chassis = new Chassis(
    dir,
    name,
    options.systemId ?? name,
    options.bridge ?? 'br-int',
    options.datapathType ?? 'netdev',
    options.sbRelay ?? false,
  );
  try {
    await chassis.boot(options.lockTimeoutMs ?? 60_000);
  } catch (err) {
    // Daemon errors quote their log tails; OVNMETA_SANDBOX_KEEP=1 keeps the dir.
    await chassis.stop().catch(() => undefined);
    throw err;
  }
  return chassis;
}
