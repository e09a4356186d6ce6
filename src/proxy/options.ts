// createMetadataProxy's options and their defaults, in one place. Names
// follow neutron's options (neutron-compat.md "Configuration"); durations are
// milliseconds here, where neutron's ini file has seconds.

import type { Logger } from 'pino';

import { ProxyInvalidOptionsError } from './errors.js';
import type { IdentitySource } from './identity-index.js';

export interface NovaOptions {
  /** nova_metadata_host (an IPv6 literal is bracketed in the URL). */
  readonly host: string;
  /** nova_metadata_port */
  readonly port: number;
  /** nova_metadata_protocol */
  readonly protocol: 'http' | 'https';
  /** nova_metadata_insecure: skip certificate verification. */
  readonly insecure: boolean;
  /** auth_ca_cert, nova_client_cert, nova_client_priv_key: PEM file paths. */
  readonly caCert?: string | undefined;
  readonly clientCert?: string | undefined;
  readonly clientKey?: string | undefined;
  /** metadata_proxy_shared_secret. Never logged. */
  readonly sharedSecret: string;
  /** How long nova may take for headers, and between body chunks (neutron master: 32 s). */
  readonly timeoutMs: number;
  /** How long a connection to nova may take to open. */
  readonly connectTimeoutMs: number;
  /** Keep-alive connections kept open to nova. */
  readonly connections: number;
}

export interface RateLimitOptions {
  /** [metadata_rate_limiting] rate_limit_enabled */
  readonly enabled: boolean;
  /** ip_versions: unlike neutron, 4 and 6 may be limited together. */
  readonly ipVersions: readonly (4 | 6)[];
  readonly baseWindowMs: number;
  readonly baseLimit: number;
  readonly burstWindowMs: number;
  readonly burstLimit: number;
  /** Sources tracked per network (haproxy's stick table `size 10k`). */
  readonly maxEntries: number;
}

/** Protection against hostile or broken guests, per listening socket. */
export interface LimitOptions {
  /** Longest request head; larger gets 431 (Node's maxHeaderSize). */
  readonly maxHeaderBytes: number;
  /** Longest request body; larger gets 413. */
  readonly maxBodyBytes: number;
  /** Time to receive a whole request head (slowloris). */
  readonly headersTimeoutMs: number;
  /** Time to receive a whole request. */
  readonly requestTimeoutMs: number;
  /** Idle time allowed between requests on a kept-alive connection. */
  readonly keepAliveTimeoutMs: number;
  /** Open connections per listening socket (haproxy: maxconn 1024). */
  readonly maxConnections: number;
  /** listen(2) backlog (metadata_backlog). */
  readonly backlog: number;
  /** On removal, how long requests in flight may finish before being cut. */
  readonly drainMs: number;
}

export interface ListenAddressOptions {
  readonly ipv4: string;
  readonly ipv6: string;
  readonly port: number;
  /** How long to wait for the IPv6 address to leave DAD's tentative state. */
  readonly dadWaitMs: number;
  /** Limit for the listener holder to answer (or start). */
  readonly helperTimeoutMs: number;
  /** Where namespaces are named (`ip netns`): <netnsDir>/<namespace>. */
  readonly netnsDir: string;
  /**
   * The listener holder's control socket. Set: the listening sockets are
   * kept there across restarts of this process (close() leaves them, a
   * later proxy on the same path adopts them). Unset: a private holder on a
   * temporary path, ended by close().
   */
  readonly holderSocket: string | undefined;
}

/** Per-request reports, for the agent's Prometheus registry (the proxy
 *  holds no registry of its own). Called synchronously: keep them cheap. */
export interface ProxyMetricsHooks {
  /** Every answered request, malformed ones included; network is '' when unknown. */
  request(network: string, status: number, seconds: number): void;
  /** A relay to nova that failed: 503, 504 or 500 to the VM. */
  novaError(kind: 'unreachable' | 'timeout' | 'other'): void;
}

export interface MetadataProxyOptions {
  readonly identity: IdentitySource;
  readonly nova: Partial<NovaOptions> & Pick<NovaOptions, 'sharedSecret'>;
  readonly rateLimit?: Partial<RateLimitOptions>;
  readonly limits?: Partial<LimitOptions>;
  /** Where guests reach us; tests move it to 127.0.0.1 and port 0. */
  readonly listen?: Partial<ListenAddressOptions>;
  /** pino logger; the proxy logs one info line per request. Default: silent. */
  readonly logger?: Logger;
  readonly metrics?: ProxyMetricsHooks;
  /** Monotonic milliseconds for the rate limiter. */
  readonly now?: () => number;
}

export interface ResolvedOptions {
  readonly identity: IdentitySource;
  readonly nova: NovaOptions;
  readonly rateLimit: RateLimitOptions;
  readonly limits: LimitOptions;
  readonly listen: ListenAddressOptions;
  readonly logger: Logger | undefined;
  readonly metrics: ProxyMetricsHooks | undefined;
  readonly now: () => number;
}

