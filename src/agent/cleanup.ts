/**
 * `ovnmeta cleanup`: remove everything the agent made on this host — every
 * `ovnmeta-*` namespace, its veth and its integration bridge port — for
 * decommissioning or going back to neutron's agent. The agent itself never
 * does this on stop: a restart must not cut metadata.
 */
import {
  listNamespaces,
  NAMESPACE_PREFIX,
  planOvsPortRemoval,
  removePlumbing,
  vethNames,
} from '../namespace/index.js';
import { OvsdbClient, type Replica } from '../ovsdb/index.js';
import { asWire, PORT_BY_NAME } from './host.js';
import { OVS_MONITOR } from './ovs-local.js';

export interface CleanupReport {
  readonly namespaces: string[];
  readonly ovsPorts: string[];
}

export async function cleanupHost(ovsdbConnection: string): Promise<CleanupReport> {
  const ovs = new OvsdbClient({ remote: ovsdbConnection, database: 'Open_vSwitch', probeIntervalMs: 0 });
  ovs.monitor(OVS_MONITOR);
  const report: CleanupReport = { namespaces: [], ovsPorts: [] };
  try {
    await ovs.start();
    const replica: Replica = ovs.replica;
    replica.addIndex('Port', PORT_BY_NAME, (row) => (typeof row.name === 'string' ? row.name : undefined));
    const rows = {
      Bridge: replica.table('Bridge'),
      Port: replica.table('Port'),
      Interface: replica.table('Interface'),
    };
    for (const namespace of await listNamespaces(NAMESPACE_PREFIX)) {
      const veth = vethNames(namespace.slice(NAMESPACE_PREFIX.length)).root;
      const ops = planOvsPortRemoval(veth, rows);
      if (ops.length > 0) {
        await ovs.transact(asWire(ops));
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
