/**
 * The agent's one options object and its defaults, in one place: the
 * config and logger, and what the agent talks to — the OVSDB clients (how
 * one is opened), the host (namespace plumbing, the namespaces present),
 * the metadata proxy and the clock. Tests hand in clients over the
 * in-memory OVSDB server, a recording host and proxy, and a fake clock.
 */
import type { Logger } from 'pino';
import { listNamespaces, NAMESPACE_PREFIX } from '../namespace/index.js';
import { SYSTEM_CLOCK, type Clock } from '../ovsdb/index.js';
import { createMetadataProxy, type IdentityIndex, type MetadataProxy } from '../proxy/index.js';
import type { AgentConfig } from './config/index.js';
import { createHostPlumbing } from './host.js';
import type { AgentMetrics } from './metrics.js';
import { proxyOptions } from './proxy-options.js';
import type { HostPlumbing } from './reconciler.js';
import { openOvsdbClient, type OpenClient } from './sb-session.js';

/** The host side the agent changes and reads (src/namespace by default). */
export interface AgentHost {
  readonly plumbing: HostPlumbing;
  /** Network ids with an ovnmeta- namespace on this host. */
  networksWithNamespace(): Promise<string[]>;
}

/** What the agent uses of the metadata proxy. */
export type AgentProxy = Pick<
  MetadataProxy,
  'ensureListener' | 'removeListener' | 'listenerCount' | 'listenUnixSocket' | 'close'
>;

export interface AgentOptions {
  readonly config: AgentConfig;
  readonly logger: Logger;
  /** Override the admin endpoint (tests use port 0); null disables it. */
  readonly admin?: { host: string; port: number } | null;
  /** Opens the Open_vSwitch and Southbound clients (default: a real OvsdbClient). */
  readonly openClient?: OpenClient;
  /** Namespace plumbing and the namespaces present (default: src/namespace on this host). */
  readonly host?: AgentHost;
  /** Creates the metadata proxy over the identity index (default: src/proxy with the config's options). */
  readonly proxy?: (identity: IdentityIndex, metrics: AgentMetrics) => Promise<AgentProxy>;
  /**
   * Time and timers (default: the system clock): the OVSDB clients', the
   * periodic resync, the heartbeat and the work queue's backoff.
   */
  readonly clock?: Clock;
}

export type AgentDeps = Required<Omit<AgentOptions, 'admin'>> & {
  readonly admin: { host: string; port: number } | null;
};

export function agentDeps(o: AgentOptions): AgentDeps {
  return {
    config: o.config,
    logger: o.logger,
    admin: o.admin === undefined ? o.config.ovnmeta.metrics_bind : o.admin,
    openClient: o.openClient ?? openOvsdbClient,
    host: o.host ?? {
      plumbing: createHostPlumbing(),
      networksWithNamespace: async () =>
        (await listNamespaces(NAMESPACE_PREFIX)).map((ns) => ns.slice(NAMESPACE_PREFIX.length)),
    },
    proxy:
      o.proxy ??
      ((identity, metrics) => createMetadataProxy(proxyOptions(o.config, identity, o.logger, metrics))),
    clock: o.clock ?? SYSTEM_CLOCK,
  };
}
