// createMetadataProxy: the proxy as the agent sees it. The agent says which
// networks to serve (ensureListener / removeListener); the proxy owns their
// listening sockets, the HTTP server and the connection pool to nova.
//
// The listening sockets belong to the listener holder (listener-holder.ts),
// a small process that outlives this one: this process serves duplicates of
// their descriptors, so a restart (SIGTERM, kill -9, a new version) leaves
// VMs' connections waiting in the backlog for the next agent.
//
// Per network: one context (network id, rate limiter) built once, and one
// listening socket per address (169.254.169.254:80, and [fe80::a9fe:a9fe]:80
// on the inside veth when the network has IPv6 ports). Calls for one network
// are serialised; different networks proceed in parallel and a failure in one
// (e.g. a leftover haproxy holding port 80 there) leaves the others alone.

import { closeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ProxyClosedError } from './errors.js';
import { ListenerHolder } from './holder-client.js';
import { formatHostPort } from '../common/address.js';
import { openSockets, socketKey, type ListenSpec } from './listener.js';
import { resolveOptions, type MetadataProxyOptions, type ResolvedOptions } from './options.js';
import { RateLimiter } from './rate-limiter.js';
import { NovaRelay } from './relay.js';
import { createMetadataApp, type ListenerContext, type ListenerServer, type MetadataApp } from './server.js';
import { listenUnix, socketModeBits, type SocketOwner, type UnixSocketMode } from './unix-socket.js';

export interface ListenerSpec {
  readonly network: string;
  /** Namespace to listen in (ovnmeta-<network>); undefined: this process's own. */
  readonly namespace: string | undefined;
  /** Inside veth: when set, also listen on [fe80::a9fe:a9fe%dev]:80. */
  readonly ipv6Device?: string | undefined;
}

export interface ListenerInfo {
  readonly network: string;
  readonly namespace: string | undefined;
  readonly ipv6Device: string | undefined;
  /** Bound addresses, `host:port` / `[host%dev]:port`. */
  readonly addresses: readonly string[];
}

export type EnsureResult = 'unchanged' | 'created' | 'updated';

export interface MetadataProxy {
  ensureListener(spec: ListenerSpec): Promise<EnsureResult>;
  removeListener(network: string): Promise<'removed' | 'unchanged'>;
  listeners(): ListenerInfo[];
  /** How many networks have a listener (O(1), unlike listeners().length). */
  listenerCount(): number;
  listenUnixSocket(path: string, mode?: UnixSocketMode, owner?: SocketOwner): Promise<void>;
  close(): Promise<void>;
}

interface BoundSocket {
  readonly spec: ListenSpec;
  readonly server: ListenerServer;
  readonly port: number;
}

interface NetworkListener {
  readonly namespace: string | undefined;
  ipv6Device: string | undefined;
  readonly context: ListenerContext;
  /** Keyed by `host` as requested (with %dev for IPv6). */
  readonly sockets: Map<string, BoundSocket>;
}

export async function createMetadataProxy(options: MetadataProxyOptions): Promise<MetadataProxy> {
  const resolved = resolveOptions(options);
  const { holderSocket, helperTimeoutMs } = resolved.listen;
  const holder = await ListenerHolder.connect(
    holderSocket ?? join(tmpdir(), `ovnmeta-holder-${process.pid}-${randomBytes(4).toString('hex')}.sock`),
    helperTimeoutMs,
  );
  try {
    const relay = await NovaRelay.create(resolved.nova);
    const app = await createMetadataApp({
      identity: resolved.identity,
      relay,
      limits: resolved.limits,
      logger: resolved.logger,
      metrics: resolved.metrics,
    });
    return new MetadataProxyServer(resolved, holder, relay, app);
  } catch (err) {
    // A private holder started for this proxy must not outlive its failure
    // (e.g. an unreadable auth_ca_cert); a shared one stays for the next.
    if (holderSocket === undefined) holder.exit();
    throw err;
  }
}

