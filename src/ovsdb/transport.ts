// Byte transports for OVSDB: the only module of src/ovsdb that touches
// node:net and node:tls. The client sees a `Transport` (write text, close)
// plus two callbacks (bytes, closed) and never a socket, so unit tests plug
// in an in-memory transport through `OvsdbClientOptions.transport`.
//
// Remote syntax is ovsdb-server(1)'s "active" connection methods:
// `tcp:host:port`, `ssl:host:port` (IPv6 hosts in brackets), `unix:path`;
// a comma-separated list names the members of a cluster.
import { readFile } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { OvsdbBadRemoteError, OvsdbConnectError } from './errors.js';

/** ovsdb-server(1): the default port of tcp: and ssl: remotes (IANA "ovsdb"). */
export const DEFAULT_OVSDB_PORT = 6640;

export type Remote =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly text: string }
  | { readonly kind: 'ssl'; readonly host: string; readonly port: number; readonly text: string }
  | { readonly kind: 'unix'; readonly path: string; readonly text: string };

/** Key, certificate and CA certificate file paths (PEM) for ssl: remotes. */
export interface SslOptions {
  readonly privateKey: string;
  readonly certificate: string;
  readonly caCert: string;
}

export interface TransportHandlers {
  /** Bytes arrived. Runs synchronously in the socket's 'data' event. */
  data(chunk: Buffer): void;
  /** The connection ended, once; `error` is undefined for a clean close by the peer. */
  closed(error: Error | undefined): void;
}

export interface Transport {
  readonly remote: string;
  /** Queues one message; never throws once connected (errors arrive via `closed`). */
  write(text: string): void;
  /** Tears the connection down; `closed` is not called for a local close. */
  close(): void;
}

export interface ConnectOptions {
  readonly ssl?: SslOptions | undefined;
  /** Give up connecting after this long (default 10 s). */
  readonly timeoutMs?: number;
}

export type TransportFactory = (
  remote: Remote,
  handlers: TransportHandlers,
  options: ConnectOptions,
) => Promise<Transport>;

/** Parses one remote or a comma-separated list. Throws OVSDB_BAD_REMOTE. */
export function parseRemotes(text: string): Remote[] {
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (list.length === 0) throw new OvsdbBadRemoteError(text, 'no remote given');
  return list.map(parseRemote);
}

export function parseRemote(text: string): Remote {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? '' : text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (kind === 'unix') {
    if (rest.length === 0) throw new OvsdbBadRemoteError(text, 'unix: needs a socket path');
    return { kind, path: rest, text };
  }
  if (kind !== 'tcp' && kind !== 'ssl') {
    throw new OvsdbBadRemoteError(text, 'expected tcp:HOST:PORT, ssl:HOST:PORT or unix:PATH');
  }
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw new OvsdbBadRemoteError(text, 'unclosed [ in IPv6 address');
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) throw new OvsdbBadRemoteError(text, 'junk after ]');
    portText = after === '' ? undefined : after.slice(1);
  } else {
    const parts = rest.split(':');
    if (parts.length > 2) throw new OvsdbBadRemoteError(text, 'IPv6 addresses must be in brackets');
    host = parts[0]!;
    portText = parts[1];
  }
  if (host.length === 0) throw new OvsdbBadRemoteError(text, 'missing host');
  const port = portText === undefined ? DEFAULT_OVSDB_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65_535 || portText === '') {
    throw new OvsdbBadRemoteError(text, `bad port ${JSON.stringify(portText)}`);
  }
  return { kind, host, port, text };
}

/** The default factory: real sockets for tcp:, ssl: and unix:. */
export const connectTransport: TransportFactory = async (remote, handlers, options) => {
  if (remote.kind === 'ssl' && !options.ssl) {
    throw new OvsdbConnectError(remote.text, 'ssl: remote needs privateKey, certificate and caCert');
  }
  let socket: Socket;
  if (remote.kind === 'ssl') {
    const ssl = options.ssl!;
    const [key, cert, ca] = await Promise.all([
      readFile(ssl.privateKey),
      readFile(ssl.certificate),
      readFile(ssl.caCert),
    ]).catch((error: unknown) => {
      throw new OvsdbConnectError(remote.text, 'cannot read SSL key/certificate/CA files', { cause: error });
    });
    // OVS certificates (ovs-pki) carry no host name: verify the chain against
    // the CA, not the name, as ovsdb-server and ovn-controller do.
    socket = tlsConnect({
      host: remote.host,
      port: remote.port,
      key,
      cert,
      ca,
      rejectUnauthorized: true,
      checkServerIdentity: () => undefined,
    });
  } else if (remote.kind === 'tcp') {
    socket = netConnect({ host: remote.host, port: remote.port });
  } else {
    socket = netConnect({ path: remote.path });
  }
  return new SocketTransport(remote.text, socket, handlers).ready(
    remote.kind === 'ssl' ? 'secureConnect' : 'connect',
    options.timeoutMs ?? 10_000,
  );
};

class SocketTransport implements Transport {
  #open = false;
  #closedLocally = false;

  constructor(
    readonly remote: string,
    private readonly socket: Socket,
    private readonly handlers: TransportHandlers,
  ) {
    socket.setNoDelay(true);
  }

  ready(event: 'connect' | 'secureConnect', timeoutMs: number): Promise<this> {
    const { socket } = this;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      const fail = (error: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(new OvsdbConnectError(this.remote, error.message, { cause: error }));
      };
      socket.once('error', fail);
      socket.once(event, () => {
        clearTimeout(timer);
        socket.off('error', fail);
        this.#open = true;
        socket.on('data', (chunk: Buffer) => this.handlers.data(chunk));
        let error: Error | undefined;
        socket.on('error', (e) => (error = e));
        socket.on('close', () => {
          this.#open = false;
          if (!this.#closedLocally) this.handlers.closed(error);
        });
        resolve(this);
      });
    });
  }

  write(text: string): void {
    if (this.#open) this.socket.write(text);
  }

  close(): void {
    this.#closedLocally = true;
    this.#open = false;
    this.socket.destroy();
  }
}
