// tx checksum offload of a link inside a namespace, without a process start.
//
// `ethtool` has no netns option, so it used to cost an `ip netns exec …
// ethtool` spawn per network (and another to read it back). The kernel looks
// the device of a SIOCETHTOOL ioctl up in the namespace of the socket it is
// made on, so all it takes is a datagram socket made inside the namespace:
// setns(2) into /run/netns/<name>, socket(2), ioctl(ETHTOOL_GTXCSUM /
// ETHTOOL_STXCSUM), close, setns(2) back. The same as `ethtool -k` /
// `ethtool -K DEV tx off` (the kernel turns off what depends on it, e.g. TSO).
//
// setns(CLONE_NEWNET) moves only the calling thread, and everything the
// agent's main thread does (sockets, the listener holder's exchanges) would
// happen in the wrong namespace should the way back ever fail. So the calls
// run on one worker thread of our own (not libuv's pool, which fs and dns
// share): it does nothing else, and it ends itself (and is replaced on the
// next call) rather than carry on in a namespace it could not leave. The
// worker's source is a plain CommonJS string, like the listener holder's, so
// it runs the same from src/ (vitest) and dist/; the FFI is koffi.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

import { NetnsOffloadError } from './errors.js';

/** Reads and sets the tx checksum offload of `link` inside the namespace mounted at `netnsPath`. */
export interface OffloadControl {
  txChecksum(netnsPath: string, link: string): Promise<boolean>;
  setTxChecksum(netnsPath: string, link: string, on: boolean): Promise<void>;
}

interface OffloadRequest {
  readonly id: number;
  readonly netns: string;
  readonly link: string;
  /** undefined: read (ETHTOOL_GTXCSUM); else set (ETHTOOL_STXCSUM). */
  readonly set?: boolean;
}

type OffloadReply =
  | { readonly id: number; readonly ok: true; readonly on: boolean }
  | { readonly id: number; readonly ok: false; readonly errno: string; readonly what: string };

const WORKER_SOURCE = String.raw`'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const os = require('node:os');
const koffi = require(workerData.koffi);
const libc = koffi.load('libc.so.6');
const c = {
  setns: libc.func('int setns(int, int)'),
  socket: libc.func('int socket(int, int, int)'),
  close: libc.func('int close(int)'),
  ioctl: libc.func('int ioctl(int, unsigned long, uint8_t *)'),
};
const CLONE_NEWNET = 0x40000000, AF_INET = 2, SOCK_DGRAM = 2, SOCK_CLOEXEC = 0x80000;
const SIOCETHTOOL = 0x8946, ETHTOOL_GTXCSUM = 0x16, ETHTOOL_STXCSUM = 0x17;
const errnoName = new Map(Object.entries(os.constants.errno).map(([k, v]) => [v, k]));
class Failed extends Error {
  constructor(what) { const e = koffi.errno(); super(what); this.errno = errnoName.get(e) || 'E' + e; }
}
const value = koffi.alloc('uint32_t', 2); // struct ethtool_value { __u32 cmd; __u32 data; }
const ifreq = Buffer.alloc(40);           // struct ifreq { char ifr_name[16]; void *ifr_data; … }

function ethtool(link, set) {
  const fd = c.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Failed('socket');
  try {
    koffi.encode(value, 0, 'uint32_t', set === undefined ? ETHTOOL_GTXCSUM : ETHTOOL_STXCSUM);
    koffi.encode(value, 4, 'uint32_t', set ? 1 : 0);
    ifreq.fill(0);
    ifreq.write(link, 0, 15, 'latin1');
    ifreq.writeBigUInt64LE(BigInt(koffi.address(value)), 16);
    if (c.ioctl(fd, SIOCETHTOOL, ifreq) !== 0) throw new Failed('SIOCETHTOOL ' + link);
  } finally {
    c.close(fd);
  }
  if (set !== undefined) return set;
  return koffi.decode(value, 4, 'uint32_t') !== 0;
}

parentPort.on('message', (req) => {
  let target, self;
  try {
    try { target = fs.openSync(req.netns, 'r'); }
    catch (error) { throw Object.assign(new Error('open ' + req.netns), { errno: error.code || 'EIO' }); }
    self = fs.openSync('/proc/thread-self/ns/net', 'r');
    if (c.setns(target, CLONE_NEWNET) !== 0) throw new Failed('setns ' + req.netns);
    let on;
    try {
      on = ethtool(req.link, req.set);
    } finally {
      // Never go on in a namespace we could not leave: end this thread.
      if (c.setns(self, CLONE_NEWNET) !== 0) process.exit(4);
    }
    parentPort.postMessage({ id: req.id, ok: true, on });
  } catch (error) {
    parentPort.postMessage({ id: req.id, ok: false, errno: error.errno || 'EIO', what: error.message });
  } finally {
    if (target !== undefined) fs.closeSync(target);
    if (self !== undefined) fs.closeSync(self);
  }
});
`;

