/**
 * What the agent monitors in the Southbound, with conditions so that an SB
 * holding the whole cloud costs this chassis only its own rows
 * (ovsdb-server(7) monitor_cond: a table's clauses are OR-ed):
 *  - Chassis and Chassis_Private: name == system-id;
 *  - SB_Global: its one row (nb_cfg, for the heartbeat);
 *  - Port_Binding: chassis == ours, additional_chassis includes ours, and
 *    for each served network its metadata localport, selected by
 *    external_ids includes {neutron:device_id: ovnmeta-<network>};
 *  - Datapath_Binding: _uuid == each datapath with local ports.
 * The last two widen and narrow (monitor_cond_change) as ports come and go:
 * a local port brings its datapath, the datapath names the network, the
 * network brings its metadata port. Pure.
 */
import type { WireCondition } from '../ovsdb/index.js';
import { DEVICE_ID, METADATA_DEVICE_ID_PREFIX } from './sb-rows.js';

export type Clause = WireCondition;

export interface TableMonitor {
  readonly columns: readonly string[];
  readonly where?: Clause[];
}

export const SB_COLUMNS = {
  Chassis: ['name'],
  Chassis_Private: ['name', 'chassis', 'nb_cfg', 'external_ids'],
  SB_Global: ['nb_cfg'],
  Port_Binding: ['logical_port', 'type', 'datapath', 'chassis', 'additional_chassis', 'mac', 'external_ids'],
  Datapath_Binding: ['external_ids'],
} as const;

export interface SbInterest {
  readonly systemId: string;
  readonly chassis: string | undefined;
  readonly datapaths: Iterable<string>;
  readonly networks: Iterable<string>;
  /** Whether the server's Port_Binding has additional_chassis (OVN >= 22.06). */
  readonly additionalChassis: boolean;
}

const uuidAtom = (u: string) => ['uuid', u] as const;

export function portBindingClauses(i: SbInterest): Clause[] {
  const where: Clause[] = [];
  if (i.chassis !== undefined) {
    where.push(['chassis', '==', uuidAtom(i.chassis)]);
    if (i.additionalChassis) where.push(['additional_chassis', 'includes', uuidAtom(i.chassis)]);
  }
  for (const net of [...i.networks].sort()) {
    where.push(['external_ids', 'includes', ['map', [[DEVICE_ID, METADATA_DEVICE_ID_PREFIX + net]]]]);
  }
  return where.length > 0 ? where : [false];
}

export function datapathClauses(i: SbInterest): Clause[] {
  const where: Clause[] = [...i.datapaths].sort().map((dp) => ['_uuid', '==', uuidAtom(dp)] as Clause);
  return where.length > 0 ? where : [false];
}

export function sbConditions(i: SbInterest): Record<'Port_Binding' | 'Datapath_Binding', Clause[]> {
  return { Port_Binding: portBindingClauses(i), Datapath_Binding: datapathClauses(i) };
}

export function sbMonitorSpec(i: SbInterest): Record<keyof typeof SB_COLUMNS, TableMonitor> {
  const byName: Clause[] = [['name', '==', i.systemId]];
  const cond = sbConditions(i);
  return {
    Chassis: { columns: SB_COLUMNS.Chassis, where: byName },
    Chassis_Private: { columns: SB_COLUMNS.Chassis_Private, where: byName },
    SB_Global: { columns: SB_COLUMNS.SB_Global },
    Port_Binding: { columns: SB_COLUMNS.Port_Binding, where: cond.Port_Binding },
    Datapath_Binding: { columns: SB_COLUMNS.Datapath_Binding, where: cond.Datapath_Binding },
  };
}

/** Same clauses, regardless of order: no monitor_cond_change needed. */
export function sameClauses(a: readonly Clause[], b: readonly Clause[]): boolean {
  return a.length === b.length && JSON.stringify(a) === JSON.stringify(b);
}
