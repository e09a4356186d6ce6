// The request to nova (neutron-compat.md "The request to nova"; neutron's
// neutron/common/metadata.py _proxy_request): the VM's method, path, query and
// body, and exactly four headers of ours — never one of the VM's.
//
// One pool of keep-alive connections (nova-pool.ts) serves every network: the
// origin never changes, so a request costs one head string written in one go
// (requestHead: the bytes undici wrote before, header for header), one small
// call object and, for a new instance, one HMAC: a VM's four header lines are
// built once and cached by instance id. The answer is read by a pure parser
// (http1-response.ts). Because neutron opens a fresh connection per request
// and we do not, an idempotent request that meets a keep-alive connection
// nova just closed is retried once.

import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';

import { formatHostPort } from '../common/address.js';
import {
  ProxyInvalidOptionsError,
  ProxyNovaBadResponseError,
  ProxyNovaTimeoutError,
  ProxyNovaUnreachableError,
} from './errors.js';
import {
  NovaConnectionError,
  NovaPool,
  type PoolAnswer,
  type PoolOptions,
  type PoolRequest,
} from './nova-pool.js';
import type { NovaOptions } from './options.js';

export interface RelayRequest {
  readonly method: string;
  /** Path and query exactly as the VM sent them (origin-form, starts with '/'). */
  readonly path: string;
  readonly body: Buffer | undefined;
  /** The VM address, from the TCP peer. */
  readonly sourceIp: string;
  readonly instanceId: string;
  readonly projectId: string;
}

export interface RelayResponse {
  readonly status: number;
  readonly contentType: string | undefined;
  /** Passed on with the untouched body: nothing is ever decompressed. */
  readonly contentEncoding: string | undefined;
  readonly body: Buffer;
}

/** nova statuses a VM gets as they are (neutron's list); others become 500. */
export const RELAYED_STATUSES: ReadonlySet<number> = new Set([200, 400, 403, 404, 409, 500, 502, 503, 504]);

const RETRY_ONCE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Methods that carry `content-length: 0` without a body (as undici sent them). */
const PAYLOAD_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const IDENTITY_CACHE_LIMIT = 4096;
/** Where every plain TCP connection to nova reads into (one read at a time: one thread). */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
/** What undici refused in a request target and in a header value. */
const INVALID_PATH = /[^\u0021-\u00ff]/;
const INVALID_HEADER_VALUE = /[^\t\u0020-\u007e\u0080-\u00ff]/;

/** Hex HMAC-SHA256 of the instance id keyed with metadata_proxy_shared_secret,
 *  as nova checks it (nova/api/metadata/handler.py, _handle_instance_id_request). */
export function signInstanceId(secret: string, instanceId: string): string {
  return createHmac('sha256', secret).update(instanceId, 'utf8').digest('hex');
}

/** `http://host:port` with an IPv6 literal bracketed (RFC 3986 §3.2.2). */
export function novaOrigin(nova: Pick<NovaOptions, 'protocol' | 'host' | 'port'>): string {
  return `${nova.protocol}://${formatHostPort(nova.host, nova.port)}`;
}

/** The four headers of ours, with the signature of the instance id. */
export interface NovaHeaders {
  readonly sourceIp: string;
  readonly instanceId: string;
  readonly projectId: string;
  readonly signature: string;
}

/**
 * The request head, byte for byte as undici wrote it: request line, `host`
 * (the origin's, without a default port), `connection` (close for HEAD,
 * whose connection is not reused), the four headers of ours, then
 * `content-length` when there is a body, or 0 for POST, PUT and PATCH
 * without one. Throws on a path or header value undici refused (a CR or LF
 * would split the head). Pure.
 */
export function requestHead(
  method: string,
  path: string,
  host: string,
  headers: NovaHeaders,
  bodyLength: number | undefined,
): string {
  return headStart(method, path, host) + identityLines(headers) + headEnd(method, bodyLength);
}

/** Request line, host and connection. Throws on a path undici refused. */
function headStart(method: string, path: string, host: string): string {
  if (INVALID_PATH.test(path))
    throw new TypeError(`invalid request path ${JSON.stringify(path.slice(0, 64))}`);
  return `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: ${method === 'HEAD' ? 'close' : 'keep-alive'}\r\n`;
}

