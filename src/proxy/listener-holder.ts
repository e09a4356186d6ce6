// The listener holder: a small long-lived process that opens the listening
// sockets inside the network namespaces and keeps them, so that they outlive
// the agent. The agent asks it for each network's sockets over a unix socket
// and receives duplicates of the descriptors (SCM_RIGHTS); a restarted agent
// (SIGTERM, kill -9, or a new version) asks again and gets the same sockets,
// with whatever connections queued in their backlog meanwhile.
//
// How a socket lands in a namespace without a process per namespace: the
// holder's thread setns(2)s into /run/netns/<name>, creates, binds and
// listens, and setns(2)s back (a socket keeps the namespace it was made in).
// All through koffi (a C FFI shipped with prebuilt binaries); no command runs.
//
// The holder serves one request per connection and blocks between them (it
// has no other work): read one JSON line, answer one JSON line in one
// sendmsg(2) with the descriptors attached. It drops a socket when asked
// (`drop`), when its namespace is gone or replaced (checked for every socket
// every 10 s idle and on `ping`, and for the socket asked for before an
// `open` hands it out), and ends on `exit` or after 10 minutes with nothing
// held and nobody asking.
//
// The source is a plain CommonJS string run with `node -e` so that it needs
// no build step and behaves the same from src/ (vitest) and dist/. Its
// protocol is typed below; keep the two in step. Requests never change
// meaning between versions: an agent of a newer version talks to the holder
// an older one started (`ping` says which protocol it speaks).

export const HOLDER_PROTOCOL = 1;

export interface HolderOpen {
  readonly op: 'open';
  /** Names the socket across agent generations (network, host, port). */
  readonly key: string;
  /** Namespace file (/run/netns/<name>); null: the holder's own namespace. */
  readonly namespace: string | null;
  /** IPv4 or IPv6 text; IPv6 may carry %device (resolved inside the namespace). */
  readonly host: string;
  readonly port: number;
  readonly backlog: number;
}

export type HolderRequest =
  | HolderOpen
  | { readonly op: 'drop'; readonly key: string }
  | { readonly op: 'ping' }
  | { readonly op: 'exit' };

export type HolderReply =
  /** open: one descriptor attached; `adopted` when it was held already. */
  | { readonly ok: true; readonly port: number; readonly adopted: boolean }
  | { readonly ok: true; readonly pid: number; readonly protocol: number; readonly held: number }
  | { readonly ok: true }
  | { readonly ok: false; readonly code: string; readonly message: string };

