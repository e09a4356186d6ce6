// The HTTP side: one fastify instance answers every listening socket.
//
// Each listening socket gets its own node:http Server (its own limits,
// connection count, slow-client timers and close), all calling fastify's one
// request handler. The server tags each accepted connection with its
// listener's context, built once per network, so a request finds its network
// with one property read and its source in the TCP peer address. A netns
// listener trusts nothing the VM sends: X-OVN-Network-ID, X-Forwarded-For and
// the X-Instance-* headers are neither read nor forwarded. Only the unix
// socket listener (haproxy in front, neutron's layout) reads the first two.

import http from 'node:http';
import type net from 'node:net';

import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

import { ProxyNovaBadResponseError, ProxyNovaTimeoutError, ProxyNovaUnreachableError } from './errors.js';
import type { IdentitySource } from './identity-index.js';
import { canonicalPeerIp } from '../common/address.js';
import type { LimitOptions, ProxyMetricsHooks } from './options.js';
import type { RateLimiter } from './rate-limiter.js';
import type { NovaRelay } from './relay.js';

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
type TaggedSocket = net.Socket & { [kContext]?: ListenerContext };

const TEXT = 'text/plain; charset=utf-8';
export const UNAVAILABLE_BODY =
  'The remote metadata server is temporarily unavailable. Please try again later.';
const TOO_MANY_BODY = 'You have sent too many requests in a given amount of time.';
const FORBIDDEN_HINT =
  'The remote metadata server responded with Forbidden. This response usually occurs when shared secrets do not match.';

declare module 'fastify' {
  interface FastifyRequest {
    metaNetwork: string | null;
    metaSource: string | null;
    metaInstance: string | null;
  }
}

export interface MetadataApp {
  readonly app: FastifyInstance;
  /** A node:http server for one listening socket, answering through `app`. */
  createListenerServer(context: ListenerContext): http.Server;
}

export interface AppDeps {
  readonly identity: IdentitySource;
  readonly relay: NovaRelay;
  readonly limits: LimitOptions;
  readonly logger: Logger | undefined;
  readonly metrics: ProxyMetricsHooks | undefined;
}