/** The four headers of ours: the same for every request of one VM. Throws on a value undici refused. */
function identityLines({ sourceIp, instanceId, projectId, signature }: NovaHeaders): string {
  if (
    INVALID_HEADER_VALUE.test(sourceIp) ||
    INVALID_HEADER_VALUE.test(instanceId) ||
    INVALID_HEADER_VALUE.test(projectId)
  ) {
    throw new TypeError('invalid character in a header value');
  }
  return (
    `x-forwarded-for: ${sourceIp}\r\nx-instance-id: ${instanceId}\r\nx-tenant-id: ${projectId}\r\n` +
    `x-instance-id-signature: ${signature}\r\n`
  );
}

function headEnd(method: string, bodyLength: number | undefined): string {
  if (bodyLength !== undefined) return `content-length: ${bodyLength}\r\n\r\n`;
  return PAYLOAD_METHODS.has(method) ? 'content-length: 0\r\n\r\n' : '\r\n';
}

/** A VM's identity lines, built (and its instance id signed) once. */
interface Identity {
  readonly sourceIp: string;
  readonly projectId: string;
  readonly lines: string;
}

/** Where a relayed request ends: exactly one of the two is called, once. */
export interface RelaySink {
  relayed(response: RelayResponse): void;
  /** ProxyNovaUnreachableError (503), ProxyNovaTimeoutError (504) or ProxyNovaBadResponseError (500). */
  failed(error: Error): void;
}

export class NovaRelay {
  readonly origin: string;
  readonly #pool: NovaPool;
  readonly #secret: string;
  readonly #timeoutMs: number;
  /** The Host header: the origin's host, with the port unless it is the scheme's default. */
  readonly #host: string;
  /** By instance id: its signature and identity lines, built once. */
  readonly #identities = new Map<string, Identity>();

  private constructor(nova: NovaOptions, pool: NovaPool) {
    this.origin = novaOrigin(nova);
    this.#host = new URL(this.origin).host;
    this.#pool = pool;
    this.#secret = nova.sharedSecret;
    this.#timeoutMs = nova.timeoutMs;
  }

  /** Reads the TLS files (auth_ca_cert, client cert and key) once. Takes
   *  options checked by resolveOptions. */
  static async create(nova: NovaOptions): Promise<NovaRelay> {
    if (nova.protocol !== 'http' && nova.protocol !== 'https') {
      throw new ProxyInvalidOptionsError(
        'nova_metadata_protocol',
        `must be http or https, not ${nova.protocol}`,
      );
    }
    if (!Number.isInteger(nova.port) || nova.port < 1 || nova.port > 65535) {
      throw new ProxyInvalidOptionsError('nova_metadata_port', `${nova.port} is not a TCP port`);
    }
    const host = nova.host.startsWith('[') && nova.host.endsWith(']') ? nova.host.slice(1, -1) : nova.host;
    const port = nova.port;
    let connect: PoolOptions['connect'];
    if (nova.protocol === 'https') {
      const options: tls.ConnectionOptions = {
        host,
        port,
        // SNI needs a name, not an address (RFC 6066 §3).
        ...(net.isIP(host) === 0 ? { servername: host } : {}),
        ALPNProtocols: ['http/1.1'],
        rejectUnauthorized: !nova.insecure,
        ca: nova.caCert && !nova.insecure ? await readPem('auth_ca_cert', nova.caCert) : undefined,
        // neutron uses a client certificate only when both halves are set.
        ...(nova.clientCert && nova.clientKey
          ? {
              cert: await readPem('nova_client_cert', nova.clientCert),
              key: await readPem('nova_client_priv_key', nova.clientKey),
            }
          : {}),
      };
      connect = (onData) => tuned(tls.connect(options)).on('data', onData);
    } else {
      // Plain TCP is read with `onread`: into one buffer, straight to the
      // parser, without a readable stream's work and a new ArrayBuffer per
      // read (4-7 % of the relay's CPU per request, measured side by side).
      // The bytes are copied out, as the parser may keep them.
      connect = (onData) =>
        tuned(
          net.connect({
            host,
            port,
            onread: {
              buffer: READ_BUFFER,
              callback: (n, buffer) => {
                onData(Buffer.from(buffer.subarray(0, n)));
                return true;
              },
            },
          }),
        );
    }
    const pool = new NovaPool({
      connect,
      max: nova.connections,
      timeoutMs: nova.timeoutMs,
      connectTimeoutMs: nova.connectTimeoutMs,
    });
    return new NovaRelay(nova, pool);
  }

