/**
 * neutron's options (AgentConfig) -> the proxy's options. One place, so the
 * proxy stays free of the ini vocabulary.
 */
import type { Logger } from 'pino';
import type { IdentitySource, MetadataProxyOptions } from '../proxy/index.js';
import { optionSource, type AgentConfig } from './config/index.js';
import type { AgentMetrics } from './metrics.js';

const orUndefined = (s: string) => (s === '' ? undefined : s);

export function proxyOptions(
  config: AgentConfig,
  identity: IdentitySource,
  logger: Logger,
  metrics?: AgentMetrics,
): MetadataProxyOptions {
  const d = config.DEFAULT;
  const rl = config.metadata_rate_limiting;
  const haproxy = config.metadata_haproxy;
  return {
    identity,
    logger: logger.child({ component: 'proxy' }),
    nova: {
      host: d.nova_metadata_host,
      port: d.nova_metadata_port,
      protocol: d.nova_metadata_protocol,
      insecure: d.nova_metadata_insecure,
      caCert: orUndefined(d.auth_ca_cert),
      clientCert: orUndefined(d.nova_client_cert),
      clientKey: orUndefined(d.nova_client_priv_key),
      sharedSecret: d.metadata_proxy_shared_secret,
      timeoutMs: novaTimeoutSeconds(config) * 1000,
      connectTimeoutMs: haproxy.timeout_connect * 1000,
    },
    rateLimit: {
      enabled: rl.rate_limit_enabled,
      ipVersions: [...rl.ip_versions],
      baseWindowMs: rl.base_window_duration * 1000,
      baseLimit: rl.base_query_rate_limit,
      burstWindowMs: rl.burst_window_duration * 1000,
      burstLimit: rl.burst_query_rate_limit,
    },
    limits: {
      backlog: d.metadata_backlog,
      // haproxy's `timeout http-request` bounds the head and the whole request.
      headersTimeoutMs: haproxy.timeout_http_request * 1000,
      requestTimeoutMs: haproxy.timeout_http_request * 1000,
      keepAliveTimeoutMs: haproxy.timeout_http_keep_alive * 1000,
    },
    listen: { holderSocket: config.ovnmeta.listener_holder_socket },
    ...(metrics ? { metrics: metricsHooks(metrics) } : {}),
  };
}

/**
 * How long nova may stay silent: [ovnmeta] nova_metadata_timeout when an
 * operator set it, else neutron master's [metadata_haproxy] timeout_server.
 */
export function novaTimeoutSeconds(config: AgentConfig): number {
  return optionSource(config, 'ovnmeta', 'nova_metadata_timeout').kind === 'default'
    ? config.metadata_haproxy.timeout_server
    : config.ovnmeta.nova_metadata_timeout;
}

/** The proxy reports through hooks; the agent owns the Prometheus registry. */
export function metricsHooks(metrics: AgentMetrics) {
  return {
    request(network: string, status: number, seconds: number) {
      metrics.countAnswer(network, status);
      metrics.observeAnswer(seconds);
      if (status === 429) metrics.rateLimited.inc({ network });
    },
    novaError(kind: string) {
      metrics.novaErrors.inc({ kind });
    },
  };
}
