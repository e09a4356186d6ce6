// Opening listening sockets inside a network namespace, from a process that
// stays in its own (see netns-listen-helper.ts for the mechanism).
//
// One helper process per call: `ip netns exec NS node -e …` (or plain node
// when no namespace is given, for tests and host mode). It costs one node
// start-up (~50-60 ms measured here), paid once per network, never per request.

import { spawn } from 'node:child_process';
import type net from 'node:net';

import { formatHostPort } from '../common/address.js';
import { ProxyHelperFailedError, ProxyListenFailedError } from './errors.js';
import {
  NETNS_LISTEN_HELPER_SOURCE,
  type HelperArgs,
  type HelperFailure,
  type HelperListen,
  type HelperMessage,
} from './netns-listen-helper.js';

export interface OpenSocketsRequest {
  /** Network namespace to bind in; undefined = this process's own. */
  readonly namespace: string | undefined;
  readonly listen: readonly HelperListen[];
  readonly dadWaitMs: number;
  /** Whole-operation limit; the helper is killed after it. */
  readonly timeoutMs: number;
  /** `ip` binary (tests may point elsewhere). */
  readonly ipCommand: string;
  /** See HelperArgs.announceDelayMs; tests only. */
  readonly announceDelayMs?: number;
}

/** A listening socket handed over by the helper. `server` is the transient
 *  net.Server child_process wraps a received handle in; its new owner takes
 *  the handle with `http.Server#listen(server)` and must replay `early`. */
export interface OpenedSocket {
  readonly spec: HelperListen;
  readonly server: net.Server;
  /** Bound port (differs from spec.port when that is 0). */
  readonly port: number;
  /** Connections accepted before the new owner took over, in order. */
  readonly early: net.Socket[];
}

const STDERR_LIMIT = 4096;

/**
 * Binds every address of `request.listen` inside the namespace, all or
 * nothing. Rejects with ProxyListenFailedError when an address cannot be
 * bound (in use, not available), ProxyHelperFailedError when the helper
 * cannot run there (missing namespace, timeout).
 */
export function openSockets(request: OpenSocketsRequest): Promise<OpenedSocket[]> {
  const target = request.namespace ?? 'the current network namespace';
  const args: HelperArgs = {
    listen: request.listen,
    dadWaitMs: request.dadWaitMs,
    announceDelayMs: request.announceDelayMs ?? 0,
  };
  const node = [process.execPath, '-e', NETNS_LISTEN_HELPER_SOURCE, JSON.stringify(args)];
  const [command, ...argv] =
    request.namespace === undefined ? node : [request.ipCommand, 'netns', 'exec', request.namespace, ...node];

  return new Promise((resolve, reject) => {
    const child = spawn(command!, argv, {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    const opened: OpenedSocket[] = [];
    let failures: readonly HelperFailure[] | undefined;
    let stderr = '';
    let settled = false;

    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.connected) child.disconnect();
      if (error === undefined) return resolve(opened);
      for (const socket of opened) {
        for (const early of socket.early) early.destroy();
        socket.server.close();
      }
      reject(error);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new ProxyHelperFailedError(target, `no answer within ${request.timeoutMs} ms`));
    }, request.timeoutMs);

    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < STDERR_LIMIT) stderr += chunk;
    });
    child.on('error', (cause) => finish(new ProxyHelperFailedError(target, cause.message, { cause })));
    child.on('message', (message: HelperMessage, handle: unknown) => {
      switch (message.kind) {
        case 'listening': {
          const server = handle as net.Server;
          const early: net.Socket[] = [];
          // Attached in the same tick the wrapper starts listening, before
          // it can accept: nothing it accepts goes unanswered.
          server.on('connection', (socket: net.Socket) => early.push(socket));
          opened[message.index] = { spec: request.listen[message.index]!, server, port: message.port, early };
          return;
        }
        case 'connection':
          opened[message.index]?.early.push(handle as net.Socket);
          return;
        case 'failed':
          failures = message.failures;
          return;
        case 'done':
          if (failures === undefined) return finish();
          return finish(listenFailed(target, failures));
      }
    });
    child.on('exit', (code, signal) => {
      const why = stderr.trim() || `exited with ${signal ?? `code ${code}`} before reporting`;
      finish(new ProxyHelperFailedError(target, why));
    });
  });
}

function listenFailed(target: string, failures: readonly HelperFailure[]): ProxyListenFailedError {
  const first = failures[0]!;
  const address = failures.map((f) => formatHostPort(f.host, f.port)).join(', ');
  const reason = failures.map((f) => f.message).join('; ');
  return new ProxyListenFailedError(target, address, reason, {
    cause: Object.assign(new Error(first.message), { code: first.code }),
  });
}
