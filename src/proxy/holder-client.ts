// The agent's side of the listener holder (listener-holder.ts): starts it
// when none answers on the control socket, asks it for sockets, and receives
// their descriptors (recvmsg(2) with SCM_RIGHTS, through koffi).
//
// Each request is one short blocking exchange on a fresh unix connection: the
// holder answers at once (a bind or a lookup), so the event loop is held for
// tens of microseconds; SO_RCVTIMEO bounds it should the holder hang.

import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

import koffi from 'koffi';

import { ProxyHelperFailedError } from './errors.js';
import {
  HOLDER_PROTOCOL,
  LISTENER_HOLDER_SOURCE,
  type HolderOpen,
  type HolderReply,
  type HolderRequest,
} from './listener-holder.js';

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0x80000;
const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;
const SO_SNDTIMEO = 21;
const MSG_CMSG_CLOEXEC = 0x40000000;
const REPLY_LIMIT = 65_536;
const CONTROL_BYTES = 64;

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  connect(fd: number, addr: Buffer, len: number): number;
  write(fd: number, buf: Buffer, len: number): number;
  recvmsg(fd: number, msg: MsgHdr, flags: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  close(fd: number): number;
}

interface MsgHdr {
  name: null;
  namelen: number;
  iov: { base: Buffer; len: number };
  iovlen: number;
  control: Buffer;
  controllen: number;
  flags: number;
}

let libc: Libc | undefined;

function bindings(): Libc {
  if (libc !== undefined) return libc;
  const lib = koffi.load('libc.so.6');
  // Anonymous types: koffi's type names are process-wide and outlive this
  // module, which a test runner may evaluate more than once per process.
  const iovec = koffi.struct({ base: 'void *', len: 'size_t' });
  const msghdr = koffi.struct({
    name: 'void *',
    namelen: 'uint32_t',
    iov: koffi.pointer(iovec),
    iovlen: 'size_t',
    control: 'void *',
    controllen: 'size_t',
    flags: 'int',
  });
  const socket = lib.func('int socket(int, int, int)');
  const connect = lib.func('int connect(int, void *, uint32_t)');
  const write = lib.func('intptr_t write(int, void *, size_t)');
  const recvmsg = lib.func('recvmsg', 'intptr_t', ['int', koffi.inout(koffi.pointer(msghdr)), 'int']);
  const setsockopt = lib.func('int setsockopt(int, int, int, void *, uint32_t)');
  const close = lib.func('int close(int)');
  libc = {
    socket: (d, t, p) => Number(socket(d, t, p)),
    connect: (fd, a, l) => Number(connect(fd, a, l)),
    write: (fd, b, l) => Number(write(fd, b, l)),
    recvmsg: (fd, m, f) => Number(recvmsg(fd, m, f)),
    setsockopt: (fd, l, n, v, len) => Number(setsockopt(fd, l, n, v, len)),
    close: (fd) => Number(close(fd)),
  };
  return libc;
}

/** What the holder answered, with the descriptors it attached. */
interface Exchange {
  readonly reply: HolderReply;
  readonly fds: number[];
}

class HolderUnreachable extends Error {
  constructor(readonly errno: string) {
    super(`connect: ${errno}`);
  }
}

function errnoName(): string {
  const errno = koffi.errno();
  for (const [name, value] of Object.entries(ERRNO)) if (value === errno) return name;
  return `E${errno}`;
}
const ERRNO: Record<string, number> = { ENOENT: 2, ECONNREFUSED: 111, EAGAIN: 11, EINTR: 4, EPIPE: 32 };

