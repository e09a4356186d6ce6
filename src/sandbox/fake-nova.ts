// A fake nova metadata API for tests, demos and benches. It checks what real
// nova checks on a proxied request (nova/api/metadata/handler.py,
// _handle_instance_id_request): X-Instance-ID and X-Tenant-ID present (400
// otherwise) and X-Instance-ID-Signature equal to the hex HMAC-SHA256 of the
// instance id under the shared secret (403 otherwise). It records every
// request, serves nova's whole metadata tree for the instance (nova-tree.ts:
// the OpenStack and EC2 version lists and items, from the instance id and
// what `setInstance` adds), and can be told to answer anything (status,
// body, type, gzip, delays, hang-ups).
import { createHmac, timingSafeEqual } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { formatHostPort } from '../common/address.js';
import { defaultInstance, novaLookup, type NovaInstance } from './nova-tree.js';

export interface FakeNovaTls {
  readonly key: string | Buffer;
  readonly cert: string | Buffer;
  /** CA for client certificates; with requestCert, unauthenticated clients are refused. */
  readonly ca?: string | Buffer;
  readonly requestCert?: boolean;
}

export interface FakeNovaOptions {
  readonly secret: string;
  /** Default 127.0.0.1; '::1' for IPv6 tests. */
  readonly host?: string;
  readonly port?: number;
  readonly tls?: FakeNovaTls;
  /** Keep `requests` (default true; benches turn it off). */
  readonly record?: boolean;
}

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** Header names as sent, to check that nothing else was forwarded. */
  readonly headerNames: readonly string[];
  readonly body: Buffer;
  /** Whether the signature matched (false requests were answered 403). */
  readonly signatureValid: boolean;
}

export interface FakeNovaAnswer {
  readonly status?: number;
  readonly body?: string | Buffer;
  readonly contentType?: string;
  /** Send the body gzip-compressed with Content-Encoding: gzip. */
  readonly gzip?: boolean;
  /** Wait this long before sending headers (headers timeout). */
  readonly delayMs?: number;
  /** Send headers, then wait this long before the body (body timeout). */
  readonly stallBodyMs?: number;
  /** Close the connection without answering. */
  readonly hangUp?: boolean;
}

/** Called for signed requests; undefined falls back to the built-in paths. */
export type FakeNovaResponder = (request: RecordedRequest) => FakeNovaAnswer | undefined;

export class FakeNova {
  readonly requests: RecordedRequest[] = [];
  #responder: FakeNovaResponder | undefined;
  readonly #instances = new Map<string, Partial<NovaInstance>>();

  constructor(
    private readonly server: http.Server,
    readonly host: string,
    readonly port: number,
    readonly protocol: 'http' | 'https',
  ) {}

  get url(): string {
    return `${this.protocol}://${formatHostPort(this.host, this.port)}`;
  }

  /** Override answers (after the signature check); undefined restores the default. */
  respondWith(responder: FakeNovaResponder | undefined): void {
    this.#responder = responder;
  }

  get responder(): FakeNovaResponder | undefined {
    return this.#responder;
  }

  /** What nova knows of an instance beyond its id (user data, keys, network data…). */
  setInstance(uuid: string, details: Partial<Omit<NovaInstance, 'uuid'>>): void {
    this.#instances.set(uuid, details);
  }

  /** The instance as served to a request with these X-Instance-ID / X-Tenant-ID. */
  instance(uuid: string, projectId: string): NovaInstance {
    return { ...defaultInstance(uuid, projectId), ...this.#instances.get(uuid), uuid };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function expectedSignature(secret: string, instanceId: string): string {
  return createHmac('sha256', secret).update(instanceId, 'utf8').digest('hex');
}

export async function startFakeNova(options: FakeNovaOptions): Promise<FakeNova> {
  const host = options.host ?? '127.0.0.1';
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => answer(nova, options, req, Buffer.concat(chunks), res));
  };
  const server = options.tls
    ? https.createServer(
        {
          key: options.tls.key,
          cert: options.tls.cert,
          ca: options.tls.ca,
          requestCert: options.tls.requestCert ?? false,
          rejectUnauthorized: options.tls.requestCert ?? false,
        },
        onRequest,
      )
    : http.createServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: options.port ?? 0 }, () => resolve());
  });
  // Requests arrive only after listen, so onRequest never sees it unset.
  const nova = new FakeNova(
    server,
    host,
    (server.address() as AddressInfo).port,
    options.tls ? 'https' : 'http',
  );
  return nova;
}

function answer(
  nova: FakeNova,
  { secret, record = true }: FakeNovaOptions,
  req: http.IncomingMessage,
  body: Buffer,
  res: http.ServerResponse,
) {
  const instanceId = header(req.headers['x-instance-id']);
  const projectId = header(req.headers['x-tenant-id']);
  const signature = header(req.headers['x-instance-id-signature']) ?? '';
  const signatureValid =
    instanceId !== undefined && safeEqual(signature, expectedSignature(secret, instanceId));
  const recorded: RecordedRequest = {
    method: req.method ?? '',
    url: req.url ?? '',
    headers: req.headers,
    headerNames: req.rawHeaders.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase()),
    body,
    signatureValid,
  };
  if (record) nova.requests.push(recorded);

  if (instanceId === undefined)
    return send(res, { status: 400, body: 'X-Instance-ID header is missing from request.' });
  if (projectId === undefined)
    return send(res, { status: 400, body: 'X-Tenant-ID header is missing from request.' });
  if (!signatureValid) return send(res, { status: 403, body: 'Invalid proxy request signature.' });

  const custom = nova.responder?.(recorded);
  if (custom !== undefined) return send(res, custom);
  const reply = novaLookup(nova.instance(instanceId, projectId), {
    method: recorded.method,
    url: recorded.url,
    body: body.toString(),
    remoteAddress: header(req.headers['x-forwarded-for']),
  });
  return send(res, reply);
}

function send(res: http.ServerResponse, answer: FakeNovaAnswer): void {
  if (answer.hangUp) {
    res.socket?.destroy();
    return;
  }
  const write = (): void => {
    const raw = typeof answer.body === 'string' ? Buffer.from(answer.body) : (answer.body ?? Buffer.alloc(0));
    const payload = answer.gzip ? gzipSync(raw) : raw;
    const headers: http.OutgoingHttpHeaders = {
      'content-type': answer.contentType ?? 'text/plain; charset=UTF-8',
      'content-length': payload.length,
    };
    if (answer.gzip) headers['content-encoding'] = 'gzip';
    res.writeHead(answer.status ?? 200, headers);
    if (answer.stallBodyMs !== undefined && payload.length > 0) {
      res.write(payload.subarray(0, 1));
      setTimeout(() => res.end(payload.subarray(1)), answer.stallBodyMs);
    } else {
      res.end(payload);
    }
  };
  if (answer.delayMs !== undefined) setTimeout(write, answer.delayMs);
  else write();
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
