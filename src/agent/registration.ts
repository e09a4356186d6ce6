/**
 * Registration in Chassis_Private and the nb_cfg heartbeat, as neutron's
 * metadata agent does it (neutron-compat.md "Registration and liveness"):
 *  - `neutron:ovn-metadata-id` added only when absent (a map `insert`
 *    mutation never overwrites: RFC 7047 §5.1 mutator semantics);
 *  - `neutron:ovn-bridge` and `neutron:ovn-metadata-sb-cfg` replaced;
 *  - on every SB_Global.nb_cfg change write it back; the first write is
 *    immediate, later ones after a random 0..max(min(down//3, 10), 3) s so
 *    that thousands of chassis do not write at once;
 *  - when the Chassis_Private row is recreated (new _uuid), register again.
 * Mutations keep the write atomic against ovn-controller's own keys.
 */

import type { WireOperation } from '../ovsdb/index.js';

export const METADATA_ID_KEY = 'neutron:ovn-metadata-id';
export const BRIDGE_KEY = 'neutron:ovn-bridge';
export const SB_CFG_KEY = 'neutron:ovn-metadata-sb-cfg';

type Op = WireOperation;

export function registrationOps(
  rowUuid: string,
  agentId: string,
  bridge: string,
  sbCfg: number | bigint,
): Op[] {
  return [
    {
      op: 'mutate',
      table: 'Chassis_Private',
      where: [['_uuid', '==', ['uuid', rowUuid]]],
      mutations: [
        ['external_ids', 'delete', ['set', [BRIDGE_KEY, SB_CFG_KEY]]],
        [
          'external_ids',
          'insert',
          [
            'map',
            [
              [METADATA_ID_KEY, agentId],
              [BRIDGE_KEY, bridge],
              [SB_CFG_KEY, String(sbCfg)],
            ],
          ],
        ],
      ],
    },
  ];
}

export function heartbeatOps(rowUuid: string, nbCfg: number | bigint): Op[] {
  return [
    {
      op: 'mutate',
      table: 'Chassis_Private',
      where: [['_uuid', '==', ['uuid', rowUuid]]],
      mutations: [
        ['external_ids', 'delete', ['set', [SB_CFG_KEY]]],
        ['external_ids', 'insert', ['map', [[SB_CFG_KEY, String(nbCfg)]]]],
      ],
    },
  ];
}

/** neutron: max(min(agent_down_time // 3, 10), 3) seconds. */
export function maxHeartbeatDelayMs(agentDownTimeSeconds: number): number {
  return Math.max(Math.min(Math.floor(agentDownTimeSeconds / 3), 10), 3) * 1000;
}

export interface RegistrationDeps {
  readonly agentId: string;
  readonly bridge: string;
  readonly agentDownTimeSeconds: number;
  readonly transact: (ops: Op[]) => Promise<unknown>;
  readonly random?: () => number;
  readonly onError?: (what: 'register' | 'heartbeat', err: unknown) => void;
  readonly onWritten?: (what: 'register' | 'heartbeat', value: string) => void;
}

/**
 * Drives registration from replica state: call `chassisPrivate()` when our
 * Chassis_Private row appears, changes or goes, and `sbGlobal()` when
 * SB_Global.nb_cfg changes. Failed writes are retried after a short delay.
 */
export class Registration {
  readonly #deps: RegistrationDeps;
  #row: { uuid: string; nbCfg: number | bigint } | undefined;
  #registeredUuid: string | undefined;
  #nbCfg: number | bigint | undefined;
  #written: string | undefined;
  #beats = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(deps: RegistrationDeps) {
    this.#deps = deps;
  }

  /** True when the current row carries our registration. */
  get registered(): boolean {
    return this.#row !== undefined && this.#registeredUuid === this.#row.uuid;
  }

  chassisPrivate(row: { uuid: string; nbCfg: number | bigint } | undefined): void {
    this.#row = row;
    if (row && row.uuid !== this.#registeredUuid) void this.#register(row.uuid, row.nbCfg);
  }

  sbGlobal(nbCfg: number | bigint): void {
    if (this.#nbCfg === nbCfg) return;
    this.#nbCfg = nbCfg;
    if (this.#timer) return; // the pending write will carry the newest value
    const delay =
      this.#beats++ === 0
        ? 0
        : Math.floor(
            (this.#deps.random ?? Math.random)() * maxHeartbeatDelayMs(this.#deps.agentDownTimeSeconds),
          );
    this.#schedule(delay);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#beat();
    }, delayMs);
    this.#timer.unref?.();
  }

  async #register(uuid: string, nbCfg: number | bigint): Promise<void> {
    try {
      await this.#deps.transact(registrationOps(uuid, this.#deps.agentId, this.#deps.bridge, nbCfg));
      this.#registeredUuid = uuid;
      this.#written = String(nbCfg);
      this.#deps.onWritten?.('register', this.#written);
      // A heartbeat value newer than the row's nb_cfg must not be lost.
      if (this.#nbCfg !== undefined && String(this.#nbCfg) !== this.#written && !this.#timer)
        this.#schedule(0);
    } catch (err) {
      this.#deps.onError?.('register', err);
      if (!this.#closed && this.#row?.uuid === uuid) {
        setTimeout(
          () => this.#row?.uuid === uuid && this.#registeredUuid !== uuid && void this.#register(uuid, nbCfg),
          1000,
        ).unref?.();
      }
    }
  }

  async #beat(): Promise<void> {
    const row = this.#row;
    const value = this.#nbCfg;
    if (!row || value === undefined || String(value) === this.#written) return;
    try {
      await this.#deps.transact(heartbeatOps(row.uuid, value));
      this.#written = String(value);
      this.#deps.onWritten?.('heartbeat', this.#written);
    } catch (err) {
      this.#deps.onError?.('heartbeat', err);
      if (!this.#timer) this.#schedule(1000);
    }
  }
}