export const DEFAULT_NOVA: Omit<NovaOptions, 'sharedSecret'> = {
  host: '127.0.0.1',
  port: 8775,
  protocol: 'http',
  insecure: false,
  timeoutMs: 32_000,
  connectTimeoutMs: 10_000,
  connections: 64,
};

export const DEFAULT_RATE_LIMIT: RateLimitOptions = {
  enabled: false,
  ipVersions: [4],
  baseWindowMs: 10_000,
  baseLimit: 10,
  burstWindowMs: 10_000,
  burstLimit: 10,
  maxEntries: 10_000,
};

export const DEFAULT_LIMITS: LimitOptions = {
  maxHeaderBytes: 8 * 1024,
  maxBodyBytes: 256 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 30_000,
  maxConnections: 1024,
  backlog: 4096,
  drainMs: 1_000,
};

export const DEFAULT_LISTEN: ListenAddressOptions = {
  ipv4: '169.254.169.254',
  ipv6: 'fe80::a9fe:a9fe',
  port: 80,
  dadWaitMs: 3_000,
  helperTimeoutMs: 15_000,
  netnsDir: '/run/netns',
  holderSocket: undefined,
};

/** Defaults filled in and checked; throws ProxyInvalidOptionsError. */
export function resolveOptions(options: MetadataProxyOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    identity: options.identity,
    nova: { ...DEFAULT_NOVA, ...definedOnly(options.nova), sharedSecret: options.nova.sharedSecret },
    rateLimit: { ...DEFAULT_RATE_LIMIT, ...definedOnly(options.rateLimit) },
    limits: { ...DEFAULT_LIMITS, ...definedOnly(options.limits) },
    listen: { ...DEFAULT_LISTEN, ...definedOnly(options.listen) },
    logger: options.logger,
    metrics: options.metrics,
    now: options.now ?? (() => performance.now()),
  };
  const { nova, rateLimit, limits, listen } = resolved;
  if (nova.protocol !== 'http' && nova.protocol !== 'https') {
    throw new ProxyInvalidOptionsError(
      'nova_metadata_protocol',
      `must be http or https, not ${String(nova.protocol)}`,
    );
  }
  checkInteger('nova_metadata_port', nova.port, 1, 65_535);
  checkInteger('listen.port', listen.port, 0, 65_535);
  const positive: [string, number][] = [
    ['nova.timeoutMs', nova.timeoutMs],
    ['nova.connectTimeoutMs', nova.connectTimeoutMs],
    ['nova.connections', nova.connections],
    ['limits.maxHeaderBytes', limits.maxHeaderBytes],
    ['limits.maxBodyBytes', limits.maxBodyBytes],
    ['limits.headersTimeoutMs', limits.headersTimeoutMs],
    ['limits.requestTimeoutMs', limits.requestTimeoutMs],
    ['limits.keepAliveTimeoutMs', limits.keepAliveTimeoutMs],
    ['limits.maxConnections', limits.maxConnections],
    ['limits.backlog', limits.backlog],
    ['listen.helperTimeoutMs', listen.helperTimeoutMs],
  ];
  for (const [name, value] of positive) checkInteger(name, value, 1, Number.MAX_SAFE_INTEGER);
  checkInteger('limits.drainMs', limits.drainMs, 0, Number.MAX_SAFE_INTEGER);
  checkInteger('listen.dadWaitMs', listen.dadWaitMs, 0, Number.MAX_SAFE_INTEGER);
  // node:http refuses a head deadline past the whole-request deadline.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new ProxyInvalidOptionsError('limits.headersTimeoutMs', 'must not exceed limits.requestTimeoutMs');
  }
  if (rateLimit.enabled) {
    if (rateLimit.ipVersions.some((v) => v !== 4 && v !== 6)) {
      throw new ProxyInvalidOptionsError(
        'ip_versions',
        `must be 4 and/or 6, not ${rateLimit.ipVersions.join(',')}`,
      );
    }
    checkInteger('base_window_duration', rateLimit.baseWindowMs, 1, Number.MAX_SAFE_INTEGER);
    checkInteger('burst_window_duration', rateLimit.burstWindowMs, 1, Number.MAX_SAFE_INTEGER);
    checkInteger('base_query_rate_limit', rateLimit.baseLimit, 0, Number.MAX_SAFE_INTEGER);
    checkInteger('burst_query_rate_limit', rateLimit.burstLimit, 0, Number.MAX_SAFE_INTEGER);
    checkInteger('rateLimit.maxEntries', rateLimit.maxEntries, 1, Number.MAX_SAFE_INTEGER);
  }
  return resolved;
}

function checkInteger(option: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ProxyInvalidOptionsError(option, `${String(value)} is not an integer in ${min}..${max}`);
  }
}

/** `{ a: undefined }` must not erase a default. */
function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  if (value === undefined) return {};
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
