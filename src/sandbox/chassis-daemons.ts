// The command lines of a sandbox chassis's daemons (pure), as in
// /work/shared/reference/ovn-test-env.md: every daemon detached, with its pid
// file, unixctl socket and log in the chassis dir, so several chassis can
// run side by side and each daemon is stopped by its own pid.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DaemonSpec } from './daemon.js';
import { SandboxTimeoutError } from './errors.js';
import { sleep } from './run.js';

export type DaemonName =
  | 'ovsdb'
  | 'vswitchd'
  | 'nb'
  | 'sb'
  | 'northd'
  | 'controller'
  // A clustered SB (ChassisOptions.sbRelay): 'sb' is its first member,
  // 'sb2' and 'sb3' the others, 'relay' an ovsdb-server relay in front
  // (an SbCluster may run more: 'relay2', 'relay3', …).
  | 'sb2'
  | 'sb3'
  | RelayName;

/** An ovsdb-server relay in front of the clustered SB. */
export type RelayName = 'relay' | `relay${number}`;

/** The database servers of a chassis (each has a unix socket). */
export type DbServerName = 'ovsdb' | 'nb' | 'sb' | 'sb2' | 'sb3' | RelayName;

/** The name of the i-th relay (0-based): 'relay', 'relay2', … */
export function relayName(i: number): RelayName {
  return i === 0 ? 'relay' : `relay${i + 1}`;
}

const isRelay = (d: DaemonName): d is RelayName => /^relay\d*$/.test(d);

export const SCHEMAS = {
  ovs: '/usr/share/openvswitch/vswitch.ovsschema',
  nb: '/usr/share/ovn/ovn-nb.ovsschema',
  sb: '/usr/share/ovn/ovn-sb.ovsschema',
} as const;

/** The SB's Raft members when clustered, in order. */
export const SB_MEMBERS = ['sb', 'sb2', 'sb3'] as const;

export interface ChassisLayout {
  readonly dir: string;
  /** Prefix of daemon labels in messages. */
  readonly name: string;
  readonly env: Readonly<Record<string, string>>;
  readonly datapathType: 'netdev' | 'dummy';
  /**
   * SB tcp port: 0 lets the kernel pick one (ptcp:0) on first start; the
   * port read back is pinned for restarts, so clients reconnect to the same
   * address.
   */
  readonly sbPort: number;
  /** A 3-member Raft SB with a relay in front (ovsdb(7) "Relay Service Model"). */
  readonly sbCluster: boolean;
}

/** The unix socket of a database server, for `unix:` remotes. */
export function socketOf(dir: string, daemon: DbServerName): string {
  return join(dir, daemon === 'ovsdb' ? 'db.sock' : `${daemon}.sock`);
}

export function daemonSpec(layout: ChassisLayout, daemon: DaemonName): DaemonSpec {
  const { dir } = layout;
  const file = (suffix: string): string => join(dir, `${daemon}.${suffix}`);
  const common = [`--pidfile=${file('pid')}`, '--detach', `--log-file=${file('log')}`];
  const unixctl = `--unixctl=${file('ctl')}`;
  const ovsdb = (db: string, extra: string[] = []): string[] => [
    db.startsWith('relay:') ? db : join(dir, db),
    `--remote=punix:${socketOf(dir, daemon as DbServerName)}`,
    ...extra,
    unixctl,
    ...common,
  ];
  const ovsDb = `unix:${socketOf(dir, 'ovsdb')}`;
  const sbDb = sbRemote(layout);
  const [command, args] = ((): [string, string[]] => {
    // ovsdb-server(1): `relay:SCHEMA_NAME:REMOTE`; reads are served from
    // the relay's copy, transactions forwarded to the cluster.
    if (isRelay(daemon)) return ['ovsdb-server', ovsdb(`relay:OVN_Southbound:${sbDb}`)];
    switch (daemon) {
      case 'ovsdb':
        return ['ovsdb-server', ovsdb('conf.db')];
      case 'nb':
        return ['ovsdb-server', ovsdb('nb.db')];
      case 'sb':
        return ['ovsdb-server', ovsdb('sb.db', [`--remote=ptcp:${layout.sbPort}:127.0.0.1`])];
      case 'sb2':
      case 'sb3':
        return ['ovsdb-server', ovsdb(`${daemon}.db`)];
      case 'vswitchd':
        // --enable-dummy registers the `dummy` dpif (lib/dummy.c): dpif-netdev
        // without kernel tap devices.
        return [
          'ovs-vswitchd',
          [ovsDb, ...(layout.datapathType === 'dummy' ? ['--enable-dummy'] : []), unixctl, ...common],
        ];
      case 'northd':
        return [
          'ovn-northd',
          [`--ovnnb-db=unix:${socketOf(dir, 'nb')}`, `--ovnsb-db=${sbDb}`, unixctl, ...common],
        ];
      case 'controller':
        // ovn-controller 23.03 has no --unixctl: its socket is
        // $OVN_RUNDIR/ovn-controller.<pid>.ctl (see controlSocket).
        return ['ovn-controller', [ovsDb, ...common]];
    }
  })();
  return {
    name: `${layout.name}/${daemon}`,
    command,
    args,
    pidFile: file('pid'),
    logFile: file('log'),
    env: layout.env,
  };
}

/** The SB remote of ovn-northd, ovn-controller and the ctl tools: the cluster's members when clustered. */
export function sbRemote(layout: Pick<ChassisLayout, 'dir' | 'sbCluster'>): string {
  const members = layout.sbCluster ? SB_MEMBERS : (['sb'] as const);
  return members.map((m) => `unix:${socketOf(layout.dir, m)}`).join(',');
}

/** The unixctl socket of a running daemon. */
export function controlSocket(dir: string, daemon: DaemonName, pid: number): string {
  return join(dir, daemon === 'controller' ? `ovn-controller.${pid}.ctl` : `${daemon}.ctl`);
}

// lib/socket-util.c logs "0:127.0.0.1: listening on port N" once bound.
export async function readListeningPort(logFile: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const match = /listening on port (\d+)/.exec(await readFile(logFile, 'utf8').catch(() => ''));
    if (match) return Number(match[1]);
    await sleep(10);
  }
  throw new SandboxTimeoutError(`"listening on port" in ${logFile}`, 2_000);
}
