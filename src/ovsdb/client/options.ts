// OvsdbClient options, their defaults (in one place) and the small
// interfaces the client depends on: logger, clock, transport factory.
import type { WireCondition } from '../wire/index.js';
import { connectTransport, type SslOptions, type TransportFactory } from '../transport.js';

/** What to monitor in one table (RFC 7047 §4.1.5 <monitor-request> + ovsdb-server(7) `where`). */
export interface TableMonitorSpec {
  /** Columns to watch; omitted = all. Columns the server's schema lacks are dropped. */
  readonly columns?: readonly string[];
  /** Rows to watch (monitor_cond, ovsdb-server(7) §4.1.12); omitted = all rows. */
  readonly where?: readonly WireCondition[];
}

/** Table name -> what to monitor in it. */
export type MonitorSpec = Readonly<Record<string, TableMonitorSpec>>;

/** Table name -> new conditions, for `setConditions` (monitor_cond_change). */
export type ConditionsUpdate = Readonly<Record<string, readonly WireCondition[]>>;

/** A pino-compatible logger: the subset the client calls. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Time source and timers; tests pass fake ones (or use vitest fake timers). */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface OvsdbClientOptions {
  /** `tcp:h:p`, `ssl:h:p`, `unix:/path`, `tcp:[v6]:p`; a comma list names cluster members. */
  readonly remote: string;
  readonly database: string;
  /** Key, certificate and CA files for ssl: remotes. */
  readonly ssl?: SslOptions;
  /** Send an echo after this long without input, drop after twice as long; 0 disables. */
  readonly probeIntervalMs?: number;
  /** Upper bound of the reconnect backoff. */
  readonly maxBackoffMs?: number;
  /** Accept only the Raft leader of a clustered database. */
  readonly leaderOnly?: boolean;
  /** Give up a connection attempt after this long. */
  readonly connectTimeoutMs?: number;
  /** Largest accepted message (bytes). */
  readonly maxFrameBytes?: number;
  /** A transaction unanswered this long fails with OVSDB_TRANSACT_TIMEOUT; 0 waits for ever. */
  readonly transactTimeoutMs?: number;
  readonly logger?: Logger;
  /** Tests: an in-memory transport. */
  readonly transport?: TransportFactory;
  readonly clock?: Clock;
  /** Tests: deterministic shuffling and jitter, in [0, 1). */
  readonly random?: () => number;
}

export type ResolvedOptions = Required<Omit<OvsdbClientOptions, 'ssl'>> & {
  readonly ssl: SslOptions | undefined;
};

export const DEFAULTS = {
  probeIntervalMs: 60_000,
  maxBackoffMs: 180_000,
  leaderOnly: false,
  connectTimeoutMs: 10_000,
  maxFrameBytes: 512 * 1024 * 1024,
  transactTimeoutMs: 0,
} as const;

const noop = (): void => {};
export const SILENT_LOGGER: Logger = { debug: noop, info: noop, warn: noop, error: noop };

export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export function resolveOptions(o: OvsdbClientOptions): ResolvedOptions {
  return {
    remote: o.remote,
    database: o.database,
    ssl: o.ssl,
    probeIntervalMs: o.probeIntervalMs ?? DEFAULTS.probeIntervalMs,
    maxBackoffMs: o.maxBackoffMs ?? DEFAULTS.maxBackoffMs,
    leaderOnly: o.leaderOnly ?? DEFAULTS.leaderOnly,
    connectTimeoutMs: o.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
    maxFrameBytes: o.maxFrameBytes ?? DEFAULTS.maxFrameBytes,
    transactTimeoutMs: o.transactTimeoutMs ?? DEFAULTS.transactTimeoutMs,
    logger: o.logger ?? SILENT_LOGGER,
    transport: o.transport ?? connectTransport,
    clock: o.clock ?? SYSTEM_CLOCK,
    random: o.random ?? Math.random,
  };
}
