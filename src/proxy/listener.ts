// Opening a network's listening sockets inside its namespace, through the
// listener holder (listener-holder.ts): no process starts per network, and
// the sockets outlive this process.

import { join } from 'node:path';

import { formatHostPort } from '../common/address.js';
import { ProxyListenFailedError } from './errors.js';
import type { ListenerHolder } from './holder-client.js';

export interface ListenSpec {
  readonly host: string;
  readonly port: number;
  readonly backlog: number;
}

export interface OpenSocketsRequest {
  /** Names the sockets across agent generations. */
  readonly network: string;
  /** Namespace name (`ip netns`); undefined = the holder's own. */
  readonly namespace: string | undefined;
  /** Where namespaces are named: the holder enters <netnsDir>/<namespace>. */
  readonly netnsDir: string;
  readonly listen: readonly ListenSpec[];
  readonly dadWaitMs: number;
}

/** A listening socket, as a descriptor this process owns a copy of. */
export interface OpenedSocket {
  readonly spec: ListenSpec;
  readonly fd: number;
  /** Bound port (differs from spec.port when that is 0). */
  readonly port: number;
  /** Held already (a previous agent's): connections may wait in its backlog. */
  readonly adopted: boolean;
}

const DAD_RETRY_MS = 50;

/** The holder's name for one socket of a network. */
export function socketKey(network: string, spec: ListenSpec): string {
  return `${network}|${spec.host}|${spec.port}`;
}

/**
 * Every address of `request.listen`, all or nothing: the ones the holder has
 * already are handed over as they are, the others bound. Rejects with
 * ProxyListenFailedError when an address cannot be bound (in use, not
 * available after `dadWaitMs`, namespace missing), ProxyHelperFailedError
 * when the holder cannot be reached.
 */
export async function openSockets(
  holder: ListenerHolder,
  request: OpenSocketsRequest,
  closeFd: (fd: number) => void,
): Promise<OpenedSocket[]> {
  const target = request.namespace ?? 'the current network namespace';
  const deadline = Date.now() + request.dadWaitMs;
  const opened: OpenedSocket[] = [];
  const undo = (): void => {
    for (const socket of opened) {
      closeFd(socket.fd);
      if (!socket.adopted) holder.drop(socketKey(request.network, socket.spec));
    }
  };
  try {
    for (const spec of request.listen) {
      for (;;) {
        const result = holder.open({
          key: socketKey(request.network, spec),
          namespace: request.namespace === undefined ? null : join(request.netnsDir, request.namespace),
          host: spec.host,
          port: spec.port,
          backlog: spec.backlog,
        });
        if ('fd' in result) {
          opened.push({ spec, fd: result.fd, port: result.port, adopted: result.adopted });
          break;
        }
        // An IPv6 address is unusable until duplicate address detection
        // ends (RFC 4862 §5.4).
        if (result.code === 'EADDRNOTAVAIL' && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, DAD_RETRY_MS));
          continue;
        }
        throw new ProxyListenFailedError(target, formatHostPort(spec.host, spec.port), result.message, {
          cause: Object.assign(new Error(result.message), { code: result.code }),
        });
      }
    }
  } catch (error) {
    undo();
    throw error;
  }
  return opened;
}