export const LISTENER_HOLDER_SOURCE = String.raw`'use strict';
const fs = require('node:fs');
const os = require('node:os');
const koffi = require(process.argv[1]);
const controlPath = process.argv[2];
// Idle limit (tests pass a short one): with nothing held and nobody asking, the holder ends.
const idleLimitMs = Number(process.argv[3]) || 600000;
const tickMs = Math.min(10000, idleLimitMs);
const libc = koffi.load('libc.so.6');
const iovec = koffi.struct('holder_iovec', { base: 'void *', len: 'size_t' });
const msghdr = koffi.struct('holder_msghdr', {
  name: 'void *', namelen: 'uint32_t', iov: 'holder_iovec *', iovlen: 'size_t',
  control: 'void *', controllen: 'size_t', flags: 'int',
});
const c = {
  socket: libc.func('int socket(int, int, int)'),
  bind: libc.func('int bind(int, void *, uint32_t)'),
  listen: libc.func('int listen(int, int)'),
  accept4: libc.func('int accept4(int, void *, void *, int)'),
  close: libc.func('int close(int)'),
  read: libc.func('intptr_t read(int, _Out_ uint8_t *buf, size_t)'),
  poll: libc.func('int poll(_Inout_ uint8_t *fds, unsigned long, int)'),
  sendmsg: libc.func('intptr_t sendmsg(int, const holder_msghdr *, int)'),
  setsockopt: libc.func('int setsockopt(int, int, int, void *, uint32_t)'),
  getsockname: libc.func('int getsockname(int, _Out_ uint8_t *addr, _Inout_ uint32_t *len)'),
  setns: libc.func('int setns(int, int)'),
  inet_pton: libc.func('int inet_pton(int, const char *, _Out_ uint8_t *dst)'),
  if_nametoindex: libc.func('unsigned int if_nametoindex(const char *)'),
};
const AF_UNIX = 1, AF_INET = 2, AF_INET6 = 10;
const SOCK_STREAM = 1, SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000;
const CLONE_NEWNET = 0x40000000;
const errnoName = new Map(Object.entries(os.constants.errno).map(([k, v]) => [v, k]));
const held = new Map();
let idleSince = Date.now();

function fail(what) {
  const errno = koffi.errno();
  const code = errnoName.get(errno) || 'E' + errno;
  return Object.assign(new Error(what + ': ' + code), { code });
}
function inodeOf(path) {
  try { return fs.statSync(path).ino; } catch { return undefined; }
}
function one(fd, value) {
  const b = Buffer.alloc(4); b.writeInt32LE(value);
  if (c.setsockopt(fd, 1, 2, b, 4) !== 0) throw fail('setsockopt');
}

function bindListen(req) {
  const percent = req.host.indexOf('%');
  const host = percent === -1 ? req.host : req.host.slice(0, percent);
  const v6 = host.includes(':');
  const addr = Buffer.alloc(v6 ? 28 : 16);
  addr.writeUInt16LE(v6 ? AF_INET6 : AF_INET, 0);
  addr.writeUInt16BE(req.port, 2);
  const raw = Buffer.alloc(16);
  if (c.inet_pton(v6 ? AF_INET6 : AF_INET, host, raw) !== 1) {
    throw Object.assign(new Error('not an address: ' + req.host), { code: 'EINVAL' });
  }
  if (v6) raw.copy(addr, 8, 0, 16); else raw.copy(addr, 4, 0, 4);
  if (v6 && percent !== -1) {
    const index = c.if_nametoindex(req.host.slice(percent + 1));
    if (index === 0) throw fail('if_nametoindex ' + req.host.slice(percent + 1));
    addr.writeUInt32LE(index, 24);
  }
  const fd = c.socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw fail('socket');
  try {
    one(fd, 1); // SO_REUSEADDR, as node sets it
    if (v6) {
      const b = Buffer.alloc(4); b.writeInt32LE(1);
      if (c.setsockopt(fd, 41, 26, b, 4) !== 0) throw fail('IPV6_V6ONLY');
    }
    if (c.bind(fd, addr, addr.length) !== 0) throw fail('bind');
    if (c.listen(fd, req.backlog) !== 0) throw fail('listen');
    const out = Buffer.alloc(28); const len = [28];
    if (c.getsockname(fd, out, len) !== 0) throw fail('getsockname');
    return { fd, port: out.readUInt16BE(2) };
  } catch (error) {
    c.close(fd);
    throw error;
  }
}

function openIn(req) {
  if (req.namespace === null) return bindListen(req);
  const target = fs.openSync(req.namespace, 'r');
  const self = fs.openSync('/proc/thread-self/ns/net', 'r');
  try {
    if (c.setns(target, CLONE_NEWNET) !== 0) throw fail('setns ' + req.namespace);
    try {
      return bindListen(req);
    } finally {
      if (c.setns(self, CLONE_NEWNET) !== 0) process.exit(4); // never serve from a wrong namespace
    }
  } finally {
    fs.closeSync(target);
    fs.closeSync(self);
  }
}

function drop(key) {
  const entry = held.get(key);
  if (entry === undefined) return;
  held.delete(key);
  c.close(entry.fd);
}
function prune() {
  for (const [key, entry] of held) {
    if (entry.namespace !== null && inodeOf(entry.namespace) !== entry.inode) drop(key);
  }
}

function handle(req) {
  switch (req.op) {
    case 'ping':
      prune();
      return [{ ok: true, pid: process.pid, protocol: 1, held: held.size }, []];
    case 'drop':
      drop(req.key);
      return [{ ok: true }, []];
    case 'exit':
      for (const key of [...held.keys()]) drop(key);
      try { fs.unlinkSync(controlPath); } catch {}
      return [{ ok: true }, [], true];
    case 'open': {
      // Only this key's namespace is checked (a replaced one is never handed
      // out); the others wait for the idle tick: a check of every held
      // socket per request would make a start with many networks quadratic.
      const entry = held.get(req.key);
      if (entry !== undefined && entry.namespace !== null && inodeOf(entry.namespace) !== entry.inode) drop(req.key);
      else if (entry !== undefined && entry.host === req.host && entry.namespace === req.namespace &&
          (req.port === 0 || entry.port === req.port)) {
        return [{ ok: true, port: entry.port, adopted: true }, [entry.fd]];
      }
      drop(req.key);
      const inode = req.namespace === null ? null : inodeOf(req.namespace);
      if (req.namespace !== null && inode === undefined) {
        return [{ ok: false, code: 'ENOENT', message: 'no namespace ' + req.namespace }, []];
      }
      const { fd, port } = openIn(req);
      held.set(req.key, { fd, port, host: req.host, namespace: req.namespace, inode });
      return [{ ok: true, port, adopted: false }, [fd]];
    }
    default:
      return [{ ok: false, code: 'EINVAL', message: 'unknown op ' + String(req.op) }, []];
  }
}

function answer(fd, reply, fds) {
  const body = Buffer.from(JSON.stringify(reply) + '\n');
  let control = null;
  if (fds.length > 0) {
    control = Buffer.alloc(16 + 8 * Math.ceil(fds.length / 2));
    control.writeBigUInt64LE(BigInt(16 + 4 * fds.length), 0);
    control.writeInt32LE(1, 8); // SOL_SOCKET
    control.writeInt32LE(1, 12); // SCM_RIGHTS
    fds.forEach((f, i) => control.writeInt32LE(f, 16 + 4 * i));
  }
  c.sendmsg(fd, {
    name: null, namelen: 0, iov: [{ base: body, len: body.length }], iovlen: 1,
    control, controllen: control === null ? 0 : control.length, flags: 0,
  }, 0x4000 /* MSG_NOSIGNAL */);
}

function serve(fd) {
  const buf = Buffer.alloc(65536);
  let used = 0;
  const deadline = Date.now() + 2000;
  const pfd = Buffer.alloc(8); pfd.writeInt32LE(fd, 0); pfd.writeInt16LE(1, 4);
  while (!buf.subarray(0, used).includes(10)) {
    if (used === buf.length || Date.now() > deadline) return;
    pfd.writeInt16LE(0, 6);
    if (c.poll(pfd, 1, 200) <= 0) continue;
    const n = c.read(fd, buf.subarray(used), buf.length - used);
    if (n <= 0) return;
    used += n;
  }
  let reply;
  let fds = [];
  let exit = false;
  try {
    [reply, fds, exit] = handle(JSON.parse(buf.subarray(0, buf.indexOf(10)).toString()));
  } catch (error) {
    reply = { ok: false, code: error.code || 'EINVAL', message: error.message };
  }
  answer(fd, reply, fds);
  if (exit) { c.close(fd); process.exit(0); }
}

const listener = c.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
const sun = Buffer.alloc(110);
sun.writeUInt16LE(AF_UNIX, 0);
sun.write(controlPath, 2);
try { fs.unlinkSync(controlPath); } catch {}
if (c.bind(listener, sun, 110) !== 0 || c.listen(listener, 64) !== 0) {
  process.stderr.write(fail('control socket ' + controlPath).message + '\n');
  process.exit(3);
}
fs.chmodSync(controlPath, 0o600);
const ownInode = inodeOf(controlPath);
process.stdout.write('ready\n');
const pfd = Buffer.alloc(8);
pfd.writeInt32LE(listener, 0);
pfd.writeInt16LE(1, 4); // POLLIN
for (;;) {
  pfd.writeInt16LE(0, 6);
  const ready = c.poll(pfd, 1, tickMs);
  if (ready <= 0) {
    prune();
    if (held.size === 0 && Date.now() - idleSince > idleLimitMs) {
      // Leave no socket file behind, unless another holder has taken the path over.
      if (inodeOf(controlPath) === ownInode) { try { fs.unlinkSync(controlPath); } catch {} }
      process.exit(0);
    }
    if (inodeOf(controlPath) === undefined) process.exit(0); // replaced or removed
    continue;
  }
  idleSince = Date.now();
  const fd = c.accept4(listener, null, null, SOCK_CLOEXEC);
  if (fd < 0) continue;
  try { serve(fd); } finally { c.close(fd); }
}
`;
