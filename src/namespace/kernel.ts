// The kernel calls of this layer, made in-process: no `ip`, no `ethtool`, no
// process start per network.
//
// A batch runs in one network namespace (or the agent's own): one worker
// thread setns(2)s into /run/netns/<name>, makes the calls in order, stops at
// the first that fails (as `ip -batch` does without -force: later steps
// depend on earlier ones), and setns(2)s back. The calls:
//   netlink     one rtnetlink request (netlink.ts encodes it), waiting for its ACK
//   dump        one rtnetlink dump, its reply buffers returned for decoding
//   netns-add   what `ip netns add` does: /run/netns made a shared mount
//               (bind-mounted on itself first when it is no mount), the file
//               created, unshare(CLONE_NEWNET) on the thread, the thread's
//               namespace bind-mounted on the file, setns back
//   netns-delete  what `ip netns delete` does: umount2(MNT_DETACH), unlink
//   ethtool     tx checksum offload read (ETHTOOL_GTXCSUM) or set
//               (ETHTOOL_STXCSUM) by SIOCETHTOOL on a socket made in the namespace
//
// setns(CLONE_NEWNET) and unshare(CLONE_NEWNET) move only the calling
// thread, and everything the agent's main thread does (sockets, the listener
// holder's exchanges) would happen in the wrong namespace should the way back
// ever fail. So the calls run on one worker thread of our own (not libuv's
// pool, which fs and dns share): it does nothing else, and it ends itself (and
// is replaced on the next batch) rather than carry on in a namespace it could
// not leave. The worker's source is a plain CommonJS string, like the listener
// holder's, so it runs the same from src/ (vitest) and dist/; the FFI is koffi.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

import type { NetlinkPatch } from './netlink.js';

export type KernelOp =
  /** A request that changes the host; reads are dumps. */
  | { readonly op: 'netlink'; readonly bytes: Uint8Array; readonly patch?: NetlinkPatch }
  | { readonly op: 'dump'; readonly bytes: Uint8Array }
  | { readonly op: 'netns-add'; readonly path: string }
  | { readonly op: 'netns-delete'; readonly path: string }
  | { readonly op: 'ethtool'; readonly link: string; readonly set?: boolean };

export interface KernelBatch {
  /** Namespace file to run in (/run/netns/<name>); null: the agent's own. */
  readonly netns: string | null;
  readonly ops: readonly KernelOp[];
}

/** Per op: nothing (netlink, netns-*), the reply buffers (dump), the offload state (ethtool). */
export type KernelResult = undefined | readonly Uint8Array[] | boolean;

/**
 * A batch that stopped. `index` is the op that failed (-1: entering the
 * namespace); ops before it took effect. `errno` is a name (ENODEV, EEXIST…).
 */
export class KernelBatchFailure extends Error {
  constructor(
    readonly index: number,
    readonly errno: string,
    readonly what: string,
  ) {
    super(`${what}: ${errno}`);
  }
}

export interface NetnsKernel {
  /** Runs `batch`; rejects with KernelBatchFailure. */
  run(batch: KernelBatch): Promise<KernelResult[]>;
}

interface WorkerRequest extends KernelBatch {
  readonly id: number;
}

type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly results: KernelResult[] }
  | {
      readonly id: number;
      readonly ok: false;
      readonly index: number;
      readonly errno: string;
      readonly what: string;
    };

