/**
 * Prometheus metrics of the agent and its proxy (prom-client), on a registry
 * of our own so tests can build several agents in one process.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ReplicaSizes {
  (): Iterable<{ db: string; table: string; rows: number }>;
}

/** Answer durations handed to the histogram at once (see AgentMetrics.observeAnswer). */
const DURATION_BATCH = 1024;

export class AgentMetrics {
  readonly registry = new Registry();

  /**
   * Answers counted since `requests` was last read, by network and status.
   * A label set's increment costs prom-client a label hash, a validation and
   * an object per call (~1 % of the relay's CPU per request), a map entry's
   * next to nothing; the counts are added to `requests` whenever it is read
   * (a scrape, `get()`), so what it exports is the same.
   */
  readonly #answered = new Map<string, Map<number, number>>();

  readonly requests = new Counter({
    name: 'ovnmeta_metadata_requests_total',
    help: 'Metadata requests answered, by network and HTTP status.',
    labelNames: ['network', 'status'] as const,
    registers: [this.registry],
    collect: () => this.#addAnswered(),
  });
  /**
   * Durations of answers not yet given to `relaySeconds`: they go in
   * batches, when the batch is full or the histogram is read. Observed one
   * by one between requests, each cost ~1 µs (2-4 % of the relay's CPU per
   * request); a batch in one loop costs a tenth of that.
   */
  readonly #durations = new Float64Array(DURATION_BATCH);
  #durationCount = 0;

  readonly relaySeconds = new Histogram({
    name: 'ovnmeta_relay_duration_seconds',
    help: 'Time from a request arriving to its answer being sent, relay to nova included.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    registers: [this.registry],
    collect: () => this.#addDurations(),
  });
  readonly novaErrors = new Counter({
    name: 'ovnmeta_nova_errors_total',
    help: 'Relays to nova that failed: unreachable, timeout, other.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'ovnmeta_rate_limited_requests_total',
    help: 'Requests refused with 429 by the rate limiter, by network.',
    labelNames: ['network'] as const,
    registers: [this.registry],
  });
  readonly networksServed = new Gauge({
    name: 'ovnmeta_networks_served',
    help: 'Networks provisioned and served on this chassis.',
    registers: [this.registry],
  });
  readonly reconcileSeconds = new Histogram({
    name: 'ovnmeta_reconcile_duration_seconds',
    help: 'Duration of one network reconcile, by outcome.',
    labelNames: ['outcome'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly reconcileFailures = new Counter({
    name: 'ovnmeta_reconcile_failures_total',
    help: 'Reconciles that failed (retry: retried with backoff; terminal: waits for a change).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly ovsdbConnected = new Gauge({
    name: 'ovnmeta_ovsdb_connected',
    help: '1 when the OVSDB session is connected and synced, by database.',
    labelNames: ['db'] as const,
    registers: [this.registry],
  });
  readonly ovsdbReconnects = new Counter({
    name: 'ovnmeta_ovsdb_reconnects_total',
    help: 'OVSDB session losses, by database.',
    labelNames: ['db'] as const,
    registers: [this.registry],
  });

  /** One answer to a metadata request: `requests` gains it when next read. */
  countAnswer(network: string, status: number): void {
    let statuses = this.#answered.get(network);
    if (statuses === undefined) this.#answered.set(network, (statuses = new Map()));
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }

  /** One answer's time, from the request's arrival, in seconds: `relaySeconds` gains it when next read. */
  observeAnswer(seconds: number): void {
    this.#durations[this.#durationCount++] = seconds;
    if (this.#durationCount === DURATION_BATCH) this.#addDurations();
  }

  #addDurations(): void {
    for (let i = 0; i < this.#durationCount; i++) this.relaySeconds.observe(this.#durations[i]!);
    this.#durationCount = 0;
  }

  #addAnswered(): void {
    for (const [network, statuses] of this.#answered) {
      for (const [status, n] of statuses) this.requests.inc({ network, status: String(status) }, n);
    }
    this.#answered.clear();
  }

  constructor(replicaSizes?: ReplicaSizes, withDefaults = true) {
    if (withDefaults) collectDefaultMetrics({ register: this.registry, prefix: 'ovnmeta_' });
    if (replicaSizes) {
      new Gauge({
        name: 'ovnmeta_replica_rows',
        help: 'Rows held in the OVSDB replicas, by database and table.',
        labelNames: ['db', 'table'] as const,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const { db, table, rows } of replicaSizes()) this.set({ db, table }, rows);
        },
      });
    }
  }
}
