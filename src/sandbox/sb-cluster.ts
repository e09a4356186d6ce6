// A clustered Southbound on its own: the 3-member Raft SB and its
// ovsdb-server relays (ovsdb(7) "Relay Service Model"), the same daemons as a
// chassis started with `sbRelay` (chassis-daemons.ts), without the rest of
// the chassis. For the fleet bench (bench/fleet.ts): many simulated agents
// against one SB.
//
// The cluster can start from a filled standalone database file
// (`ovsdb-tool create-cluster DB CONTENTS LOCAL` takes a schema or a
// standalone db as CONTENTS): a large SB is written without Raft, fast.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  controlSocket,
  daemonSpec,
  relayName,
  sbRemote,
  SB_MEMBERS,
  SCHEMAS,
  socketOf,
  type DaemonName,
  type DbServerName,
  type RelayName,
} from './chassis-daemons.js';
import { Daemon } from './daemon.js';
import { run } from './run.js';

/** The Raft cluster's database files: 'sb' creates it from `contents`, 'sb2' and 'sb3' join. */
export async function createSbClusterFiles(dir: string, contents: string = SCHEMAS.sb): Promise<void> {
  const db = (m: string): string => join(dir, `${m}.db`);
  const raft = (m: string): string => `unix:${join(dir, `${m}.raft`)}`;
  await run('ovsdb-tool', ['create-cluster', db('sb'), contents, raft('sb')]);
  await Promise.all(
    SB_MEMBERS.slice(1).map((m) =>
      run('ovsdb-tool', ['join-cluster', db(m), 'OVN_Southbound', raft(m), raft('sb')]),
    ),
  );
}

/** `ovsdb-client wait … connected`: a Raft member joined, a relay reached its source. */
export async function waitDbConnected(
  dir: string,
  server: DbServerName,
  env: Readonly<Record<string, string>>,
  timeoutSeconds = 30,
): Promise<void> {
  await run(
    'ovsdb-client',
    [`--timeout=${timeoutSeconds}`, 'wait', `unix:${socketOf(dir, server)}`, 'OVN_Southbound', 'connected'],
    { env, timeoutMs: (timeoutSeconds + 5) * 1000 },
  );
}

export interface SbClusterOptions {
  /** Relays in front of the cluster (default 1). */
  readonly relays?: number;
  /** A standalone OVN_Southbound db file to start the cluster with (default: empty, from the schema). */
  readonly contents?: string;
  /** Parent of the temp dir (default the OS temp dir). */
  readonly parentDir?: string;
  /** Seconds to wait for a member or relay to connect (a large db takes a while). */
  readonly connectTimeoutSeconds?: number;
}

export class SbCluster {
  readonly env: Readonly<Record<string, string>>;
  /** The members' unix remotes, comma-separated (what a writer or ovn-northd uses). */
  readonly membersRemote: string;
  readonly #daemons = new Map<DaemonName, Daemon>();
  readonly #relays: RelayName[];
  #stopped = false;

  constructor(
    readonly dir: string,
    readonly name: string,
    relays: number,
  ) {
    this.env = Object.fromEntries(
      ['OVS_RUNDIR', 'OVS_LOGDIR', 'OVS_DBDIR', 'OVN_RUNDIR', 'OVN_LOGDIR', 'OVN_DBDIR'].map((k) => [k, dir]),
    );
    this.membersRemote = sbRemote({ dir, sbCluster: true });
    this.#relays = Array.from({ length: relays }, (_, i) => relayName(i));
  }

  /** Each relay's unix remote, in order. */
  get relayRemotes(): string[] {
    return this.#relays.map((r) => `unix:${socketOf(this.dir, r)}`);
  }

  get relayNames(): readonly RelayName[] {
    return this.#relays;
  }

  daemon(name: DaemonName): Daemon {
    const d = this.#daemons.get(name);
    if (d === undefined) throw new Error(`SB cluster ${this.name}: no daemon ${name}`);
    return d;
  }

  appctl(daemon: DaemonName, ...args: string[]): Promise<string> {
    return run('ovs-appctl', ['-t', controlSocket(this.dir, daemon, this.daemon(daemon).pid), ...args], {
      env: this.env,
    });
  }

  /** The member that is the Raft leader now (`cluster/status`: "Role: leader"). */
  async leader(): Promise<(typeof SB_MEMBERS)[number]> {
    for (const m of SB_MEMBERS) {
      const status = await this.appctl(m, 'cluster/status', 'OVN_Southbound').catch(() => '');
      if (/^Role: leader$/m.test(status)) return m;
    }
    throw new Error(`SB cluster ${this.name}: no leader`);
  }

  /** Used by startSbCluster only. */
  async boot(contents: string | undefined, timeoutSeconds: number): Promise<void> {
    await createSbClusterFiles(this.dir, contents);
    await Promise.all(SB_MEMBERS.map((m) => this.#start(m)));
    // --detach returns before a member has joined (ovsdb-server(1)).
    await Promise.all(SB_MEMBERS.map((m) => waitDbConnected(this.dir, m, this.env, timeoutSeconds)));
    await Promise.all(this.#relays.map((r) => this.#start(r)));
    await Promise.all(this.#relays.map((r) => waitDbConnected(this.dir, r, this.env, timeoutSeconds)));
  }

  async stop(options: { keepDir?: boolean } = {}): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const results = await Promise.allSettled([...this.#daemons.values()].map((d) => d.stop()));
    if (!options.keepDir && process.env.OVNMETA_SANDBOX_KEEP !== '1')
      await rm(this.dir, { recursive: true, force: true });
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async #start(name: DaemonName): Promise<Daemon> {
    const layout = {
      dir: this.dir,
      name: this.name,
      env: this.env,
      datapathType: 'dummy' as const,
      sbPort: 0,
      sbCluster: true,
    };
    const daemon = await new Daemon(daemonSpec(layout, name)).start();
    this.#daemons.set(name, daemon);
    return daemon;
  }
}

/** Starts a 3-member Raft SB and its relays; on failure stops whatever had started. */
export async function startSbCluster(options: SbClusterOptions = {}): Promise<SbCluster> {
  const dir = await mkdtemp(join(options.parentDir ?? tmpdir(), 'ovn-sbcluster-'));
  const cluster = new SbCluster(dir, `sbc-${randomBytes(3).toString('hex')}`, options.relays ?? 1);
  try {
    await cluster.boot(options.contents, options.connectTimeoutSeconds ?? 30);
  } catch (err) {
    await cluster.stop().catch(() => undefined);
    throw err;
  }
  return cluster;
}
