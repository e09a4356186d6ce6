/**
 * What the agent monitors in the Southbound, with conditions so that an SB
 * holding the whole cloud costs this chassis only its own rows
 * (ovsdb-server(7) monitor_cond: a table's clauses are OR-ed):
 *  - Chassis and Chassis_Private: name == system-id;
 *  - SB_Global: its one row (nb_cfg, for the heartbeat);
 *  - Port_Binding: chassis == ours, additional_chassis includes ours,
 *    requested_chassis == ours, requested_additional_chassis includes ours
 *    (the ports neutron asked to bind here, before they are), and
 *    for each served network its metadata localport, selected by
 *    external_ids includes {neutron:device_id: ovnmeta-<network>};
 *  - Datapath_Binding: _uuid == each datapath with local ports.
 * The last two widen and narrow (monitor_cond_change) as ports come and go:
 * a local port brings its datapath, the datapath names the network, the
 * network brings its metadata port. Pure.
 *
 * Mode `all` (`[ovnmeta] sb_monitor = all`, as ovn-controller's
 * ovn-monitor-all): Port_Binding and Datapath_Binding without conditions,
 * every row of the cloud, as neutron's agent has them; Chassis and
 * Chassis_Private stay selected by name (every chassis writes its own row on
 * each nb_cfg bump: unconditioned, each write would go to every agent).
 * docs/scale.md has the measurements behind the default.
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
  Port_Binding: [
    'logical_port',
    'type',
    'datapath',
    'chassis',
    'additional_chassis',
    'requested_chassis',
    'requested_additional_chassis',
    'mac',
    'external_ids',
  ],
  Datapath_Binding: ['external_ids'],
} as const;

export const SB_MONITOR_MODES = ['conditional', 'all'] as const;
export type SbMonitorMode = (typeof SB_MONITOR_MODES)[number];

export interface SbInterest {
  readonly systemId: string;
  readonly chassis: string | undefined;
  readonly datapaths: Iterable<string>;
  readonly networks: Iterable<string>;
  /** Whether the server's Port_Binding has additional_chassis (OVN >= 22.06). */
  readonly additionalChassis: boolean;
  /** Whether it has requested_chassis (OVN >= 21.12) and requested_additional_chassis (22.09). */
  readonly requestedChassis?: { readonly main: boolean; readonly additional: boolean };
  /**
   * `per-network` (default): the metadata port and datapath of each served
   * network, by name and _uuid: the clauses change as networks come and go.
   * `static`: every metadata port (type == localport) and every datapath:
   * the clauses change only with the Chassis row.
   */
  readonly shape?: ConditionShape;
}

export const CONDITION_SHAPES = ['per-network', 'static'] as const;
export type ConditionShape = (typeof CONDITION_SHAPES)[number];

const uuidAtom = (u: string) => ['uuid', u] as const;

export function portBindingClauses(i: SbInterest): Clause[] {
  const where: Clause[] = [];
  if (i.chassis !== undefined) {
    where.push(['chassis', '==', uuidAtom(i.chassis)]);
    if (i.additionalChassis) where.push(['additional_chassis', 'includes', uuidAtom(i.chassis)]);
    if (i.requestedChassis?.main) where.push(['requested_chassis', '==', uuidAtom(i.chassis)]);
    if (i.requestedChassis?.additional)
      where.push(['requested_additional_chassis', 'includes', uuidAtom(i.chassis)]);
  }
  if (i.shape === 'static') return [...where, ['type', '==', 'localport']];
  for (const net of [...i.networks].sort()) {
    where.push(['external_ids', 'includes', ['map', [[DEVICE_ID, METADATA_DEVICE_ID_PREFIX + net]]]]);
  }
  return where.length > 0 ? where : [false];
}

export function datapathClauses(i: SbInterest): Clause[] {
  if (i.shape === 'static') return [true];
  const where: Clause[] = [...i.datapaths].sort().map((dp) => ['_uuid', '==', uuidAtom(dp)] as Clause);
  return where.length > 0 ? where : [false];
}

export function sbConditions(i: SbInterest): Record<'Port_Binding' | 'Datapath_Binding', Clause[]> {
  return { Port_Binding: portBindingClauses(i), Datapath_Binding: datapathClauses(i) };
}

export function sbMonitorSpec(
  i: SbInterest,
  mode: SbMonitorMode = 'conditional',
): Record<keyof typeof SB_COLUMNS, TableMonitor> {
  const byName: Clause[] = [['name', '==', i.systemId]];
  const cond = mode === 'conditional' ? sbConditions(i) : undefined;
  return {
    Chassis: { columns: SB_COLUMNS.Chassis, where: byName },
    Chassis_Private: { columns: SB_COLUMNS.Chassis_Private, where: byName },
    SB_Global: { columns: SB_COLUMNS.SB_Global },
    Port_Binding: { columns: SB_COLUMNS.Port_Binding, ...(cond && { where: cond.Port_Binding }) },
    Datapath_Binding: { columns: SB_COLUMNS.Datapath_Binding, ...(cond && { where: cond.Datapath_Binding }) },
  };
}

/** Same clauses, regardless of order: no monitor_cond_change needed. */
export function sameClauses(a: readonly Clause[], b: readonly Clause[]): boolean {
  return a.length === b.length && JSON.stringify(a) === JSON.stringify(b);
}
