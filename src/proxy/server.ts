// The HTTP side: one node:http server parses and answers for every listening
// socket.
//
// Each listening socket is a plain net.Server (a ListenerServer: its own
// connection limit, its own connections to drain or cut on removal) that
// tags each accepted connection with its listener's context, built once per
// network, and hands it to the one shared http.Server. So a request finds its
// network with one property read and its source in the TCP peer address, and
// the slow-client timers (headers and request timeouts) are one interval for
// all networks, not one per listener. A netns listener trusts nothing the VM
// sends: X-OVN-Network-ID, X-Forwarded-For and the X-Instance-* headers are
// neither read nor forwarded. Only the unix socket listener (haproxy in
// front, neutron's layout) reads the first two.
//
// The request path is plain node:http with no framework: per request one
// small object (Exchange) that is also the relay's sink, one access log line
// and one metrics call.

import http from 'node:http';
import net from 'node:net';

import type { Logger } from 'pino';

import { AccessLog } from './access-log.js';
import { ProxyNovaBadResponseError, ProxyNovaTimeoutError, ProxyNovaUnreachableError } from './errors.js';
import type { IdentitySource } from './identity-index.js';
import { canonicalPeerIp } from '../common/address.js';
import type { LimitOptions, ProxyMetricsHooks } from './options.js';
import type { RateLimiter } from './rate-limiter.js';
import type { NovaRelay, RelayResponse, RelaySink } from './relay.js';

/** Built once per listener; read once per request. */
export type ListenerContext =
  | {
      readonly kind: 'netns';
      readonly network: string;
      /** undefined when rate limiting is off. */
      readonly limiter: RateLimiter | undefined;
      readonly limitIpv4: boolean;
      readonly limitIpv6: boolean;
    }
  | { readonly kind: 'unix' };

const kContext = Symbol('ovnmeta.listenerContext');
const kOwner = Symbol('ovnmeta.listenerServer');
/** The canonical peer address, computed on the connection's first request; '' when malformed. */
const kSource = Symbol('ovnmeta.source');
type TaggedSocket = net.Socket & {
  [kContext]?: ListenerContext;
  [kOwner]?: ListenerServer;
  [kSource]?: string;
  /** node:http's response in progress on this socket (Node internal, read only). */
  _httpMessage?: { finished?: boolean; headersSent?: boolean } | null;
};

const TEXT = 'text/plain; charset=utf-8';
const OCTETS = 'application/octet-stream';
export const UNAVAILABLE_BODY =
  'The remote metadata server is temporarily unavailable. Please try again later.';
const TOO_MANY_BODY = 'You have sent too many requests in a given amount of time.';
const FORBIDDEN_HINT =
  'The remote metadata server responded with Forbidden. This response usually occurs when shared secrets do not match.';
const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);
const PATH_LOG_LIMIT = 256;

/**
 * One listening socket. Takes over a listening handle with `listen(handle)`;
 * every connection it accepts (or is given with `emit('connection', s)`) is
 * served by the shared HTTP server. The two close methods act on this
 * listener's connections only.
 */
export class ListenerServer extends net.Server {
  readonly #sockets = new Set<TaggedSocket>();
  #closing = false;

  constructor(
    readonly context: ListenerContext,
    http: http.Server,
    maxConnections: number,
    logger: Logger | undefined,
  ) {
    // What http.Server asks of net.Server: it handles half-closed sockets itself.
    super({ allowHalfOpen: true, noDelay: true });
    this.maxConnections = maxConnections;
    this.on('connection', (socket: TaggedSocket) => {
      socket[kContext] = context;
      socket[kOwner] = this;
      this.#sockets.add(socket);
      socket.on('close', untrack);
      http.emit('connection', socket);
    });
    // accept(2) failures (EMFILE under a flood) are emitted here; the server
    // keeps listening, and an unhandled 'error' would end the process.
    this.on('error', (error) => {
      logger?.error(
        { err: error, network: context.kind === 'netns' ? context.network : null },
        'metadata listener error',
      );
    });
  }

  /** True once closeIdleConnections ran: answers from now on close their connection. */
  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Cuts this listener's connections that sit idle between two requests. A
   * connection accepted but whose first request has not been read yet is
   * not idle: its VM is sending that request (a restart must not reset it),
   * so it is answered, with `Connection: close`, like those in progress.
   */
  closeIdleConnections(): void {
    this.#closing = true;
    for (const socket of this.#sockets) {
      const response = socket._httpMessage;
      if (response === null || response?.finished === true) socket.destroy();
    }
  }

