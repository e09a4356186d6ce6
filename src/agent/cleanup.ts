/**
 * `ovnmeta cleanup`: remove everything the agent made on this host — every
 * `ovnmeta-*` namespace, its veth and its integration bridge port, and the
 * listener holder with every socket it keeps — for
 * decommissioning or going back to neutron's agent. The agent itself never
 * does this on stop: a restart must not cut metadata.
 */
import {
  listNamespaces,
  NAMESPACE_PREFIX,
  OVS_INDEXES,
  ovsRows,
  planOvsPortRemoval,
  removePlumbing,
  vethNames,
} from '../namespace/index.js';
import { OvsdbClient, type Replica } from '../ovsdb/index.js';
import { ListenerHolder } from '../proxy/index.js';
import { OVS_MONITOR } from './ovs-local.js';

export interface CleanupReport {
  readonly namespaces: string[];
  readonly ovsPorts: string[];
}

export async function cleanupHost(ovsdbConnection: string, holderSocket: string): Promise<CleanupReport> {
  // The listening sockets first: a namespace with one open would live on.
  ListenerHolder.end(holderSocket);
  const ovs = new OvsdbClient({ remote: ovsdbConnection, database: 'Open_vSwitch', probeIntervalMs: 0 });
  ovs.monitor(OVS_MONITOR);
  const report: CleanupReport = { namespaces: [], ovsPorts: [] };
  try {
    await ovs.start();
    const replica: Replica = ovs.replica;
    for (const [table, indexes] of Object.entries(OVS_INDEXES)) {
      for (const [name, fn] of Object.entries(indexes)) replica.addIndex(table, name, fn);
    }
    const rows = ovsRows(replica);
    for (const namespace of await listNamespaces(NAMESPACE_PREFIX)) {
      const veth = vethNames(namespace.slice(NAMESPACE_PREFIX.length)).root;
      const ops = planOvsPortRemoval(veth, rows);
      if (ops.length > 0) {
        await ovs.transact(ops);
        report.ovsPorts.push(veth);
      }
      await removePlumbing(namespace, veth);
      report.namespaces.push(namespace);
    }
  } finally {
    await ovs.close();
  }
  return report;
}