const WORKER_SOURCE = String.raw`'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const os = require('node:os');
const koffi = require(workerData.koffi);
const libc = koffi.load('libc.so.6');
const c = {
  setns: libc.func('int setns(int, int)'),
  unshare: libc.func('int unshare(int)'),
  mount: libc.func('int mount(const char *, const char *, const char *, unsigned long, void *)'),
  umount2: libc.func('int umount2(const char *, int)'),
  socket: libc.func('int socket(int, int, int)'),
  close: libc.func('int close(int)'),
  send: libc.func('intptr_t send(int, const uint8_t *, size_t, int)'),
  recv: libc.func('intptr_t recv(int, _Out_ uint8_t *, size_t, int)'),
  ioctl: libc.func('int ioctl(int, unsigned long, uint8_t *)'),
  if_nametoindex: libc.func('unsigned int if_nametoindex(const char *)'),
};
const CLONE_NEWNET = 0x40000000, AF_INET = 2, AF_NETLINK = 16, SOCK_DGRAM = 2, SOCK_RAW = 3;
const SOCK_CLOEXEC = 0x80000, NETLINK_ROUTE = 0, NLMSG_ERROR = 2, NLMSG_DONE = 3;
const MS_BIND = 0x1000, MS_REC = 0x4000, MS_SHARED = 0x100000, MNT_DETACH = 2, EINVAL = 22;
const SIOCETHTOOL = 0x8946, ETHTOOL_GTXCSUM = 0x16, ETHTOOL_STXCSUM = 0x17;
const errnoName = new Map(Object.entries(os.constants.errno).map(([k, v]) => [v, k]));
class Failed extends Error {
  constructor(what, errno) { super(what); this.errno = errno || errnoName.get(koffi.errno()) || 'EIO'; }
}
const fsFailed = (what, error) => new Failed(what, error.code || 'EIO');
const replyBuf = Buffer.alloc(65536);

function netlinkSocket() {
  const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) throw new Failed('netlink socket');
  return fd;
}

function send(fd, buf, seq) {
  buf.writeUInt32LE(seq, 8);
  if (c.send(fd, buf, buf.length, 0) !== buf.length) throw new Failed('netlink send');
}

/** Reads until the answer to seq: the ACK (or error) of a request, or a dump's DONE. */
function receive(fd, seq, dump) {
  const chunks = [];
  for (;;) {
    const n = c.recv(fd, replyBuf, replyBuf.length, 0);
    if (n < 0) throw new Failed('netlink recv');
    if (n === 0) throw new Failed('netlink recv', 'EPIPE');
    let at = 0, done = false;
    while (at + 16 <= n) {
      const len = replyBuf.readUInt32LE(at), type = replyBuf.readUInt16LE(at + 4);
      if (len < 16 || at + len > n) throw new Failed('netlink reply', 'EBADMSG');
      if (replyBuf.readUInt32LE(at + 8) === seq) {
        if (type === NLMSG_ERROR) {
          const errno = -replyBuf.readInt32LE(at + 16);
          if (errno !== 0) throw new Failed('kernel refused', errnoName.get(errno) || 'E' + errno);
          done = true;
        } else if (type === NLMSG_DONE) done = true;
      }
      at += (len + 3) & ~3;
    }
    if (dump) chunks.push(Buffer.from(replyBuf.subarray(0, n)));
    if (done) return chunks;
  }
}

function patch(buf, p, opened) {
  if (p.kind === 'ifindex') {
    const index = c.if_nametoindex(p.link);
    if (index === 0) throw new Failed('no link ' + p.link);
    buf.writeUInt32LE(index, p.offset);
  } else {
    let fd;
    try { fd = fs.openSync(p.path, 'r'); } catch (error) { throw fsFailed('open ' + p.path, error); }
    opened.push(fd);
    buf.writeUInt32LE(fd, p.offset);
  }
}

function makeShared(dir) {
  if (c.mount('', dir, 'none', MS_SHARED | MS_REC, null) === 0) return;
  if (koffi.errno() !== EINVAL) throw new Failed('mount --make-rshared ' + dir);
  // Not a mount point yet: make it one (ip netns add does the same).
  if (c.mount(dir, dir, 'none', MS_BIND | MS_REC, null) !== 0) throw new Failed('mount --rbind ' + dir);
  if (c.mount('', dir, 'none', MS_SHARED | MS_REC, null) !== 0) throw new Failed('mount --make-rshared ' + dir);
}

function netnsAdd(path) {
  const dir = path.slice(0, path.lastIndexOf('/'));
  try { fs.mkdirSync(dir, { recursive: true, mode: 0o755 }); } catch (error) { throw fsFailed('mkdir ' + dir, error); }
  makeShared(dir);
  try { fs.closeSync(fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0)); }
  catch (error) { throw fsFailed('create ' + path, error); }
  const self = fs.openSync('/proc/thread-self/ns/net', 'r');
  let failure;
  try {
    if (c.unshare(CLONE_NEWNET) !== 0) failure = new Failed('unshare');
    else if (c.mount('/proc/thread-self/ns/net', path, 'none', MS_BIND, null) !== 0) failure = new Failed('mount --bind ' + path);
  } finally {
    if (c.setns(self, CLONE_NEWNET) !== 0) process.exit(4); // never go on in the wrong namespace
    fs.closeSync(self);
  }
  if (failure !== undefined) {
    try { fs.unlinkSync(path); } catch {}
    throw failure;
  }
}

function netnsDelete(path) {
  c.umount2(path, MNT_DETACH); // as ip: the unlink says whether it went
  try { fs.unlinkSync(path); } catch (error) { throw fsFailed('unlink ' + path, error); }
}

const ethValue = koffi.alloc('uint32_t', 2); // struct ethtool_value { __u32 cmd; __u32 data; }
const ifreq = Buffer.alloc(40);              // struct ifreq { char ifr_name[16]; void *ifr_data; … }
function ethtool(link, set) {
  const fd = c.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Failed('socket');
  try {
    koffi.encode(ethValue, 0, 'uint32_t', set === undefined ? ETHTOOL_GTXCSUM : ETHTOOL_STXCSUM);
    koffi.encode(ethValue, 4, 'uint32_t', set ? 1 : 0);
    ifreq.fill(0);
    ifreq.write(link, 0, 15, 'latin1');
    ifreq.writeBigUInt64LE(BigInt(koffi.address(ethValue)), 16);
    if (c.ioctl(fd, SIOCETHTOOL, ifreq) !== 0) throw new Failed('SIOCETHTOOL ' + link);
  } finally {
    c.close(fd);
  }
  return set !== undefined ? set : koffi.decode(ethValue, 4, 'uint32_t') !== 0;
}

let seq = 0;
function runOps(ops) {
  const results = [];
  let nl = -1;
  try {
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      try {
        if (op.op === 'netlink' || op.op === 'dump') {
          if (nl < 0) nl = netlinkSocket();
          const buf = Buffer.from(op.bytes);
          const opened = [];
          try {
            if (op.patch) patch(buf, op.patch, opened);
            send(nl, buf, ++seq);
            const chunks = receive(nl, seq, op.op === 'dump');
            results.push(op.op === 'dump' ? chunks : undefined);
          } finally {
            for (const fd of opened) fs.closeSync(fd);
          }
        } else if (op.op === 'netns-add') { netnsAdd(op.path); results.push(undefined); }
        else if (op.op === 'netns-delete') { netnsDelete(op.path); results.push(undefined); }
        else if (op.op === 'ethtool') results.push(ethtool(op.link, op.set));
        else throw new Failed('unknown op ' + op.op, 'EINVAL');
      } catch (error) {
        error.index = i;
        throw error;
      }
    }
  } finally {
    if (nl >= 0) c.close(nl);
  }
  return results;
}

parentPort.on('message', (req) => {
  let target, self;
  try {
    if (req.netns === null) {
      parentPort.postMessage({ id: req.id, ok: true, results: runOps(req.ops) });
      return;
    }
    try { target = fs.openSync(req.netns, 'r'); }
    catch (error) { throw Object.assign(fsFailed('open ' + req.netns, error), { index: -1 }); }
    self = fs.openSync('/proc/thread-self/ns/net', 'r');
    if (c.setns(target, CLONE_NEWNET) !== 0) throw Object.assign(new Failed('setns ' + req.netns), { index: -1 });
    let results;
    try {
      results = runOps(req.ops);
    } finally {
      if (c.setns(self, CLONE_NEWNET) !== 0) process.exit(4); // never go on in the wrong namespace
    }
    parentPort.postMessage({ id: req.id, ok: true, results });
  } catch (error) {
    parentPort.postMessage({
      id: req.id, ok: false, index: error.index === undefined ? -1 : error.index,
      errno: error.errno || 'EIO', what: error.message,
    });
  } finally {
    if (target !== undefined) fs.closeSync(target);
    if (self !== undefined) fs.closeSync(self);
  }
});
`;

