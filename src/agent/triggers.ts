/**
 * Maps replica row events to the networks whose desired state they may
 * change (controller-runtime's event handlers: enqueue keys, do no work).
 * Pure and quick: called synchronously from the replica's change listener.
 *
 * An update matters only when a column the desired state reads changed;
 * for external_ids only the keys it reads count, so an unrelated
 * external_ids change (neutron writes revision numbers there) does no work.
 */
import {
  CIDRS,
  DEVICE_ID,
  DEVICE_OWNER,
  MTU,
  NETWORK_NAME_PREFIX,
  decodePortBinding,
  isMetadataPort,
  isVifPort,
  isWantedAt,
  type SbRow,
} from './sb-rows.js';

export interface RowEventLike {
  readonly table: string;
  readonly type: 'insert' | 'update' | 'delete';
  readonly uuid: string;
  readonly new?: SbRow;
  /** For updates: the old values of the changed columns only. */
  readonly old?: Partial<SbRow>;
}

export interface TriggerContext {
  /** This chassis' Chassis row uuid, once known. */
  readonly chassis: string | undefined;
  readonly networkOfDatapath: (datapath: string) => string | undefined;
}

const PORT_COLUMNS = [
  'type',
  'chassis',
  'additional_chassis',
  'requested_chassis',
  'requested_additional_chassis',
  'mac',
  'datapath',
] as const;
const PORT_EXTERNAL_IDS = [CIDRS, MTU, DEVICE_OWNER, DEVICE_ID] as const;

function externalIdsChanged(oldIds: unknown, newIds: unknown): boolean {
  const a = oldIds instanceof Map ? oldIds : undefined;
  const b = newIds instanceof Map ? newIds : undefined;
  return PORT_EXTERNAL_IDS.some((k) => a?.get(k) !== b?.get(k));
}

/** The old row in full: the new row overlaid with the old changed values. */
export function oldRow(event: RowEventLike): SbRow | undefined {
  if (event.type === 'insert') return undefined;
  if (event.type === 'delete') return (event.old ?? event.new) as SbRow | undefined;
  return { ...event.new, ...event.old } as SbRow;
}

function portMatters(row: SbRow | undefined, chassis: string | undefined): string | undefined {
  if (!row) return undefined;
  const pb = decodePortBinding(row);
  if (!pb.ok) return typeof row.datapath === 'string' ? row.datapath : undefined;
  const p = pb.value;
  if (isMetadataPort(p)) return p.datapath;
  if (chassis !== undefined && isVifPort(p) && isWantedAt(p, chassis)) return p.datapath;
  return undefined;
}

function networkName(row: SbRow | undefined): string | undefined {
  const ids = row?.external_ids;
  const name = ids instanceof Map ? ids.get('name') : undefined;
  return typeof name === 'string' && name.startsWith(NETWORK_NAME_PREFIX)
    ? name.slice(NETWORK_NAME_PREFIX.length)
    : undefined;
}

export interface Touched {
  readonly networks: Set<string>;
  /** Datapaths with relevant changes whose network is not known yet. */
  readonly unknownDatapaths: Set<string>;
}

export function networksTouched(events: readonly RowEventLike[], ctx: TriggerContext): Touched {
  const networks = new Set<string>();
  const unknownDatapaths = new Set<string>();
  const touch = (datapath: string | undefined) => {
    if (datapath === undefined) return;
    const net = ctx.networkOfDatapath(datapath);
    if (net !== undefined) networks.add(net);
    else unknownDatapaths.add(datapath);
  };

  for (const ev of events) {
    if (ev.table === 'Port_Binding') {
      if (ev.type === 'update') {
        const changed = ev.old ?? {};
        const relevant =
          PORT_COLUMNS.some((c) => c in changed) ||
          ('external_ids' in changed && externalIdsChanged(changed.external_ids, ev.new?.external_ids));
        if (!relevant) continue;
      }
      touch(portMatters(oldRow(ev), ctx.chassis));
      touch(portMatters(ev.new, ctx.chassis));
    } else if (ev.table === 'Datapath_Binding') {
      // The network name of a datapath appearing, changing or going away.
      const names = [oldRow(ev), ev.new].map(networkName);
      if (ev.type === 'update' && names[0] === names[1]) continue;
      for (const name of names) if (name !== undefined) networks.add(name);
    }
  }
  return { networks, unknownDatapaths };
}

/**
 * Whether an integration-bridge Bridge row event can change how every
 * served network must be plumbed: the bridge appearing, going away, renamed,
 * or its datapath_type changing (checksum fill). Bridge.ports changes with
 * every port added or removed, the agent's own included; re-checking every
 * network on those made provisioning quadratic in the number of networks
 * (bench/provision, 100 networks: cold start 19.3 s, bind to plumbed 1.8 s;
 * 8.7 s and 90 ms without). A port of ours is covered by its Port and
 * Interface events.
 */
export function bridgeEventMatters(event: RowEventLike): boolean {
  if (event.type !== 'update') return true;
  const changed = event.old ?? {};
  return 'datapath_type' in changed || 'name' in changed;
}

/** What one batch of Southbound row events asks of the agent. */
export interface SbRoute {
  /** Networks whose desired state may have changed: enqueue them. */
  readonly networks: Set<string>;
  /** Our Chassis_Private row changed ('inserted': recreated, a full resync as neutron does). */
  readonly chassisPrivate: 'none' | 'changed' | 'inserted';
  /** SB_Global changed: the heartbeat reads nb_cfg. */
  readonly sbGlobal: boolean;
}

/**
 * Routes Southbound row events: the registration rows and the networks
 * touched. (Our Chassis row and the monitor conditions are the session's,
 * sb-session.ts.)
 */
export function routeSbEvents(events: readonly RowEventLike[], ctx: TriggerContext): SbRoute {
  let chassisPrivate: SbRoute['chassisPrivate'] = 'none';
  let sbGlobal = false;
  for (const ev of events) {
    if (ev.table === 'Chassis_Private') {
      if (ev.type === 'insert') chassisPrivate = 'inserted';
      else if (chassisPrivate === 'none') chassisPrivate = 'changed';
    } else if (ev.table === 'SB_Global') sbGlobal = true;
  }
  return { networks: networksTouched(events, ctx).networks, chassisPrivate, sbGlobal };
}

/**
 * Routes Open_vSwitch row events to served networks (`served`: veth root
 * port name -> network): a Port or Interface row of ours names its network;
 * a Bridge change that matters (bridgeEventMatters) names every served one.
 */
export function routeOvsEvents(
  events: readonly RowEventLike[],
  served: ReadonlyMap<string, string>,
): Set<string> {
  const networks = new Set<string>();
  for (const ev of events) {
    if (ev.table === 'Bridge') {
      if (bridgeEventMatters(ev)) for (const net of served.values()) networks.add(net);
      continue;
    }
    if (ev.table !== 'Port' && ev.table !== 'Interface') continue;
    for (const row of [ev.new, ev.old]) {
      const net = typeof row?.name === 'string' ? served.get(row.name) : undefined;
      if (net) networks.add(net);
    }
  }
  return networks;
}
