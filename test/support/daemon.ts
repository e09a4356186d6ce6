// A generic detached daemon for tests, the bench and the sandbox: run a
// command that daemonizes itself (`--detach --pidfile=…`, as every OVS/OVN
// daemon does), read its pid from the pid file, and stop it by that pid
// only — never by name, since other sandboxes share the machine.
//
// OVS daemons started with --detach return from the foreground process only
// once the daemon is ready (daemon_complete(), lib/daemon-unix.c), so a zero
// exit status already means "listening"; `ready` is for anything more.
//
// Every started daemon is tracked in a module registry: `stopAllDaemons()`
// stops the survivors and a process 'exit' hook SIGKILLs whatever is left, so
// a failed test or a crashed run never leaks a daemon. No vitest dependency.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';

export interface DaemonSpec {
  /** Short label for error messages, e.g. 'sb-ovsdb-server'. */
  readonly name: string;
  readonly command: string;
  /** Arguments including the daemon's own --detach and --pidfile=<pidFile>. */
  readonly args: readonly string[];
  readonly pidFile: string;
  /** The daemon's log file, quoted in start errors. */
  readonly logFile?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Extra readiness check after the foreground process exited 0. */
  readonly ready?: () => Promise<boolean>;
  readonly readyTimeoutMs?: number;
}

const live = new Set<Daemon>();

export class Daemon {
  #pid: number | undefined;

  constructor(readonly spec: DaemonSpec) {}

  /** The running daemon's pid; throws when not running. */
  get pid(): number {
    if (this.#pid === undefined) throw new Error(`daemon ${this.spec.name} is not running`);
    return this.#pid;
  }

  get running(): boolean {
    return this.#pid !== undefined && isAlive(this.#pid);
  }

  async start(): Promise<this> {
    if (this.#pid !== undefined && isAlive(this.#pid)) return this;
    const { spec } = this;
    const result = await execa(spec.command, [...spec.args], {
      reject: false,
      env: spec.env ? { ...process.env, ...spec.env } : undefined,
      cwd: spec.cwd,
      timeout: 30_000,
    });
    if (result.exitCode !== 0) {
      throw new Error(
        `daemon ${spec.name} failed to start (exit ${result.exitCode}): ${result.stderr || result.stdout}` +
          (await logTail(spec.logFile)),
      );
    }
    this.#pid = await readPid(spec.pidFile, spec.name);
    live.add(this);
    if (spec.ready) {
      const deadline = Date.now() + (spec.readyTimeoutMs ?? 15_000);
      while (!(await spec.ready())) {
        if (!isAlive(this.#pid))
          throw new Error(`daemon ${spec.name} exited while starting${await logTail(spec.logFile)}`);
        if (Date.now() > deadline)
          throw new Error(`daemon ${spec.name} not ready in time${await logTail(spec.logFile)}`);
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
    signal(pid, 'SIGCONT'); // a SIGSTOPped daemon only acts on SIGTERM once resumed
    if (!(await waitGone(pid, graceMs))) {
      signal(pid, 'SIGKILL');
      await waitGone(pid, 5_000);
    }
    this.#forget();
  }

  /** SIGKILL: a crash, as seen by clients (no goodbye on the socket). */
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

function killLive(): void {
  for (const d of live) {
    try {
      process.kill(d.pid, 'SIGCONT');
      process.kill(d.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

process.once('exit', killLive);
// 'exit' does not run when a signal ends the process (a test runner's
// timeout, Ctrl-C): kill the daemons, then let the signal take its course.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    killLive();
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  });
}

/** Alive and not a zombie (a reparented daemon may linger unreaped). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // /proc/<pid>/stat: "pid (comm) S …"; comm may hold spaces or parens.
  const stat = readFileSyncSafe(`/proc/${pid}/stat`);
  if (stat === undefined) return false;
  const state = stat.charAt(stat.lastIndexOf(')') + 2);
  return state !== 'Z' && state !== 'X';
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

async function readPid(pidFile: string, name: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    try {
      const pid = Number.parseInt((await readFile(pidFile, 'utf8')).trim(), 10);
      if (pid > 0) return pid;
    } catch {
      // not written yet
    }
    await sleep(10);
  }
  throw new Error(`daemon ${name}: no pid in ${pidFile}`);
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

function readFileSyncSafe(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