function exchange(path: string, request: HolderRequest, timeoutMs: number): Exchange {
  const c = bindings();
  const fd = c.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket: ${errnoName()}`);
  try {
    const timeval = Buffer.alloc(16);
    timeval.writeBigInt64LE(BigInt(Math.floor(timeoutMs / 1000)), 0);
    timeval.writeBigInt64LE(BigInt((timeoutMs % 1000) * 1000), 8);
    c.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeval, 16);
    c.setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, timeval, 16);
    const sun = Buffer.alloc(110);
    sun.writeUInt16LE(AF_UNIX, 0);
    sun.write(path, 2);
    if (c.connect(fd, sun, sun.length) !== 0) throw new HolderUnreachable(errnoName());
    const line = Buffer.from(`${JSON.stringify(request)}\n`);
    if (c.write(fd, line, line.length) !== line.length) throw new Error(`write: ${errnoName()}`);
    const body = Buffer.alloc(REPLY_LIMIT);
    const fds: number[] = [];
    let used = 0;
    while (!body.subarray(0, used).includes(10)) {
      const control = Buffer.alloc(CONTROL_BYTES);
      const msg: MsgHdr = {
        name: null,
        namelen: 0,
        iov: { base: body.subarray(used), len: body.length - used },
        iovlen: 1,
        control,
        controllen: control.length,
        flags: 0,
      };
      const n = c.recvmsg(fd, msg, MSG_CMSG_CLOEXEC);
      if (n < 0 && koffi.errno() === ERRNO.EINTR) continue;
      if (n <= 0) {
        for (const f of fds) c.close(f);
        throw new Error(n === 0 ? 'closed without an answer' : `recvmsg: ${errnoName()}`);
      }
      used += n;
      if (msg.controllen >= 16 && control.readInt32LE(8) === 1 && control.readInt32LE(12) === 1) {
        const count = (Number(control.readBigUInt64LE(0)) - 16) / 4;
        for (let i = 0; i < count; i++) fds.push(control.readInt32LE(16 + 4 * i));
      }
    }
    const reply = JSON.parse(body.subarray(0, body.indexOf(10)).toString('utf8')) as HolderReply;
    return { reply, fds };
  } finally {
    c.close(fd);
  }
}

export interface OpenedListener {
  /** A descriptor of the listening socket, this process's to close. */
  readonly fd: number;
  readonly port: number;
  /** The holder had it already (a previous agent's socket, backlog and all). */
  readonly adopted: boolean;
}

export class ListenerHolder {
  private constructor(
    readonly path: string,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Ends the holder on `path` if one runs (`ovnmeta release`, `ovnmeta
   * cleanup`, tests): every socket it keeps closes. Returns how many it
   * held, undefined when none answered.
   */
  static end(path: string, timeoutMs = 5_000): number | undefined {
    const status = ListenerHolder.status(path, timeoutMs);
    if (status === undefined) return undefined;
    new ListenerHolder(path, timeoutMs).exit();
    return status.held;
  }

  /** The holder on `path`: its pid and how many sockets it keeps; undefined when none answers. */
  static status(path: string, timeoutMs = 5_000): { pid: number; held: number } | undefined {
    try {
      const { reply } = exchange(path, { op: 'ping' }, timeoutMs);
      return reply.ok && 'held' in reply ? { pid: reply.pid, held: reply.held } : undefined;
    } catch (error) {
      if (error instanceof HolderUnreachable) return undefined;
      throw new ProxyHelperFailedError(path, (error as Error).message, { cause: error });
    }
  }

  static async connect(path: string, timeoutMs: number): Promise<ListenerHolder> {
    const holder = new ListenerHolder(path, timeoutMs);
    const protocol = holder.#ping();
    if (protocol !== undefined) return holder.#checked(protocol);
    await startHolder(path, timeoutMs);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const started = holder.#ping();
      if (started !== undefined) return holder.#checked(started);
      if (Date.now() > deadline) {
        throw new ProxyHelperFailedError(path, `listener holder did not answer within ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  #checked(protocol: number): ListenerHolder {
    if (protocol !== HOLDER_PROTOCOL) {
      throw new ProxyHelperFailedError(this.path, `listener holder speaks protocol ${protocol}`);
    }
    return this;
  }

  #ping(): number | undefined {
    try {
      const { reply } = exchange(this.path, { op: 'ping' }, this.timeoutMs);
      return reply.ok && 'protocol' in reply ? reply.protocol : undefined;
    } catch (error) {
      if (error instanceof HolderUnreachable) return undefined;
      throw new ProxyHelperFailedError(this.path, (error as Error).message, { cause: error });
    }
  }

  /** The listening socket for `request.key`: the one held, else a new one. */
  open(
    request: Omit<HolderOpen, 'op'>,
  ): OpenedListener | { readonly code: string; readonly message: string } {
    const { reply, fds } = this.#ask({ op: 'open', ...request });
    if (!reply.ok) return { code: reply.code, message: reply.message };
    if (!('port' in reply) || fds.length !== 1) {
      for (const fd of fds) bindings().close(fd);
      throw new ProxyHelperFailedError(this.path, 'listener holder answered open without a socket');
    }
    return { fd: fds[0]!, port: reply.port, adopted: reply.adopted };
  }

  /** The holder closes its copy: the port is free once ours closes too. */
  drop(key: string): void {
    this.#ask({ op: 'drop', key });
  }

  /** Ends the holder: every socket it keeps is closed. */
  exit(): void {
    try {
      this.#ask({ op: 'exit' });
    } catch (error) {
      // Already gone is what was asked.
      if (!(error instanceof ProxyHelperFailedError && /connect/.test(error.reason))) throw error;
    }
  }

  #ask(request: HolderRequest): Exchange {
    try {
      return exchange(this.path, request, this.timeoutMs);
    } catch (error) {
      throw new ProxyHelperFailedError(this.path, (error as Error).message, { cause: error });
    }
  }
}

/** Starts a holder on `path`, detached: it outlives this process. */
function startHolder(path: string, timeoutMs: number): Promise<void> {
  // state_path may not exist yet on a fresh host (nothing else made it so far).
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const koffiPath = createRequire(import.meta.url).resolve('koffi');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', LISTENER_HOLDER_SOURCE, koffiPath, path], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new ProxyHelperFailedError(path, `listener holder did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.once('data', () => {
      clearTimeout(timer);
      child.stdout.destroy();
      child.stderr.destroy();
      child.unref();
      resolve();
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new ProxyHelperFailedError(path, stderr.trim() || `listener holder exited with ${signal ?? code}`),
      );
    });
  });
}
