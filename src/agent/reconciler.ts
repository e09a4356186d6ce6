/**
 * Reconciles one network (controller-runtime's Reconciler): reread the SB
 * view and the host, compute the desired state, and make the host match,
 * every time from scratch (level-triggered), each step idempotent and
 * reporting whether it changed anything. Serve: plumbing, then the OVS port
 * (ovn-controller binds the localport), then the listener. Tear down: the
 * reverse. Errors propagate to the work queue, which retries with backoff.
 */
import { namespaceName, vethNames } from '../namespace/index.js';
import { desiredNetwork, type DesiredNetwork, type NetworkIntent } from './desired.js';
import type { SbView } from './sb-view.js';

export type Change = 'unchanged' | 'created' | 'updated' | 'removed';

/** The host side of one network (src/namespace). */
export interface HostPlumbing {
  ensure(network: DesiredNetwork, checksumFill: boolean): Promise<Change>;
  remove(namespace: string, vethRoot: string): Promise<Change>;
}

/** The integration bridge port (OVS database). */
export interface OvsPorts {
  ensure(port: string, ifaceId: string): Promise<Change>;
  remove(port: string): Promise<Change>;
}

/** The per-network metadata listeners (src/proxy). */
export interface Listeners {
  ensure(network: DesiredNetwork): Promise<Change>;
  remove(networkId: string): Promise<Change>;
}

export interface ReconcilerDeps {
  readonly view: SbView;
  readonly chassis: () => string | undefined;
  /**
   * Whether the SB monitor already selects this network's metadata port.
   * Until it does, a network with local ports but no metadata port in the
   * replica is pending (the condition change enqueues it again), not broken.
   */
  readonly monitored: (networkId: string) => boolean;
  /** netdev (userspace) integration bridge: TCP checksums must be filled. */
  readonly checksumFill: () => boolean;
  readonly host: HostPlumbing;
  readonly ovs: OvsPorts;
  readonly listeners: Listeners;
  readonly log: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    debug(obj: object, msg: string): void;
  };
}

export interface ReconcileReport {
  readonly networkId: string;
  readonly intent: NetworkIntent['kind'] | 'pending';
  readonly change: Change;
}

function merge(changes: readonly Change[]): Change {
  if (changes.every((c) => c === 'unchanged')) return 'unchanged';
  if (changes.includes('created')) return 'created';
  if (changes.includes('removed') && !changes.includes('updated')) return 'removed';
  return 'updated';
}

export class Reconciler {
  readonly #deps: ReconcilerDeps;
  /** Last unservable reason logged per network, so it is said once. */
  readonly #said = new Map<string, string>();

  constructor(deps: ReconcilerDeps) {
    this.#deps = deps;
  }

  desired(networkId: string): NetworkIntent {
    return desiredNetwork(this.#deps.view.inputs(networkId, this.#deps.chassis()));
  }

  async reconcile(networkId: string): Promise<ReconcileReport> {
    const { host, ovs, listeners, log } = this.#deps;
    const intent = this.desired(networkId);
    if (intent.kind === 'serve') {
      this.#said.delete(networkId);
      for (const w of intent.warnings) log.warn({ network: networkId }, w);
      const net = intent.network;
      const steps = {
        host: await host.ensure(net, this.#deps.checksumFill()),
        ovsPort: await ovs.ensure(net.vethRoot, net.metadataPort),
        listener: await listeners.ensure(net),
      };
      const change = merge(Object.values(steps));
      if (change !== 'unchanged') {
        log.info({ network: networkId, change, steps, addresses: net.addresses }, 'network provisioned');
      }
      return { networkId, intent: intent.kind, change };
    }

    if (intent.kind === 'unservable' && !this.#deps.monitored(networkId)) {
      return { networkId, intent: 'pending', change: 'unchanged' };
    }
    if (intent.kind === 'unservable' && this.#said.get(networkId) !== intent.reason) {
      this.#said.set(networkId, intent.reason);
      log.warn(
        { network: networkId, reason: intent.reason },
        'network has local VM ports but cannot be served',
      );
    }
    // Tear down in reverse order; each step is a no-op when already gone.
    const { namespace, vethRoot } = namesOf(networkId);
    const change = merge([
      await listeners.remove(networkId),
      await ovs.remove(vethRoot),
      await host.remove(namespace, vethRoot),
    ]);
    if (change !== 'unchanged') log.info({ network: networkId, reason: intent.kind }, 'network torn down');
    return { networkId, intent: intent.kind, change: change === 'unchanged' ? 'unchanged' : 'removed' };
  }
}

function namesOf(networkId: string): { namespace: string; vethRoot: string } {
  return { namespace: namespaceName(networkId), vethRoot: vethNames(networkId).root };
}
