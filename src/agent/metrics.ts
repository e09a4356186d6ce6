/**
 * Prometheus metrics of the agent and its proxy (prom-client), on a registry
 * of our own so tests can build several agents in one process.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ReplicaSizes {
  (): Iterable<{ db: string; table: string; rows: number }>;
}

export class AgentMetrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'ovnmeta_metadata_requests_total',
    help: 'Metadata requests answered, by network and HTTP status.',
    labelNames: ['network', 'status'] as const,
    registers: [this.registry],
  });
  readonly relaySeconds = new Histogram({
    name: 'ovnmeta_relay_duration_seconds',
    help: 'Time from a request arriving to its answer being sent, relay to nova included.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    registers: [this.registry],
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
