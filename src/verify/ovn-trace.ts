// ovn-trace in daemon mode (ovn-trace(8) "Daemon Mode"): it loads the SB
// once and then answers `trace` commands on its unixctl socket, so N VM
// ports cost one database load instead of N, which on a cloud-sized SB is
// the whole price of a trace. We speak the unixctl protocol (JSON-RPC 1.0,
// one method per command, params = the command's arguments) ourselves over
// the socket, with src/ovsdb's framer and session: no ovs-appctl spawn per
// trace. The daemon lives in a private temp dir and is stopped by its `exit`
// command, or by the pid in its pid file.
//
// Facts from ovn-trace.c (OVN 23.03): `--detach` returns once the first
// database snapshot is read; the daemon never rereads it (a consistent
// snapshot is what a verify run wants); `trace` accepts only the output
// format options, so `--no-friendly-names` (neutron's port names are UUIDs
// that friendly names would shorten) goes on the daemon's command line; a
// microflow that does not parse is answered as text, not as an error.
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonFramer, RpcSession } from '../ovsdb/index.js';
import { VerifyTraceError } from './errors.js';

export interface OvnTraceOptions {
  /** The SB remote (unix:, tcp:, ssl:; a comma list for a cluster). */
  readonly db: string;
  readonly ssl?: { readonly privateKey: string; readonly certificate: string; readonly caCert: string };
  /** How long loading the SB may take. */
  readonly startTimeoutMs?: number;
  /** How long one trace may take. */
  readonly callTimeoutMs?: number;
}

export class OvnTrace {
  readonly #dir: string;
  readonly #socket: net.Socket;
  readonly #rpc: RpcSession;
  readonly #callTimeoutMs: number;
  #closed = false;

  private constructor(dir: string, socket: net.Socket, rpc: RpcSession, callTimeoutMs: number) {
    this.#dir = dir;
    this.#socket = socket;
    this.#rpc = rpc;
    this.#callTimeoutMs = callTimeoutMs;
  }

  /** Starts the daemon and connects to it; throws VerifyTraceError. */
  static async start(o: OvnTraceOptions): Promise<OvnTrace> {
    const dir = await mkdtemp(join(tmpdir(), 'ovnmeta-verify-'));
    const ctl = join(dir, 'ovn-trace.ctl');
    const args = [
      `--db=${o.db}`,
      '--no-friendly-names',
      '--detach',
      '--no-chdir',
      `--pidfile=${join(dir, 'ovn-trace.pid')}`,
      `--unixctl=${ctl}`,
      `--log-file=${join(dir, 'ovn-trace.log')}`,
      ...(o.ssl
        ? [
            `--private-key=${o.ssl.privateKey}`,
            `--certificate=${o.ssl.certificate}`,
            `--ca-cert=${o.ssl.caCert}`,
          ]
        : []),
    ];
    const timeoutMs = o.startTimeoutMs ?? 60_000;
    const result = await execa('ovn-trace', args, { reject: false, timeout: timeoutMs, stdin: 'ignore' });
    if (result.exitCode !== 0) {
      await stopByPidFile(dir);
      await rm(dir, { recursive: true, force: true });
      const why =
        result.timedOut === true
          ? `did not load the Southbound at ${o.db} within ${timeoutMs} ms`
          : result.exitCode === undefined
            ? `cannot run: ${result.shortMessage}`
            : `exited ${result.exitCode}: ${result.stderr.trim().split('\n').pop() ?? ''}`;
      throw new VerifyTraceError(why, { cause: result });
    }
    try {
      const socket = await connect(ctl);
      const framer = new JsonFramer({ remote: ctl });
      const rpc = new RpcSession({
        write: (text) => socket.write(text),
        onNotification: () => {},
        remote: ctl,
      });
      socket.on('data', (chunk: Buffer) => {
        for (const text of framer.push(chunk)) rpc.receive(text);
      });
      socket.on('close', () => rpc.failAll());
      socket.on('error', () => {}); // 'close' follows and fails what is pending
      return new OvnTrace(dir, socket, rpc, o.callTimeoutMs ?? 30_000);
    } catch (err) {
      await stopByPidFile(dir);
      await rm(dir, { recursive: true, force: true });
      throw new VerifyTraceError(`cannot reach the daemon's control socket ${ctl}`, { cause: err });
    }
  }

  /** `trace --FORMAT DATAPATH MICROFLOW`: ovn-trace's text answer. */
  async trace(datapath: string, microflow: string, format: 'minimal' | 'detailed'): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new VerifyTraceError(`no answer within ${this.#callTimeoutMs} ms`)),
        this.#callTimeoutMs,
      );
    });
    try {
      const reply = await Promise.race([
        this.#rpc.call('trace', [`--${format}`, datapath, microflow]),
        timeout,
      ]);
      if (typeof reply !== 'string') throw new VerifyTraceError(`unexpected reply ${JSON.stringify(reply)}`);
      return reply;
    } catch (err) {
      if (err instanceof VerifyTraceError) throw err;
      throw new VerifyTraceError((err as Error).message, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Asks the daemon to exit; kills it by its pid file if it does not. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.race([this.#rpc.call('exit', []).catch(() => undefined), sleep(2000)]);
    this.#socket.destroy();
    await stopByPidFile(this.#dir, 2000);
    await rm(this.#dir, { recursive: true, force: true });
  }
}

function connect(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Running, and not a zombie left for a parent (init here) that has not reaped it yet. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Waits up to `graceMs` for the daemon of `dir` to go, then SIGTERMs it (by its pid file only). */
async function stopByPidFile(dir: string, graceMs = 0): Promise<void> {
  const text = await readFile(join(dir, 'ovn-trace.pid'), 'utf8').catch(() => '');
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  for (let waited = 0; waited < graceMs && alive(pid); waited += 20) await sleep(20);
  if (alive(pid)) process.kill(pid, 'SIGTERM');
}
