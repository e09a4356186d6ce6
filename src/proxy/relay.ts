// The request to nova (neutron-compat.md "The request to nova"; neutron's
// neutron/common/metadata.py _proxy_request): the VM's method, path, query and
// body, and exactly four headers of ours — never one of the VM's.
//
// One undici Pool with keep-alive serves every network: the origin never
// changes, so a request costs a pooled connection, one flat header array, one
// dispatch handler object and (for a new instance) one HMAC, cached by
// instance id. Because neutron opens a fresh connection per request and we do
// not, an idempotent request that meets a keep-alive connection nova just
// closed is retried once. undici checks the headers and body timeouts on a
// ~0.5 s tick (lib/util/timers.js): plenty for neutron's 60 s.

import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { Pool, errors as undiciErrors, type Dispatcher } from 'undici';

import { formatHostPort } from '../common/address.js';
import {
  ProxyInvalidOptionsError,
  ProxyNovaBadResponseError,
  ProxyNovaTimeoutError,
  ProxyNovaUnreachableError,
} from './errors.js';
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
const SIGNATURE_CACHE_LIMIT = 4096;

/** Hex HMAC-SHA256 of the instance id keyed with metadata_proxy_shared_secret,
 *  as nova checks it (nova/api/metadata/handler.py, _handle_instance_id_request). */
export function signInstanceId(secret: string, instanceId: string): string {
  return createHmac('sha256', secret).update(instanceId, 'utf8').digest('hex');
}

/** `http://host:port` with an IPv6 literal bracketed (RFC 3986 §3.2.2). */
export function novaOrigin(nova: Pick<NovaOptions, 'protocol' | 'host' | 'port'>): string {
  return `${nova.protocol}://${formatHostPort(nova.host, nova.port)}`;
}

/** Where a relayed request ends: exactly one of the two is called, once. */
export interface RelaySink {
  relayed(response: RelayResponse): void;
  /** ProxyNovaUnreachableError (503), ProxyNovaTimeoutError (504) or ProxyNovaBadResponseError (500). */
  failed(error: Error): void;
}

export class NovaRelay {
  readonly origin: string;
  readonly #pool: Pool;
  readonly #secret: string;
  readonly #timeoutMs: number;
  readonly #signatures = new Map<string, string>();

  private constructor(nova: NovaOptions, pool: Pool) {
    this.origin = novaOrigin(nova);
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
    const connect =
      nova.protocol === 'https'
        ? {
            rejectUnauthorized: !nova.insecure,
            ca: nova.caCert && !nova.insecure ? await readPem('auth_ca_cert', nova.caCert) : undefined,
            // neutron uses a client certificate only when both halves are set.
            ...(nova.clientCert && nova.clientKey
              ? {
                  cert: await readPem('nova_client_cert', nova.clientCert),
                  key: await readPem('nova_client_priv_key', nova.clientKey),
                }
              : {}),
            timeout: nova.connectTimeoutMs,
          }
        : { timeout: nova.connectTimeoutMs };
    const pool = new Pool(novaOrigin(nova), {
      connections: nova.connections,
      headersTimeout: nova.timeoutMs,
      bodyTimeout: nova.timeoutMs,
      keepAliveTimeout: 4_000,
      connect,
    });
    return new NovaRelay(nova, pool);
  }

