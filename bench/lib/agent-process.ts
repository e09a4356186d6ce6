// `ovnmeta agent --config-file FILE` as a child process, as an operator runs
// it, so that the measured time includes node's start-up and module loading
// and the memory figure is that of a process holding only the agent.
//
// The CLI is the one compiled with this bench (.bench/src/cli/main.js): the
// type-only import below puts src/cli/main.ts in the bench's program, so tsc
// emits it with the bench and the measured code is always the current source
// (dist/ may be stale). Its JSON log (pino, stdout) goes to a file in the
// chassis dir; the bench reads it afterwards for the agent's own timings. It
// runs with the V8 flags of the launcher (bin/ovnmeta.js), as deployed.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {} from '../../src/cli/main.js';
import type { Chassis } from '../../src/sandbox/index.js';

export const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** The repository's launcher, whose #! line carries the agent's V8 flags. */
const LAUNCHER = fileURLToPath(new URL('../../../bin/ovnmeta.js', import.meta.url));

/**
 * The V8 flags the launcher runs the agent with (`#!/usr/bin/env -S node
 * FLAGS`), so that a bench measures the agent as deployed. They go first in
 * NODE_OPTIONS: a bench's own options (e.g. --agent-node-options) come after
 * them and win.
 */
export function launcherNodeFlags(): string[] {
  const first = readFileSync(LAUNCHER, 'utf8').split('\n')[0]!;
  const m = /^#!\/usr\/bin\/env -S node( .*)?$/.exec(first);
  if (m === null) throw new Error(`${LAUNCHER}: unexpected first line ${first}`);
  return (m[1] ?? '').trim().split(/\s+/).filter(Boolean);
}

export interface AgentProcessOptions {
  readonly novaPort: number;
  readonly secret: string;
  /** [ovnmeta] reconcile_workers; default the agent's (8). */
  readonly workers?: number;
  /** [ovnmeta] resync_interval in seconds; default the agent's (300). */
  readonly resyncSeconds?: number;
  /** Port of the admin (/metrics) endpoint; the option takes no port 0. */
  readonly adminPort: number;
}

/** neutron_ovn_metadata_agent.ini as a deployment would write it (SB over tcp, debug off). */
export function benchIni(chassis: Chassis, o: AgentProcessOptions): string {
  return [
    '[DEFAULT]',
    'nova_metadata_host = 127.0.0.1',
    `nova_metadata_port = ${o.novaPort}`,
    `metadata_proxy_shared_secret = ${o.secret}`,
    `state_path = ${join(chassis.dir, 'state')}`,
    'debug = false',
    '[ovs]',
    `ovsdb_connection = ${chassis.ovsDbRemote}`,
    '[ovn]',
    `ovn_sb_connection = ${chassis.sbTcpRemote}`,
    '[ovnmeta]',
    `metrics_bind = 127.0.0.1:${o.adminPort}`,
    ...(o.workers === undefined ? [] : [`reconcile_workers = ${o.workers}`]),
    ...(o.resyncSeconds === undefined ? [] : [`resync_interval = ${o.resyncSeconds}`]),
    '',
  ].join('\n');
}

