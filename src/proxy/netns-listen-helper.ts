// The program that opens listening sockets inside a network namespace.
//
// Node cannot setns(2) a running process, but a socket keeps the namespace it
// was created in, and its descriptor can be passed to another process over
// the IPC channel (SCM_RIGHTS). So listener.ts runs
//   ip netns exec NS node -e HELPER_SOURCE ARGS_JSON
// with an IPC channel; this program binds every requested address, passes the
// listening sockets up, and exits when the parent disconnects.
//
// The source is a plain CommonJS string (run with `node -e`) so that it needs
// no build step and behaves the same from src/ (vitest) and dist/. Its
// protocol is typed below; keep the two in step.
//
// Invariants the parent relies on:
// - all or nothing: either every address is announced ('listening'), or none
//   is and one 'failed' message names every address that failed;
// - nothing is lost: a connection the helper accepts before it stops
//   accepting is passed up too ('connection', after its 'listening');
// - 'done' is the last message (the channel is FIFO, handles included).

export interface HelperListen {
  readonly host: string;
  readonly port: number;
  readonly backlog: number;
}

export interface HelperArgs {
  readonly listen: readonly HelperListen[];
  /** How long to retry EADDRNOTAVAIL: an IPv6 address is unusable until
   *  duplicate address detection ends (RFC 4862 §5.4). */
  readonly dadWaitMs: number;
  /** Pause between binding and handing over (0 in production): lets tests
   *  prove that connections accepted meanwhile are passed up, not lost. */
  readonly announceDelayMs?: number;
}

export interface HelperFailure {
  readonly host: string;
  readonly port: number;
  readonly code: string;
  readonly message: string;
}

export type HelperMessage =
  | { readonly kind: 'listening'; readonly index: number; readonly port: number }
  | { readonly kind: 'connection'; readonly index: number }
  | { readonly kind: 'failed'; readonly failures: readonly HelperFailure[] }
  | { readonly kind: 'done' };

export const NETNS_LISTEN_HELPER_SOURCE = String.raw`'use strict';
const net = require('node:net');
const args = JSON.parse(process.argv[1]);
process.channel.ref();
process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(3), 30000);

function listen(spec) {
  const deadline = Date.now() + args.dadWaitMs;
  return new Promise((resolve) => {
    const attempt = () => {
      const server = net.createServer({ pauseOnConnect: true });
      const queued = [];
      server.on('connection', (socket) => queued.push(socket));
      server.once('error', (err) => {
        if (err.code === 'EADDRNOTAVAIL' && Date.now() < deadline) return void setTimeout(attempt, 50);
        resolve({ spec, err });
      });
      server.listen({ host: spec.host, port: spec.port, backlog: spec.backlog }, () =>
        resolve({ spec, server, queued }),
      );
    };
    attempt();
  });
}

const pause = (results) => new Promise((resolve) => setTimeout(resolve, args.announceDelayMs || 0, results));

Promise.all(args.listen.map(listen)).then(pause).then((results) => {
  const failures = results.filter((r) => r.err);
  if (failures.length > 0) {
    for (const r of results) if (r.server) r.server.close();
    process.send({
      kind: 'failed',
      failures: failures.map((r) => ({
        host: r.spec.host, port: r.spec.port, code: r.err.code || 'UNKNOWN', message: r.err.message,
      })),
    });
    process.send({ kind: 'done' });
    return;
  }
  let open = results.length;
  results.forEach((r, index) => {
    process.send({ kind: 'listening', index, port: r.server.address().port }, r.server, () => {
      r.server.close();
      if (--open === 0) process.send({ kind: 'done' });
    });
    const pass = (socket) => process.send({ kind: 'connection', index }, socket);
    r.queued.forEach(pass);
    r.server.removeAllListeners('connection').on('connection', pass);
  });
});
`;