  /**
   * Asks nova and tells `sink` how it went. The whole answer is collected
   * before the sink hears of it: a body that stalls half-way still becomes a
   * 504, as with neutron. Runs on undici's callback interface (dispatch): no
   * response stream, no async iteration.
   */
  forward(request: RelayRequest, sink: RelaySink): void {
    const headers = [
      'x-forwarded-for',
      request.sourceIp,
      'x-instance-id',
      request.instanceId,
      'x-tenant-id',
      request.projectId,
      'x-instance-id-signature',
      this.#sign(request.instanceId),
    ];
    new NovaCall(this, request, headers, sink).send();
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  /** @internal NovaCall's way in. */
  dispatch(call: NovaCall): void {
    this.#pool.dispatch(call.options, call);
  }

  #sign(instanceId: string): string {
    let signature = this.#signatures.get(instanceId);
    if (signature === undefined) {
      if (this.#signatures.size >= SIGNATURE_CACHE_LIMIT) this.#signatures.clear();
      signature = signInstanceId(this.#secret, instanceId);
      this.#signatures.set(instanceId, signature);
    }
    return signature;
  }

  /** @internal */
  classify(error: unknown): Error {
    if (error instanceof ProxyNovaBadResponseError) return error;
    if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
      return new ProxyNovaTimeoutError(this.origin, this.#timeoutMs, { cause: error });
    }
    if (isProgrammingError(error)) {
      return new ProxyNovaBadResponseError(this.origin, String((error as Error).message), { cause: error });
    }
    // Refused, reset, unresolvable, TLS verification or handshake failure,
    // connect timeout: python-requests raises ConnectionError for all of
    // these and neutron answers 503.
    return new ProxyNovaUnreachableError(this.origin, { cause: error });
  }
}

const CONTENT_TYPE = 'content-type';
const CONTENT_ENCODING = 'content-encoding';

/** One request to nova (and its one retry): undici's dispatch handler. */
class NovaCall implements Dispatcher.DispatchHandler {
  readonly options: Dispatcher.DispatchOptions;
  #retried = false;
  #status = 0;
  #contentType: string | undefined = undefined;
  #contentEncoding: string | undefined = undefined;
  #chunks: Buffer[] = [];
  #length = 0;

  constructor(
    private readonly relay: NovaRelay,
    request: RelayRequest,
    headers: string[],
    private readonly sink: RelaySink,
  ) {
    this.options = {
      method: request.method as Dispatcher.HttpMethod,
      path: request.path,
      headers,
      body: request.body ?? null,
    };
  }

  send(): void {
    this.relay.dispatch(this);
  }

  onConnect(): void {
    // A retry after a stale connection starts from nothing.
    this.#status = 0;
    this.#contentType = undefined;
    this.#contentEncoding = undefined;
    this.#chunks = [];
    this.#length = 0;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true; // 1xx: the real answer follows.
    this.#status = statusCode;
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!;
      // Only two names matter; compare lengths before decoding.
      if (name.length === CONTENT_TYPE.length || name.length === CONTENT_ENCODING.length) {
        const lower = name.toString('latin1').toLowerCase();
        if (lower === CONTENT_TYPE) this.#contentType ??= rawHeaders[i + 1]!.toString('latin1');
        else if (lower === CONTENT_ENCODING) this.#contentEncoding ??= rawHeaders[i + 1]!.toString('latin1');
      }
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    return true;
  }

  onComplete(): void {
    if (!RELAYED_STATUSES.has(this.#status)) {
      this.sink.failed(new ProxyNovaBadResponseError(this.relay.origin, `unexpected status ${this.#status}`));
      return;
    }
    const chunks = this.#chunks;
    this.sink.relayed({
      status: this.#status,
      contentType: this.#contentType,
      contentEncoding: this.#contentEncoding,
      body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#length),
    });
  }

  onError(error: Error): void {
    // Because neutron opens a fresh connection per request and we do not, an
    // idempotent request that meets a keep-alive connection nova just closed
    // is sent once more.
    if (!this.#retried && RETRY_ONCE_METHODS.has(this.options.method) && isStaleConnection(error)) {
      this.#retried = true;
      this.send();
      return;
    }
    this.sink.failed(this.relay.classify(error));
  }
}

function isStaleConnection(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE';
}

function isProgrammingError(error: unknown): boolean {
  if (!(error instanceof Error)) return true;
  const code = (error as { code?: unknown }).code;
  return (
    error instanceof undiciErrors.InvalidArgumentError ||
    error instanceof undiciErrors.NotSupportedError ||
    error instanceof undiciErrors.RequestContentLengthMismatchError ||
    error instanceof undiciErrors.ResponseContentLengthMismatchError ||
    (code === undefined && (error instanceof TypeError || error instanceof RangeError))
  );
}

async function readPem(option: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (cause) {
    throw new ProxyInvalidOptionsError(option, `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
}