export interface LogLine {
  readonly time: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export class AgentProcess {
  readonly #exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly logFile: string,
    /** performance.now() just before the spawn. */
    readonly spawnedAt: number,
    /** Date.now() at the same moment, to place the agent's log times on our clock. */
    readonly spawnedAtEpoch: number,
    readonly adminPort: number,
  ) {
    this.#exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async spawn(
    chassis: Chassis,
    o: Omit<AgentProcessOptions, 'adminPort'>,
    /** The CLI to run; default the one compiled with this bench (another copy: a version swap). */
    main = MAIN,
  ): Promise<AgentProcess> {
    const adminPort = await freePort();
    const ini = join(chassis.dir, 'bench-agent.ini');
    await writeFile(ini, benchIni(chassis, { ...o, adminPort }), { mode: 0o600 });
    const logFile = join(chassis.dir, `bench-agent-${Date.now()}.log`);
    const out = openSync(logFile, 'w');
    const spawnedAt = performance.now();
    const spawnedAtEpoch = Date.now();
    try {
      const nodeOptions = [...launcherNodeFlags(), process.env.NODE_OPTIONS ?? ''].join(' ').trim();
      const child = spawn(process.execPath, [main, 'agent', '--config-file', ini], {
        stdio: ['ignore', out, out],
        env: { ...process.env, NODE_OPTIONS: nodeOptions },
      });
      return new AgentProcess(child, logFile, spawnedAt, spawnedAtEpoch, adminPort);
    } finally {
      closeSync(out);
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the exit code if the agent exits (it never should during a run). */
  exited(): Promise<number | null> {
    return this.#exited;
  }

  /** VmHWM and VmRSS of the agent process, in MB. */
  memory(): { peakRssMb: number; rssMb: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
    return { peakRssMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
  }

  /**
   * CPU seconds so far (proc(5) /proc/PID/stat utime+stime): the agent's own,
   * and its waited-for children's (ip, ethtool, the netns listen helpers).
   */
  cpu(): { selfSeconds: number; childrenSeconds: number } {
    return cpuSeconds(this.pid);
  }

  /** The agent's JSON log lines so far (non-JSON lines, e.g. a stack trace, are skipped). */
  log(): LogLine[] {
    const lines: LogLine[] = [];
    for (const text of readFileSync(this.logFile, 'utf8').split('\n')) {
      if (!text.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(text) as LogLine);
      } catch {
        // a line being written
      }
    }
    return lines;
  }

  /** Milliseconds from the spawn to the first log line with this message, if any. */
  msToLog(msg: string): number | undefined {
    const line = this.log().find((l) => l.msg === msg);
    return line === undefined ? undefined : line.time - this.spawnedAtEpoch;
  }

  /**
   * When the agent logged the listener of `network` ready, on the bench's
   * performance.now() clock (the log has millisecond epoch times; the spawn
   * is the common point of the two clocks).
   */
  listenerReadyAt(network: string): number | undefined {
    const line = this.log().find((l) => l.msg === 'metadata listener ready' && l.network === network);
    return line === undefined ? undefined : this.spawnedAt + (line.time - this.spawnedAtEpoch);
  }

  /** Milliseconds from the spawn to the last listener of these networks ready; undefined until all are. */
  lastListenerReadyMs(networks: readonly string[]): number | undefined {
    const ids = new Set(networks);
    const times = this.log()
      .filter((l) => l.msg === 'metadata listener ready' && ids.has(String(l.network)))
      .map((l) => l.time - this.spawnedAtEpoch);
    return times.length === ids.size ? Math.max(...times) : undefined;
  }

  /** The admin endpoint's /metrics text (Prometheus exposition). */
  async metrics(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.adminPort}/metrics`);
    return res.text();
  }

  /** The last lines of the agent's output, for error messages. */
  tail(lines = 5): string {
    return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  }

  /** SIGTERM (the agent stops and leaves its namespaces), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.#exited;
    clearTimeout(timer);
  }
}

/**
 * CPU seconds of a process (proc(5) /proc/PID/stat): its own utime+stime,
 * and that of the children it has waited for.
 */
/** The listener holder's control socket of an agent started by benchIni (state_path's default name). */
export function holderSocketOf(chassis: Chassis): string {
  return join(chassis.dir, 'state', 'ovnmeta-listeners.sock');
}

export function cpuSeconds(pid: number): { selfSeconds: number; childrenSeconds: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime is field 14 overall.
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  const tick = 100; // USER_HZ
  return { selfSeconds: (f[11]! + f[12]!) / tick, childrenSeconds: (f[13]! + f[14]!) / tick };
}

/** A TCP port free on 127.0.0.1 right now (the agent binds it a moment later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Sum of a Prometheus sample over all its label sets (`name{…} value` and `name value`). */
export function sample(metrics: string, name: string): number {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.split(' ').pop());
  }
  return sum;
}
