/**
 * Keeps the proxy's identity index in step with the SB replica: every VM
 * port of this chassis, keyed by its Port_Binding, under its network, MAC and
 * IPs. Driven by row events (O(changed rows)), so a request never scans.
 * A port whose datapath is not yet known is fed when the datapath arrives.
 */
import type { IdentityIndex } from '../proxy/index.js';
import { portAddresses } from './port-addresses.js';
import {
  decodePortBinding,
  isBoundTo,
  isVifPort,
  PROJECT_ID,
  DEVICE_ID,
  type PortBinding,
} from './sb-rows.js';
import type { RowEventLike } from './triggers.js';
import type { SbView } from './sb-view.js';

type Index = Pick<IdentityIndex, 'upsertPort' | 'removePort'>;

export class IdentityFeed {
  readonly #index: Index;
  readonly #view: SbView;
  readonly #chassis: () => string | undefined;
  readonly #onProblem: (port: string, err: unknown) => void;
  /** Port_Binding uuid -> the index keys fed for it (one per `mac` entry). */
  readonly #keys = new Map<string, string[]>();

  constructor(
    index: Index,
    view: SbView,
    chassis: () => string | undefined,
    onProblem: (port: string, err: unknown) => void,
  ) {
    this.#index = index;
    this.#view = view;
    this.#chassis = chassis;
    this.#onProblem = onProblem;
  }

  get ports(): number {
    return this.#keys.size;
  }

  onEvents(events: readonly RowEventLike[]): void {
    for (const ev of events) {
      if (ev.table === 'Port_Binding') {
        if (ev.type === 'delete' || !ev.new) this.#drop(ev.uuid);
        else {
          const pb = decodePortBinding(ev.new);
          if (pb.ok) this.feed(pb.value);
          else this.#drop(ev.uuid);
        }
      } else if (ev.table === 'Datapath_Binding') {
        for (const port of this.#view.portsOfDatapath(ev.uuid)) this.feed(port);
      }
    }
  }

  /** Feeds every port of the given datapaths again (chassis change, resync). */
  refeed(datapaths: Iterable<string>): void {
    for (const dp of datapaths) for (const port of this.#view.portsOfDatapath(dp)) this.feed(port);
  }

  feed(port: PortBinding): void {
    const chassis = this.#chassis();
    const network = this.#view.networkOfDatapath(port.datapath);
    if (!isVifPort(port) || network === undefined || chassis === undefined) {
      this.#drop(port.uuid);
      return;
    }
    const bound = isBoundTo(port, chassis);
    // A port bound elsewhere that we never indexed stays out (with
    // `sb_monitor = all` that is every port of the cloud); one we had stays,
    // unbound, so a rebind needs no other input.
    if (!bound && !this.#keys.has(port.uuid)) return;
    const entries = portAddresses(port.mac);
    const keys: string[] = [];
    entries.forEach((entry, i) => {
      const key = i === 0 ? port.uuid : `${port.uuid}#${i}`;
      try {
        this.#index.upsertPort({
          key,
          network,
          mac: entry.mac,
          ips: entry.ips,
          instanceId: port.externalIds.get(DEVICE_ID) ?? '',
          projectId: port.externalIds.get(PROJECT_ID) ?? '',
          bound,
        });
        keys.push(key);
      } catch (err) {
        this.#onProblem(port.logicalPort, err);
      }
    });
    for (const old of this.#keys.get(port.uuid) ?? []) if (!keys.includes(old)) this.#index.removePort(old);
    if (keys.length > 0) this.#keys.set(port.uuid, keys);
    else this.#keys.delete(port.uuid);
  }

  #drop(uuid: string): void {
    for (const key of this.#keys.get(uuid) ?? []) this.#index.removePort(key);
    this.#keys.delete(uuid);
  }
}