class MetadataProxyServer implements MetadataProxy {
  readonly #listeners = new Map<string, NetworkListener>();
  /** Tail of each network's chain of ensure/remove calls. */
  readonly #busy = new Map<string, Promise<unknown>>();
  readonly #unix: ListenerServer[] = [];
  #closed = false;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly holder: ListenerHolder,
    private readonly relay: NovaRelay,
    private readonly web: MetadataApp,
  ) {}

  ensureListener(spec: ListenerSpec): Promise<EnsureResult> {
    return this.#serialise(spec.network, () => this.#ensure(spec));
  }

  removeListener(network: string): Promise<'removed' | 'unchanged'> {
    return this.#serialise(network, () => this.#remove(network));
  }

  listeners(): ListenerInfo[] {
    return [...this.#listeners].map(([network, listener]) => ({
      network,
      namespace: listener.namespace,
      ipv6Device: listener.ipv6Device,
      addresses: [...listener.sockets.values()].map((s) => formatHostPort(s.spec.host, s.port)),
    }));
  }

  listenerCount(): number {
    return this.#listeners.size;
  }

  async listenUnixSocket(path: string, mode: UnixSocketMode = 'deduce', owner?: SocketOwner): Promise<void> {
    if (this.#closed) throw new ProxyClosedError(`listen on ${path}`);
    const bits = socketModeBits(mode, owner);
    const server = this.web.createListenerServer({ kind: 'unix' });
    await listenUnix(server, path, bits, this.options.limits.backlog);
    this.#unix.push(server);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#busy.values()]);
    // Our copies of the sockets close; the holder keeps its own, and their
    // backlog fills until the next proxy takes them (a private holder ends).
    const keep = this.options.listen.holderSocket !== undefined;
    await Promise.all([...this.#listeners.keys()].map((network) => this.#remove(network, keep)));
    if (!keep) this.holder.exit();
    await Promise.all(this.#unix.splice(0).map((server) => closeServer(server, this.options.limits)));
    await this.web.close();
    await this.relay.close();
  }

  async #ensure(spec: ListenerSpec): Promise<EnsureResult> {
    if (this.#closed) throw new ProxyClosedError(`listen for network ${spec.network}`);
    const { listen, limits } = this.options;
    const wanted: ListenSpec[] = [{ host: listen.ipv4, port: listen.port, backlog: limits.backlog }];
    if (spec.ipv6Device) {
      wanted.push({ host: `${listen.ipv6}%${spec.ipv6Device}`, port: listen.port, backlog: limits.backlog });
    }

    let listener = this.#listeners.get(spec.network);
    let result: EnsureResult = 'updated';
    if (listener !== undefined && listener.namespace !== spec.namespace) {
      await this.#remove(spec.network);
      listener = undefined;
    } else if (listener === undefined) {
      result = 'created';
    }
    const missing = wanted.filter((w) => listener?.sockets.has(w.host) !== true);
    const extra =
      listener === undefined
        ? []
        : [...listener.sockets.keys()].filter((h) => !wanted.some((w) => w.host === h));
    if (listener !== undefined && missing.length === 0 && extra.length === 0) return 'unchanged';

    // Open first: on failure the network keeps what it had (after a
    // namespace change that is nothing: the old sockets are gone already).
    const opened =
      missing.length === 0
        ? []
        : await openSockets(
            this.holder,
            {
              network: spec.network,
              namespace: spec.namespace,
              netnsDir: listen.netnsDir,
              listen: missing,
              dadWaitMs: listen.dadWaitMs,
            },
            closeSync,
          );
    if (listener === undefined) {
      listener = {
        namespace: spec.namespace,
        ipv6Device: spec.ipv6Device,
        context: this.#context(spec.network),
        sockets: new Map(),
      };
      this.#listeners.set(spec.network, listener);
    }
    listener.ipv6Device = spec.ipv6Device;
    let adopted = 0;
    for (const socket of opened) {
      const server = this.web.createListenerServer(listener.context);
      // listen(2) again with our backlog: node's default (511) would
      // replace metadata_backlog on the shared socket.
      server.listen({ fd: socket.fd }, socket.spec.backlog);
      listener.sockets.set(socket.spec.host, { spec: socket.spec, server, port: socket.port });
      if (socket.adopted) adopted += 1;
    }
    for (const host of extra) {
      const bound = listener.sockets.get(host)!;
      listener.sockets.delete(host);
      await this.#closeSocket(spec.network, bound, false);
    }
    this.options.logger?.info(
      {
        network: spec.network,
        namespace: spec.namespace,
        addresses: [...listener.sockets.values()].map((s) => formatHostPort(s.spec.host, s.port)),
        result,
        adopted,
      },
      'metadata listener ready',
    );
    return result;
  }

  /** `keep`: the holder keeps its copy (shutdown); else the socket goes. */
  async #remove(network: string, keep = false): Promise<'removed' | 'unchanged'> {
    const listener = this.#listeners.get(network);
    if (listener === undefined) return 'unchanged';
    this.#listeners.delete(network);
    await Promise.all([...listener.sockets.values()].map((s) => this.#closeSocket(network, s, keep)));
    if (!keep)
      this.options.logger?.info({ network, namespace: listener.namespace }, 'metadata listener removed');
    return 'removed';
  }

  async #closeSocket(network: string, bound: BoundSocket, keep: boolean): Promise<void> {
    // The holder's copy first: once ours closes too, nothing listens.
    if (!keep) this.holder.drop(socketKey(network, bound.spec));
    await closeServer(bound.server, this.options.limits);
  }

  #context(network: string): ListenerContext {
    const { rateLimit, now } = this.options;
    const limiter = rateLimit.enabled
      ? new RateLimiter({
          base: { windowMs: rateLimit.baseWindowMs, limit: rateLimit.baseLimit },
          burst: { windowMs: rateLimit.burstWindowMs, limit: rateLimit.burstLimit },
          maxEntries: rateLimit.maxEntries,
          now,
        })
      : undefined;
    return {
      kind: 'netns',
      network,
      limiter,
      limitIpv4: rateLimit.ipVersions.includes(4),
      limitIpv6: rateLimit.ipVersions.includes(6),
    };
  }

  #serialise<T>(network: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#busy.get(network) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.catch(() => undefined);
    this.#busy.set(network, tail);
    void tail.then(() => {
      if (this.#busy.get(network) === tail) this.#busy.delete(network);
    });
    return run;
  }
}

/**
 * Stops accepting at once (the port is free again when this resolves), lets
 * requests in flight finish for up to `drainMs`, then cuts what is left.
 */
async function closeServer(server: ListenerServer, limits: { drainMs: number }): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const cut = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, limits.drainMs);
  });
  await Promise.race([closed, cut]);
  clearTimeout(timer);
}