  /**
   * Asks nova and tells `sink` how it went. The whole answer is collected
   * before the sink hears of it: a body that stalls half-way still becomes a
   * 504, as with neutron.
   */
  forward(request: RelayRequest, sink: RelaySink): void {
    let head: string;
    try {
      head =
        headStart(request.method, request.path, this.#host) +
        this.#identity(request).lines +
        headEnd(request.method, request.body?.length);
    } catch (error) {
      sink.failed(new ProxyNovaBadResponseError(this.origin, (error as Error).message, { cause: error }));
      return;
    }
    this.#pool.dispatch(new NovaCall(this, request.method, head, request.body, sink));
  }

  /** Refuses new requests and waits for those in flight. */
  close(): Promise<void> {
    return this.#pool.close();
  }

  /** @internal NovaCall's way in (its retry). */
  dispatch(call: NovaCall): void {
    this.#pool.dispatch(call);
  }

  #identity({ instanceId, sourceIp, projectId }: RelayRequest): Identity {
    let identity = this.#identities.get(instanceId);
    if (identity === undefined || identity.sourceIp !== sourceIp || identity.projectId !== projectId) {
      if (this.#identities.size >= IDENTITY_CACHE_LIMIT) this.#identities.clear();
      const signature = signInstanceId(this.#secret, instanceId);
      identity = {
        sourceIp,
        projectId,
        lines: identityLines({ sourceIp, instanceId, projectId, signature }),
      };
      this.#identities.set(instanceId, identity);
    }
    return identity;
  }

  /** @internal */
  classify(error: Error): Error {
    if (error instanceof NovaConnectionError && error.fault === 'timeout') {
      return new ProxyNovaTimeoutError(this.origin, this.#timeoutMs, { cause: error });
    }
    // Refused, reset, closed early, unresolvable, TLS verification or
    // handshake failure, connect timeout, an answer that is not HTTP:
    // python-requests raises ConnectionError for all of these and neutron
    // answers 503.
    return new ProxyNovaUnreachableError(this.origin, { cause: error });
  }
}

/** TCP options of every connection to nova (as undici set them). */
function tuned<S extends net.Socket>(socket: S): S {
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 60_000);
  return socket;
}

/** One request to nova (and its one retry). */
class NovaCall implements PoolRequest {
  #retried = false;

  constructor(
    private readonly relay: NovaRelay,
    readonly method: string,
    private readonly head: string,
    private readonly body: Buffer | undefined,
    private readonly sink: RelaySink,
  ) {}

  write(socket: net.Socket): void {
    if (this.body === undefined) {
      socket.write(this.head, 'latin1');
      return;
    }
    socket.cork();
    socket.write(this.head, 'latin1');
    socket.write(this.body);
    socket.uncork();
  }

  answered(answer: PoolAnswer): void {
    if (!RELAYED_STATUSES.has(answer.status)) {
      this.sink.failed(
        new ProxyNovaBadResponseError(this.relay.origin, `unexpected status ${answer.status}`),
      );
      return;
    }
    this.sink.relayed(answer);
  }

  failed(error: Error): void {
    // Because neutron opens a fresh connection per request and we do not, an
    // idempotent request that meets a keep-alive connection nova just closed
    // is sent once more.
    if (!this.#retried && RETRY_ONCE_METHODS.has(this.method) && isStaleConnection(error)) {
      this.#retried = true;
      this.relay.dispatch(this);
      return;
    }
    this.sink.failed(this.relay.classify(error));
  }
}

function isStaleConnection(error: Error): boolean {
  if (error instanceof NovaConnectionError) return error.fault === 'closed';
  const code = (error as { code?: unknown }).code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

async function readPem(option: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (cause) {
    throw new ProxyInvalidOptionsError(option, `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
}