/** A worker thread is a V8 isolate of its own (~15 MB resident with koffi): it ends when idle this long. */
const IDLE_MS = 5_000;

/**
 * The production NetnsKernel: one worker thread, started on demand, unref'd
 * while idle, and ended after IDLE_MS without a batch (networks come in
 * bursts: a start, a resync, a new VM).
 */
class WorkerKernel implements NetnsKernel {
  #worker: Worker | undefined;
  #idle: NodeJS.Timeout | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve(r: KernelResult[]): void; reject(e: Error): void }>();

  run(batch: KernelBatch): Promise<KernelResult[]> {
    const req: WorkerRequest = { id: this.#nextId++, netns: batch.netns, ops: batch.ops };
    return new Promise((resolve, reject) => {
      clearTimeout(this.#idle);
      const worker = this.#start();
      this.#pending.set(req.id, { resolve, reject });
      worker.ref(); // a batch in flight keeps the process alive, an idle worker does not
      worker.postMessage(req);
    });
  }

  #start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const koffi = createRequire(import.meta.url).resolve('koffi');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { koffi } });
    worker.unref();
    worker.on('message', (reply: WorkerReply) => {
      const waiting = this.#pending.get(reply.id);
      if (waiting === undefined) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) {
        worker.unref();
        this.#idle = setTimeout(() => {
          if (this.#worker !== worker || this.#pending.size > 0) return;
          this.#worker = undefined; // the next batch starts a new one
          void worker.terminate();
        }, IDLE_MS).unref();
      }
      if (reply.ok) waiting.resolve(reply.results);
      else waiting.reject(new KernelBatchFailure(reply.index, reply.errno, reply.what));
    });
    const gone = (cause: unknown): void => {
      // An idle worker ended on purpose holds no batch; one that died did.
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      for (const [id, waiting] of this.#pending) {
        this.#pending.delete(id);
        waiting.reject(new KernelBatchFailure(-1, 'EIO', `namespace thread ended: ${String(cause)}`));
      }
    };
    worker.on('error', gone);
    worker.on('exit', (code) => gone(`exit ${code}`));
    this.#worker = worker;
    return worker;
  }
}

export const workerKernel: NetnsKernel = new WorkerKernel();
