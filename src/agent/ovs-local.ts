/**
 * The local Open_vSwitch database: who this chassis is (system-id, the
 * integration bridge and its datapath type, ovn-remote), as ovn-controller
 * was told (neutron-compat.md "Where the agent learns who it is"). Reads of
 * replica rows; waitForSystemId also waits for the next change.
 */
import type { SbRow } from './sb-rows.js';

export const OVS_MONITOR = {
  Open_vSwitch: { columns: ['external_ids', 'bridges'] },
  Bridge: { columns: ['name', 'ports', 'datapath_type'] },
  Port: { columns: ['name', 'interfaces'] },
  Interface: { columns: ['name', 'external_ids'] },
} as const;

export interface LocalChassis {
  /** external_ids:system-id; undefined until ovn-controller is set up. */
  readonly systemId: string | undefined;
  /** external_ids:ovn-bridge, default br-int. */
  readonly bridge: string;
  /** external_ids:ovn-remote: the SB address ovn-controller uses. */
  readonly ovnRemote: string | undefined;
  /** Bridge.datapath_type of the integration bridge ('' = system). */
  readonly datapathType: string | undefined;
}

export interface TableReader {
  table(name: string): ReadonlyMap<string, SbRow>;
}

function ids(row: SbRow | undefined): ReadonlyMap<unknown, unknown> {
  return row?.external_ids instanceof Map ? row.external_ids : new Map();
}

const nonEmpty = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

export function localChassis(replica: TableReader): LocalChassis {
  const root = replica.table('Open_vSwitch').values().next().value as SbRow | undefined;
  const ext = ids(root);
  const bridge = nonEmpty(ext.get('ovn-bridge')) ?? 'br-int';
  let datapathType: string | undefined;
  for (const row of replica.table('Bridge').values()) {
    if (row.name === bridge) datapathType = typeof row.datapath_type === 'string' ? row.datapath_type : '';
  }
  return {
    systemId: nonEmpty(ext.get('system-id')),
    bridge,
    ovnRemote: nonEmpty(ext.get('ovn-remote')),
    datapathType,
  };
}

/**
 * neutron: a `netdev` (userspace, DPDK) datapath leaves TCP checksums
 * unfilled. So does any other userspace type (`dummy`, used in tests); only
 * the kernel datapath (`system`, or empty) fills them.
 */
export function needsChecksumFill(c: LocalChassis): boolean {
  return c.datapathType !== undefined && c.datapathType !== '' && c.datapathType !== 'system';
}

/**
 * Resolves with the local chassis once external_ids:system-id is set
 * (ovn-controller sets it up); `onWaiting` is called once if it is not yet.
 */
export async function waitForSystemId(
  replica: TableReader & { once(event: 'change', listener: () => void): unknown },
  onWaiting: () => void,
): Promise<LocalChassis & { systemId: string }> {
  let said = false;
  for (;;) {
    const local = localChassis(replica);
    if (local.systemId !== undefined) return local as LocalChassis & { systemId: string };
    if (!said) {
      onWaiting();
      said = true;
    }
    await new Promise<void>((resolve) => replica.once('change', () => resolve()));
  }
}
