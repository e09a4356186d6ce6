// One-shot replicas of the two databases verify reads: the local OVS db
// whole (it is small), and the SB through the agent's own session
// (src/agent sb-session.ts: the same remote and SSL choice, indexes, view
// and monitor conditions, settled), so that on a cloud-sized SB this
// chassis loads only its rows.
import { SbSession, type SbView } from '../agent/index.js';
import { OvsdbClient, type SslOptions } from '../ovsdb/index.js';
import { VerifyDatabaseError } from './errors.js';
import { VERIFY_OVS_MONITOR } from './ovs-observe.js';

/** Runs `start` (resolving at `client`'s first synced replica), or closes the client and throws. */
async function startWithin(
  client: OvsdbClient,
  remote: string,
  timeoutMs: number,
  start: () => Promise<void> = () => client.start(),
): Promise<void> {
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
    await Promise.race([start(), timeout]);
  } catch (err) {
    await client.close().catch(() => undefined);
    if (err instanceof VerifyDatabaseError) throw err;
    throw new VerifyDatabaseError(client.database, remote, (err as Error).message, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

export async function openOvs(
  remote: string,
  ssl: SslOptions | undefined,
  timeoutMs: number,
): Promise<OvsdbClient> {
  const client = new OvsdbClient({
    remote,
    database: 'Open_vSwitch',
    ...(ssl ? { ssl } : {}),
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
  ssl: SslOptions | undefined,
  systemId: string,
  timeoutMs: number,
): Promise<SbSnapshot> {
  const session = new SbSession({
    remote,
    ssl,
    systemId,
    client: { probeIntervalMs: 0, connectTimeoutMs: timeoutMs },
  });
  await startWithin(session.client, remote, timeoutMs, () => session.start());
  try {
    await session.settle();
  } catch (err) {
    await session.close().catch(() => undefined);
    throw new VerifyDatabaseError(
      'OVN_Southbound',
      remote,
      `monitor_cond_change failed: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return {
    client: session.client,
    view: session.view,
    chassis: session.chassis,
    localNetworks: session.scanLocalNetworks().networks,
  };
}
