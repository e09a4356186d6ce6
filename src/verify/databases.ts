// One-shot replicas of the two databases verify reads, made the way the
// agent makes them: the local OVS db whole (it is small), and the SB with
// the agent's own monitor conditions (sb-monitor.ts), so that on a
// cloud-sized SB this chassis loads only its rows. The conditions are
// widened until they stop changing: the Chassis row names our uuid, local
// ports name their datapaths, datapaths name the networks, networks bring
// their metadata ports (each monitor_cond_change reply follows the rows it
// selects, ovsdb-server(7) §4.1.13).
import { sameClauses, sbConditions, sbMonitorSpec, type SbInterest } from '../agent/sb-monitor.js';
import { SbView, sbIndexes } from '../agent/sb-view.js';
import { OvsdbClient, type ConditionsUpdate, type OvsdbClientOptions } from '../ovsdb/index.js';
import { VerifyDatabaseError } from './errors.js';
import { VERIFY_OVS_MONITOR } from './ovs-observe.js';

/** Starts `client` and resolves at its first synced replica, or closes it and throws. */
async function startWithin(client: OvsdbClient, remote: string, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let last: string | undefined;
  client.on('status', (s) => {
    if (s.type === 'disconnected' && s.error) last = s.error.message;
  });
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new VerifyDatabaseError(
          client.database,
          remote,
          `no synced replica within ${timeoutMs} ms${last ? ` (${last})` : ''}`,
        ),
      );
    }, timeoutMs);
  });
  try {
    await Promise.race([client.start(), timeout]);
  } catch (err) {
    await client.close().catch(() => undefined);
    if (err instanceof VerifyDatabaseError) throw err;
    throw new VerifyDatabaseError(client.database, remote, (err as Error).message, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

export async function openOvs(remote: string, timeoutMs: number): Promise<OvsdbClient> {
  const client = new OvsdbClient({
    remote,
    database: 'Open_vSwitch',
    probeIntervalMs: 0,
    connectTimeoutMs: timeoutMs,
  });
  client.monitor(VERIFY_OVS_MONITOR);
  await startWithin(client, remote, timeoutMs);
  return client;
}

export interface SbSnapshot {
  readonly client: OvsdbClient;
  readonly view: SbView;
  /** Our Chassis row's uuid, when ovn-controller has registered. */
  readonly chassis: string | undefined;
  /** Networks with VM ports bound here (chassis or additional_chassis). */
  readonly localNetworks: ReadonlySet<string>;
}

export async function openSb(
  remote: string,
  ssl: OvsdbClientOptions['ssl'],
  systemId: string,
  timeoutMs: number,
): Promise<SbSnapshot> {
  const client = new OvsdbClient({
    remote,
    database: 'OVN_Southbound',
    ...(ssl ? { ssl } : {}),
    probeIntervalMs: 0,
    connectTimeoutMs: timeoutMs,
  });
  // The replica exists from the first 'connected' on: index it before the initial load.
  let indexed = false;
  client.on('status', (s) => {
    if (s.type !== 'connected' || indexed) return;
    indexed = true;
    for (const [table, indexes] of Object.entries(sbIndexes)) {
      for (const [name, fn] of Object.entries(indexes)) client.replica.addIndex(table, name, fn);
    }
  });
  const view = new SbView({
    table: (name) => client.replica.table(name),
    byIndex: (table, index, key) => client.replica.byIndex(table, index, key),
  });
  const interest = (chassis: string | undefined, additionalChassis: boolean): SbInterest => {
    const local = view.scanLocalNetworks(chassis);
    return { systemId, chassis, datapaths: local.datapaths, networks: local.networks, additionalChassis };
  };
  client.monitor(
    sbMonitorSpec({ systemId, chassis: undefined, datapaths: [], networks: [], additionalChassis: false }),
  );
  await startWithin(client, remote, timeoutMs);
  try {
    const additional = client.schema.tables.get('Port_Binding')?.columns.has('additional_chassis') ?? false;
    let have = sbConditions(interest(undefined, additional));
    // Each round adds one link of chassis -> ports -> datapaths -> metadata ports.
    for (let round = 0; round < 8; round++) {
      const want = sbConditions(interest(view.chassisUuid(systemId), additional));
      if (
        sameClauses(want.Port_Binding, have.Port_Binding) &&
        sameClauses(want.Datapath_Binding, have.Datapath_Binding)
      )
        break;
      await client.setConditions(want as ConditionsUpdate);
      have = want;
    }
  } catch (err) {
    await client.close().catch(() => undefined);
    throw new VerifyDatabaseError(
      'OVN_Southbound',
      remote,
      `monitor_cond_change failed: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const chassis = view.chassisUuid(systemId);
  return { client, view, chassis, localNetworks: view.scanLocalNetworks(chassis).networks };
}