  /** Cuts every connection of this listener. */
  closeAllConnections(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  /** @internal */
  forget(socket: TaggedSocket): void {
    this.#sockets.delete(socket);
  }
}

function untrack(this: TaggedSocket): void {
  this[kOwner]?.forget(this);
}

export interface MetadataApp {
  /** A listening socket's server, answering through the shared HTTP server. */
  createListenerServer(context: ListenerContext): ListenerServer;
  /** Stops the shared server's timer; what still arrives gets a 503. */
  close(): Promise<void>;
}

export interface AppDeps {
  readonly identity: IdentitySource;
  readonly relay: NovaRelay;
  readonly limits: LimitOptions;
  readonly logger: Logger | undefined;
  readonly metrics: ProxyMetricsHooks | undefined;
}

interface App extends AppDeps {
  readonly access: AccessLog | undefined;
  closing: boolean;
}

export function createMetadataApp(deps: AppDeps): Promise<MetadataApp> {
  const { limits, logger, metrics } = deps;
  const app: App = { ...deps, access: logger && new AccessLog(logger), closing: false };
  const server = http.createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // The timers above are checked this often (default 30 s is too coarse).
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
      // Host is not used for anything; HTTP/1.0-style clients may omit it.
      requireHostHeader: false,
      noDelay: true,
    },
    (request, response) => {
      const socket = request.socket as TaggedSocket;
      const context = socket[kContext];
      if (context === undefined) {
        response.destroy();
        return;
      }
      new Exchange(app, context, socket, request, response).start();
    },
  );
  // This server never listens: its connections come from the listeners.
  // node:http starts its connection tracking and the one timer that enforces
  // headersTimeout/requestTimeout on 'listening' (lib/_http_server.js
  // setupConnectionsTracking), so that event is given to it here, once.
  server.emit('listening');

  server.on('clientError', (error: Error & { code?: string }, socket: TaggedSocket) => {
    const context = socket[kContext];
    const network = context?.kind === 'netns' ? context.network : '';
    if (error.code === 'ECONNRESET' || !socket.writable || socket._httpMessage?.headersSent === true) {
      // The guest went away: nothing to answer, nothing malformed.
      socket.destroy();
      logger?.debug({ network, source: socket.remoteAddress, code: error.code }, 'metadata connection reset');
      return;
    }
    // Node's default answers (431, 408, 400), plus a log line and a count.
    const status =
      error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
    );
    metrics?.request(network, status, 0);
    logger?.info(
      { network, source: socket.remoteAddress ?? null, status, code: error.code },
      'malformed metadata request',
    );
  });

  return Promise.resolve({
    createListenerServer: (context) => new ListenerServer(context, server, limits.maxConnections, logger),
    close: async () => {
      app.closing = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

/** One request from a VM: read, check, relay, answer, log. The relay's sink. */
class Exchange implements RelaySink {
  readonly #started = performance.now();
  #network: string | null = null;
  #source: string | null = null;
  #instance: string | null = null;
  #chunks: Buffer[] | undefined;
  #length = 0;

  constructor(
    private readonly app: App,
    private readonly context: ListenerContext,
    private readonly socket: TaggedSocket,
    private readonly request: http.IncomingMessage,
    private readonly response: http.ServerResponse,
  ) {}

  start(): void {
    try {
      if (this.app.closing) {
        this.response.shouldKeepAlive = false;
        return this.#text(503, 'Service Unavailable');
      }
      if (!METHODS.has(this.request.method!)) return this.#text(404, 'Not Found');
      const headers = this.request.headers;
      if (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) {
        return this.#identify(undefined);
      }
      const declared = headers['content-length'] === undefined ? 0 : Number(headers['content-length']);
      if (declared > this.app.limits.maxBodyBytes) return this.#text(413, http.STATUS_CODES[413]!);
      if (declared === 0 && headers['transfer-encoding'] === undefined) return this.#identify(undefined);
      this.#readBody();
    } catch (error) {
      this.#crashed(error);
    }
  }

  /** Only requests with a body pay for these two listeners. */
  #readBody(): void {
    this.#chunks = [];
    this.request.on('data', (chunk: Buffer) => this.#onBody(chunk));
    this.request.on('end', () => this.#onBodyEnd());
  }

  #onBody(chunk: Buffer): void {
    if (this.#chunks === undefined) return;
    this.#length += chunk.length;
    if (this.#length > this.app.limits.maxBodyBytes) {
      // Stop collecting; node discards the rest. The connection ends after the answer.
      this.#chunks = undefined;
      this.response.shouldKeepAlive = false;
      this.#text(413, http.STATUS_CODES[413]!);
      return;
    }
    this.#chunks.push(chunk);
  }

  #onBodyEnd(): void {
    const chunks = this.#chunks;
    if (chunks === undefined) return;
    this.#chunks = undefined;
    try {
      this.#identify(
        this.#length === 0
          ? undefined
          : chunks.length === 1
            ? chunks[0]!
            : Buffer.concat(chunks, this.#length),
      );
    } catch (error) {
      this.#crashed(error);
    }
  }

  #identify(body: Buffer | undefined): void {
    const { context, request } = this;
    let network: string | undefined;
    let source: string | undefined;
    if (context.kind === 'netns') {
      network = this.#network = context.network;
      const socket = this.socket;
      source = socket[kSource] ??= canonicalPeerIp(socket.remoteAddress ?? '') ?? '';
      if (source === '') return this.#text(400, 'Bad Request');
      this.#source = source;
      if (context.limiter !== undefined && (source.includes(':') ? context.limitIpv6 : context.limitIpv4)) {
        if (!context.limiter.hit(source)) return this.#text(429, TOO_MANY_BODY);
      }
    } else {
      // haproxy appends its own headers after any the VM sent; node joins
      // repeats with ", ", so the last element is haproxy's.
      network = lastListElement(request.headers['x-ovn-network-id']);
      const forwarded = lastListElement(request.headers['x-forwarded-for']);
      source = forwarded === undefined ? undefined : canonicalPeerIp(forwarded);
      this.#network = network ?? null;
      this.#source = source ?? null;
      if (network === undefined || source === undefined) {
        return this.#text(400, 'Missing X-OVN-Network-ID or X-Forwarded-For');
      }
    }

    const found = this.app.identity.lookup(network, source);
    if (found.kind !== 'found') {
      if (found.kind === 'ambiguous') {
        this.app.logger?.error(
          { network, source, ports: found.ports },
          'several bound ports own this address: the databases are inconsistent',
        );
      }
      return this.#text(404, `Instance was not found on network ${network}.`);
    }
    this.#instance = found.instanceId;
    this.app.relay.forward(
      {
        method: request.method!,
        path: originForm(request.url ?? '/'),
        body,
        sourceIp: source,
        instanceId: found.instanceId,
        projectId: found.projectId,
      },
      this,
    );
  }

  relayed(answer: RelayResponse): void {
    // Called from the relay's socket events: nothing may be thrown back there.
    try {
      this.#relayed(answer);
    } catch (error) {
      this.#crashed(error);
    }
  }

  failed(error: Error): void {
    try {
      this.#failed(error);
    } catch (thrown) {
      this.#crashed(thrown);
    }
  }

  #relayed(answer: RelayResponse): void {
    const { logger } = this.app;
    if (answer.status === 403)
      logger?.warn({ network: this.#network, instance: this.#instance }, FORBIDDEN_HINT);
    else if (answer.status === 500) {
      logger?.warn({ network: this.#network, instance: this.#instance }, 'nova metadata server answered 500');
    }
    const headers = [
      'content-type',
      answer.contentType ?? OCTETS,
      'content-length',
      String(answer.body.length),
    ];
    if (answer.contentEncoding !== undefined) headers.push('content-encoding', answer.contentEncoding);
    this.#end(answer.status, headers, answer.body);
  }

  #failed(error: Error): void {
    const { logger, metrics } = this.app;
    const network = this.#network;
    const instance = this.#instance;
    if (error instanceof ProxyNovaUnreachableError) {
      metrics?.novaError('unreachable');
      logger?.warn({ network, instance, code: error.code, err: error.cause }, error.message);
      return this.#text(503, UNAVAILABLE_BODY);
    }
    if (error instanceof ProxyNovaTimeoutError) {
      metrics?.novaError('timeout');
      logger?.warn({ network, instance, code: error.code }, error.message);
      return this.#text(504, 'Gateway Timeout');
    }
    metrics?.novaError('other');
    const code = error instanceof ProxyNovaBadResponseError ? error.code : undefined;
    logger?.error({ network, instance, code, err: error }, 'metadata relay failed');
    this.#text(500, 'Internal Server Error');
  }

  #crashed(error: unknown): void {
    this.app.logger?.error({ err: error, network: this.#network }, 'metadata request failed');
    if (!this.response.headersSent) this.#text(500, 'Internal Server Error');
    else this.response.destroy();
  }

  #text(status: number, text: string): void {
    const body = Buffer.from(text);
    this.#end(status, ['content-type', TEXT, 'content-length', String(body.length)], body);
  }

  /** Writes the whole answer at once, then the access log line and the count. */
  #end(status: number, headers: string[], body: Buffer): void {
    const response = this.response;
    if (response.headersSent || response.destroyed) return;
    if (this.socket[kOwner]?.closing === true) response.shouldKeepAlive = false;
    response.writeHead(status, headers);
    response.end(body);
    const ms = performance.now() - this.#started;
    this.app.metrics?.request(this.#network ?? '', status, ms / 1000);
    const url = this.request.url ?? '';
    this.app.access?.write(this.#network, this.#instance, this.#source, {
      method: this.request.method,
      path: url.length > PATH_LOG_LIMIT ? `${url.slice(0, PATH_LOG_LIMIT)}…` : url,
      status,
      ms: Math.round(ms * 10) / 10,
    });
  }
}

/** The path and query to ask nova for. Absolute-form targets (RFC 9112
 *  §3.2.2) are cut to origin-form; the origin is always nova's. */
function originForm(target: string): string {
  if (target.startsWith('/')) return target;
  try {
    const url = new URL(target);
    return url.pathname + url.search;
  } catch {
    return '/';
  }
}

function lastListElement(value: string | string[] | undefined): string | undefined {
  const joined = Array.isArray(value) ? value[value.length - 1] : value;
  if (joined === undefined) return undefined;
  const comma = joined.lastIndexOf(',');
  const last = (comma === -1 ? joined : joined.slice(comma + 1)).trim();
  return last === '' ? undefined : last;
}
