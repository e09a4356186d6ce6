/**
 * Adapters from the reconciler's verbs to src/namespace (the kernel side)
 * and to the local OVS database (the integration bridge port), where OVS
 * ports are written with our own OVSDB transactions, not ovs-vsctl.
 */
import {
  ensurePlumbing,
  ovsRows,
  planOvsPort,
  planOvsPortRemoval,
  removePlumbing,
  type NamespaceEnv,
  type OvsPortOperation,
} from '../namespace/index.js';
import type { OvsdbClient } from '../ovsdb/index.js';
import type { Change, HostPlumbing, OvsPorts } from './reconciler.js';

export function createHostPlumbing(env?: Partial<NamespaceEnv>): HostPlumbing {
  return {
    ensure: (net, checksumFill) =>
      ensurePlumbing(
        {
          namespace: net.namespace,
          vethRoot: net.vethRoot,
          vethInside: net.vethInside,
          mac: net.mac,
          ...(net.mtu !== undefined ? { mtu: net.mtu } : {}),
          addresses: net.addresses,
          checksumFill,
        },
        env,
      ),
    remove: (namespace, vethRoot) => removePlumbing(namespace, vethRoot, env),
  };
}

export function createOvsPorts(client: OvsdbClient, bridge: () => string): OvsPorts {
  const run = async (ops: readonly OvsPortOperation[], made: Change): Promise<Change> => {
    if (ops.length === 0) return 'unchanged';
    await client.transact(ops);
    return made;
  };
  return {
    ensure: (port, ifaceId) =>
      run(planOvsPort({ bridge: bridge(), port, ifaceId }, ovsRows(client.replica)), 'updated'),
    remove: (port) => run(planOvsPortRemoval(port, ovsRows(client.replica)), 'removed'),
  };
}
