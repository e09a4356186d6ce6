/**
 * Adapters from the reconciler's verbs to src/namespace (the kernel side)
 * and to the local OVS database (the integration bridge port), where OVS
 * ports are written with our own OVSDB transactions, not ovs-vsctl.
 */
import {
  ensurePlumbing,
  planOvsPort,
  planOvsPortRemoval,
  removePlumbing,
  type NamespaceEnv,
  type OvsPortOperation,
  type OvsRows,
} from '../namespace/index.js';
import type { OvsdbClient, WireOperation } from '../ovsdb/index.js';
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

export const PORT_BY_NAME = 'by-name';

function ovsRows(client: OvsdbClient): OvsRows {
  const replica = client.replica;
  return {
    Bridge: replica.table('Bridge'),
    Port: replica.table('Port'),
    Interface: replica.table('Interface'),
    portByName: (name) => replica.byIndex('Port', PORT_BY_NAME, name).values().next().value,
  };
}

/**
 * src/namespace builds its OVS operations as plain RFC 7047 JSON without
 * depending on src/ovsdb's wire types; they are wire operations by design.
 */
export function asWire(ops: readonly OvsPortOperation[]): readonly WireOperation[] {
  return ops as unknown as readonly WireOperation[];
}

export function createOvsPorts(client: OvsdbClient, bridge: () => string): OvsPorts {
  const run = async (ops: readonly OvsPortOperation[], made: Change): Promise<Change> => {
    if (ops.length === 0) return 'unchanged';
    await client.transact(asWire(ops));
    return made;
  };
  return {
    ensure: (port, ifaceId) =>
      run(planOvsPort({ bridge: bridge(), port, ifaceId }, ovsRows(client)), 'updated'),
    remove: (port) => run(planOvsPortRemoval(port, ovsRows(client)), 'removed'),
  };
}