export async function createMetadataApp(deps: AppDeps): Promise<MetadataApp> {
  const { identity, relay, limits, logger, metrics } = deps;
  let dispatch: http.RequestListener | undefined;
  const app = Fastify({
    logger: false,
    bodyLimit: limits.maxBodyBytes,
    // A VM could choose its own request id; fastify's counter is ours.
    requestIdHeader: false,
    return503OnClosing: true,
    // fastify's own server never listens: every socket has its own, below.
    serverFactory: (handler) => {
      dispatch = handler;
      return http.createServer();
    },
  });
  app.decorateRequest('metaNetwork', null);
  app.decorateRequest('metaSource', null);
  app.decorateRequest('metaInstance', null);

  // Bodies go to nova as raw bytes, whatever the VM calls them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.addHook('onResponse', (request, reply, done) => {
    metrics?.request(request.metaNetwork ?? '', reply.statusCode, reply.elapsedTime / 1000);
    logger?.info(
      {
        network: request.metaNetwork,
        instance: request.metaInstance,
        source: request.metaSource,
        method: request.method,
        path: request.url.length > 256 ? `${request.url.slice(0, 256)}…` : request.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'metadata request',
    );
    done();
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    // fastify's own 4xx (body too large, bad content length, bad URL…).
    const status = error.statusCode !== undefined && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500)
      logger?.error({ err: error, network: request.metaNetwork }, 'metadata request failed');
    return reply.code(status).type(TEXT).send(http.STATUS_CODES[status]);
  });

  const handle = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const socket = request.raw.socket as TaggedSocket;
    const context = socket[kContext];
    if (context === undefined) throw new Error('request on a socket without a listener context');

    let network: string | undefined;
    let source: string | undefined;
    if (context.kind === 'netns') {
      network = context.network;
      source = canonicalPeerIp(socket.remoteAddress ?? '');
      if (source === undefined) return reply.code(400).type(TEXT).send('Bad Request');
      request.metaNetwork = network;
      request.metaSource = source;
      if (context.limiter !== undefined && (source.includes(':') ? context.limitIpv6 : context.limitIpv4)) {
        if (!context.limiter.hit(source)) return reply.code(429).type(TEXT).send(TOO_MANY_BODY);
      }
    } else {
      // haproxy appends its own headers after any the VM sent; node joins
      // repeats with ", ", so the last element is haproxy's.
      network = lastListElement(request.headers['x-ovn-network-id']);
      const forwarded = lastListElement(request.headers['x-forwarded-for']);
      source = forwarded === undefined ? undefined : canonicalPeerIp(forwarded);
      request.metaNetwork = network ?? null;
      request.metaSource = source ?? null;
      if (network === undefined || source === undefined) {
        return reply.code(400).type(TEXT).send('Missing X-OVN-Network-ID or X-Forwarded-For');
      }
    }

    const found = identity.lookup(network, source);
    if (found.kind !== 'found') {
      if (found.kind === 'ambiguous') {
        logger?.error(
          { network, source, ports: found.ports },
          'several bound ports own this address: the databases are inconsistent',
        );
      }
      return reply.code(404).type(TEXT).send(`Instance was not found on network ${network}.`);
    }
    request.metaInstance = found.instanceId;

    try {
      const response = await relay.forward({
        method: request.method,
        path: originForm(request.raw.url ?? '/'),
        body: Buffer.isBuffer(request.body) && request.body.length > 0 ? request.body : undefined,
        sourceIp: source,
        instanceId: found.instanceId,
        projectId: found.projectId,
      });
      if (response.status === 403) logger?.warn({ network, instance: found.instanceId }, FORBIDDEN_HINT);
      else if (response.status === 500) {
        logger?.warn({ network, instance: found.instanceId }, 'nova metadata server answered 500');
      }
      reply.code(response.status);
      if (response.contentType !== undefined) reply.header('content-type', response.contentType);
      if (response.contentEncoding !== undefined) reply.header('content-encoding', response.contentEncoding);
      return reply.send(response.body);
    } catch (error) {
      return relayFailed(error, reply, network, found.instanceId);
    }
  };

  const relayFailed = (
    error: unknown,
    reply: FastifyReply,
    network: string,
    instance: string,
  ): FastifyReply => {
    if (error instanceof ProxyNovaUnreachableError) {
      metrics?.novaError('unreachable');
      logger?.warn({ network, instance, code: error.code, err: error.cause }, error.message);
      return reply.code(503).type(TEXT).send(UNAVAILABLE_BODY);
    }
    if (error instanceof ProxyNovaTimeoutError) {
      metrics?.novaError('timeout');
      logger?.warn({ network, instance, code: error.code }, error.message);
      return reply.code(504).type(TEXT).send('Gateway Timeout');
    }
    metrics?.novaError('other');
    const code = error instanceof ProxyNovaBadResponseError ? error.code : undefined;
    logger?.error({ network, instance, code, err: error }, 'metadata relay failed');
    return reply.code(500).type(TEXT).send('Internal Server Error');
  };

  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'],
    url: '*',
    handler: handle,
  });
  await app.ready();
  const requestListener = dispatch!;

  const createListenerServer = (context: ListenerContext): http.Server => {
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
      requestListener,
    );
    server.maxConnections = limits.maxConnections;
    // accept(2) failures (EMFILE under a flood) are emitted here; the server
    // keeps listening, and an unhandled 'error' would end the process.
    server.on('error', (error) => {
      logger?.error(
        { err: error, network: context.kind === 'netns' ? context.network : null },
        'metadata listener error',
      );
    });
    server.on('connection', (socket: TaggedSocket) => {
      socket[kContext] = context;
    });
    server.on('clientError', (error: Error & { code?: string }, socket: net.Socket) => {
      const network = context.kind === 'netns' ? context.network : '';
      const inResponse = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
      if (error.code === 'ECONNRESET' || !socket.writable || inResponse === true) {
        // The guest went away: nothing to answer, nothing malformed.
        socket.destroy();
        logger?.debug(
          { network, source: socket.remoteAddress, code: error.code },
          'metadata connection reset',
        );
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
    return server;
  };

  return { app, createListenerServer };
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