/** A worker thread is a V8 isolate of its own (~15 MB resident with koffi): it ends when idle this long. */
const IDLE_MS = 5_000;

/**
 * The production OffloadControl: one worker thread, started on demand,
 * unref'd while idle, and ended after IDLE_MS without a request (networks
 * come in bursts: a start, a resync, a new VM).
 */
class WorkerOffloadControl implements OffloadControl {
  #worker: Worker | undefined;
  #idle: NodeJS.Timeout | undefined;
  #nextId = 1;
  readonly #pending = new Map<
    number,
    { resolve(on: boolean): void; reject(e: Error): void; req: OffloadRequest }
  >();

  txChecksum(netnsPath: string, link: string): Promise<boolean> {
    return this.#ask(netnsPath, link, undefined);
  }

  async setTxChecksum(netnsPath: string, link: string, on: boolean): Promise<void> {
    await this.#ask(netnsPath, link, on);
  }

  #ask(netns: string, link: string, set: boolean | undefined): Promise<boolean> {
    const req: OffloadRequest = { id: this.#nextId++, netns, link, ...(set === undefined ? {} : { set }) };
    return new Promise((resolve, reject) => {
      clearTimeout(this.#idle);
      const worker = this.#start();
      this.#pending.set(req.id, { resolve, reject, req });
      worker.ref(); // a request in flight keeps the process alive, an idle worker does not
      worker.postMessage(req);
    });
  }

  #start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const koffi = createRequire(import.meta.url).resolve('koffi');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { koffi } });
    worker.unref();
    worker.on('message', (reply: OffloadReply) => {
      const waiting = this.#pending.get(reply.id);
      if (waiting === undefined) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) {
        worker.unref();
        this.#idle = setTimeout(() => {
          if (this.#worker !== worker || this.#pending.size > 0) return;
          this.#worker = undefined; // the next request starts a new one
          void worker.terminate();
        }, IDLE_MS).unref();
      }
      if (reply.ok) waiting.resolve(reply.on);
      else waiting.reject(offloadError(waiting.req, reply.errno, reply.what));
    });
    const gone = (cause: unknown): void => {
      // An idle worker ended on purpose holds no request; one that died did.
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      for (const [id, waiting] of this.#pending) {
        this.#pending.delete(id);
        waiting.reject(offloadError(waiting.req, 'EIO', `offload thread ended: ${String(cause)}`));
      }
    };
    worker.on('error', gone);
    worker.on('exit', (code) => gone(`exit ${code}`));
    this.#worker = worker;
    return worker;
  }
}

function offloadError(req: OffloadRequest, errno: string, what: string): NetnsOffloadError {
  return new NetnsOffloadError(req.netns, req.link, req.set === undefined ? 'read' : 'set', errno, what);
}

export const workerOffloadControl: OffloadControl = new WorkerOffloadControl();
