// A detached daemon started from a command that daemonizes itself
// (`--detach --pidfile=…`, as every OVS/OVN daemon does), stopped by the pid
// in its pid file only, never by name: other sandboxes share the machine.
// Same API as test/support/daemon.ts, which it can replace.
//
// OVS daemons run with --detach return from the foreground process only once
// the daemon is ready (daemon_complete() in lib/daemon-unix.c), so exit 0
// already means "listening"; `ready` is for anything more.
//
// Every running daemon is in a module registry: `stopAllDaemons()` stops the
// survivors, and a process 'exit' hook SIGKILLs whatever is left, so a failed
// test or a crashed demo never leaks a daemon.
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { SandboxDaemonError } from './errors.js';
import { runRaw, sleep } from './run.js';

export interface DaemonSpec {
  /** Short label for messages, e.g. 'sb-ovsdb-server'. */
  readonly name: string;
  readonly command: string;
  /** Arguments, including the daemon's own --detach and --pidfile=<pidFile>. */
  readonly args: readonly string[];
  readonly pidFile: string;
  /** Quoted (tail) in start errors. */
  readonly logFile?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Extra readiness check once the foreground process exited 0. */
  readonly ready?: () => Promise<boolean>;
  readonly readyTimeoutMs?: number;
}

const live = new Set<Daemon>();

export class Daemon {
  #pid: number | undefined;

  constructor(readonly spec: DaemonSpec) {}

  /** The running daemon's pid; throws when it is not running. */
  get pid(): number {
    if (this.#pid === undefined) throw new SandboxDaemonError(this.spec.name, 'not running');
    return this.#pid;
  }

  get running(): boolean {
    return this.#pid !== undefined && isAlive(this.#pid);
  }

  async start(): Promise<this> {
    if (this.running) return this;
    const { spec } = this;
    const result = await runRaw(spec.command, spec.args, { env: spec.env });
    if (result.exitCode !== 0) {
      const why = `failed to start (exit ${result.exitCode}): ${result.stderr || result.stdout}`;
      throw new SandboxDaemonError(spec.name, why + (await logTail(spec.logFile)));
    }
    this.#pid = await readPid(spec);
    live.add(this);
    if (spec.ready) {
      const deadline = Date.now() + (spec.readyTimeoutMs ?? 15_000);
      while (!(await spec.ready())) {
        if (!isAlive(this.#pid)) {
          throw new SandboxDaemonError(spec.name, `exited while starting${await logTail(spec.logFile)}`);
        }
        if (Date.now() > deadline) {
          throw new SandboxDaemonError(spec.name, `not ready in time${await logTail(spec.logFile)}`);
        }
        await sleep(20);
      }
    }
    return this;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the pid is gone. */
  async stop(graceMs = 5_000): Promise<void> {
    const pid = this.#pid;
    if (pid === undefined) return;
    signal(pid, 'SIGTERM');
    signal(pid, 'SIGCONT'); // a SIGSTOPped daemon acts on SIGTERM only once resumed
    if (!(await waitGone(pid, graceMs))) {
      signal(pid, 'SIGKILL');
      await waitGone(pid, 5_000);
    }
    this.#forget();
  }

  /** Waits for the daemon to exit by itself (after `ovs-appctl exit`); true when it did. */
  async waitExit(timeoutMs: number): Promise<boolean> {
    const pid = this.#pid;
    if (pid === undefined) return true;
    if (!(await waitGone(pid, timeoutMs))) return false;
    this.#forget();
    return true;
  }

  /** SIGKILL: a crash, as clients see it (no goodbye on the socket). */
  async kill(): Promise<void> {
    const pid = this.#pid;
    if (pid === undefined) return;
    signal(pid, 'SIGKILL');
    await waitGone(pid, 5_000);
    this.#forget();
  }

  sigstop(): void {
    signal(this.pid, 'SIGSTOP');
  }

  sigcont(): void {
    signal(this.pid, 'SIGCONT');
  }

  async restart(): Promise<this> {
    await this.stop();
    return this.start();
  }

  #forget(): void {
    this.#pid = undefined;
    live.delete(this);
  }
}

export async function startDaemon(spec: DaemonSpec): Promise<Daemon> {
  return new Daemon(spec).start();
}

/** Stops every daemon this process started and has not stopped yet. */
export async function stopAllDaemons(): Promise<void> {
  await Promise.allSettled([...live].map((d) => d.stop()));
}

/**
 * SIGKILLs every daemon still running, at once (synchronous): for exit and
 * signal hooks. A SIGSTOPped daemon is resumed first so the kill lands.
 */
export function killAllDaemons(): void {
  for (const d of live) {
    signal(d.pid, 'SIGCONT');
    signal(d.pid, 'SIGKILL');
  }
}

process.once('exit', killAllDaemons);

/** Alive and not a zombie (a reparented daemon may linger unreaped). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A process is gone when every one of its threads is a zombie or dead: a
  // thread-group leader that exited while another thread is still stuck (an
  // ovs-vswitchd thread in synchronize_rcu, holding its netdev taps) shows Z
  // in /proc/<pid>/stat but is not gone yet.
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return false;
  }
  return tasks.some((tid) => {
    // /proc/<pid>/task/<tid>/stat is "tid (comm) S …"; comm may hold spaces or parens.
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      return false;
    }
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    return state !== 'Z' && state !== 'X';
  });
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

async function readPid(spec: DaemonSpec): Promise<number> {
  // --detach writes the pid file before the parent exits; the loop covers
  // daemons that do not.
  for (let i = 0; i < 100; i++) {
    try {
      const pid = Number.parseInt((await readFile(spec.pidFile, 'utf8')).trim(), 10);
      if (pid > 0) return pid;
    } catch {
      // not written yet
    }
    await sleep(10);
  }
  throw new SandboxDaemonError(spec.name, `no pid in ${spec.pidFile}`);
}

async function logTail(logFile: string | undefined): Promise<string> {
  if (!logFile) return '';
  try {
    const text = await readFile(logFile, 'utf8');
    return `\n--- ${logFile} (tail) ---\n${text.split('\n').slice(-15).join('\n')}`;
  } catch {
    return '';
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // ESRCH: already gone
  }
}

export { sleep };
