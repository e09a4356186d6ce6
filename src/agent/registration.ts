/**
 * Registration in Chassis_Private and the nb_cfg heartbeat, as the neutron
 * agent ovnmeta stands in for does it (agent-role.ts; neutron-compat.md
 * "Registration and liveness"):
 *  - the agent id key added only when absent (a map `insert` mutation never
 *    overwrites: RFC 7047 §5.1 mutator semantics);
 *  - the bridge and sb-cfg keys replaced; on a new row, the role's
 *    `cleanupKeys` removed in the same mutation (neutron-ovn-agent's
 *    _cleanup_previous_tags of neutron:ovn-metadata-*);
 *  - on every SB_Global.nb_cfg change write it back; the first write is
 *    immediate, later ones after a random 0..max(min(down//3, 10), 3) s so
 *    that thousands of chassis do not write at once;
 *  - when the Chassis_Private row is recreated (new _uuid), register again.
 * Guard (coexistence, docs/deploy.md): when another writer removes our id or
 * sb-cfg key (neutron-ovn-agent's start-up removes neutron:ovn-metadata-*),
 * register again without cleanup; when the sb-cfg key is older than what we
 * wrote (another writer's delayed heartbeat), write the newest again. Only our
 * own keys are ever written; no other key is removed except `cleanupKeys`.
 * Mutations keep the write atomic against ovn-controller's own keys.
 */

import { SYSTEM_CLOCK, type Clock, type WireOperation } from '../ovsdb/index.js';
import { CHASSIS_PRIVATE_KEYS, METADATA_AGENT_ROLE, type AgentRole } from './agent-role.js';

export const METADATA_ID_KEY = CHASSIS_PRIVATE_KEYS.metadataId;
export const BRIDGE_KEY = CHASSIS_PRIVATE_KEYS.bridge;
export const SB_CFG_KEY = CHASSIS_PRIVATE_KEYS.metadataSbCfg;

type Op = WireOperation;
type RoleKeys = Pick<AgentRole, 'idKey' | 'sbCfgKey' | 'bridgeKey' | 'cleanupKeys'>;

export function registrationOps(
  rowUuid: string,
  agentId: string,
  bridge: string,
  sbCfg: number | bigint,
  role: RoleKeys = METADATA_AGENT_ROLE,
  cleanup = true,
): Op[] {
  const removed = [role.bridgeKey, role.sbCfgKey, ...(cleanup ? role.cleanupKeys : [])];
  return setExternalIds(
    rowUuid,
    [...new Set(removed)],
    [
      [role.idKey, agentId],
      [role.bridgeKey, bridge],
      [role.sbCfgKey, String(sbCfg)],
    ],
  );
}

export function heartbeatOps(
  rowUuid: string,
  nbCfg: number | bigint,
  role: Pick<AgentRole, 'sbCfgKey'> = METADATA_AGENT_ROLE,
): Op[] {
  return setExternalIds(rowUuid, [role.sbCfgKey], [[role.sbCfgKey, String(nbCfg)]]);
}

/**
 * One mutate of our Chassis_Private row's external_ids: `remove` these keys,
 * then insert `entries` (an insert never overwrites a key, so a key both
 * removed and inserted is replaced), leaving every other writer's keys alone.
 */
function setExternalIds(rowUuid: string, remove: string[], entries: [string, string][]): Op[] {
  return [
    {
      op: 'mutate',
      table: 'Chassis_Private',
      where: [['_uuid', '==', ['uuid', rowUuid]]],
      mutations: [
        ['external_ids', 'delete', ['set', remove]],
        ['external_ids', 'insert', ['map', entries]],
      ],
    },
  ];
}

/** neutron: max(min(agent_down_time // 3, 10), 3) seconds. */
export function maxHeartbeatDelayMs(agentDownTimeSeconds: number): number {
  return Math.max(Math.min(Math.floor(agentDownTimeSeconds / 3), 10), 3) * 1000;
}

export interface RegistrationDeps {
  /** Which agent's keys (default: neutron-ovn-metadata-agent's). */
  readonly role?: AgentRole;
  readonly agentId: string;
  readonly bridge: string;
  readonly agentDownTimeSeconds: number;
  readonly transact: (ops: Op[]) => Promise<unknown>;
  readonly random?: () => number;
  readonly onError?: (what: 'register' | 'heartbeat', err: unknown) => void;
  readonly onWritten?: (what: 'register' | 'heartbeat', value: string) => void;
  /** Our keys were removed or set back by another writer; we write them again. */
  readonly onOverwritten?: (what: 'removed' | 'older', detail: string) => void;
  /** Timers of the heartbeat and the retries (default: the system clock). */
  readonly clock?: Clock;
}

/** What Registration needs of our Chassis_Private row. */
export interface ChassisPrivateRow {
  readonly uuid: string;
  readonly nbCfg: number | bigint;
  /** Absent: not watched (no guard). */
  readonly externalIds?: ReadonlyMap<string, string>;
}

/**
 * Drives registration from replica state: call `chassisPrivate()` when our
 * Chassis_Private row appears, changes or goes, and `sbGlobal()` when
 * SB_Global.nb_cfg changes. Failed writes are retried after a short delay.
 */
export class Registration {
  readonly #deps: RegistrationDeps;
  readonly #role: AgentRole;
  #row: ChassisPrivateRow | undefined;
  #registeredUuid: string | undefined;
  #nbCfg: number | bigint | undefined;
  #written: string | undefined;
  #beats = 0;
  #timer: unknown;
  #closed = false;

  #registering = false;
  /** A row event arrived while a registration was in flight. */
  #eventWhileRegistering = false;

  readonly #clock: Clock;

  constructor(deps: RegistrationDeps) {
    this.#deps = deps;
    this.#role = deps.role ?? METADATA_AGENT_ROLE;
    this.#clock = deps.clock ?? SYSTEM_CLOCK;
  }

  get role(): AgentRole {
    return this.#role;
  }

  /** True when the current row carries our registration. */
  get registered(): boolean {
    return this.#row !== undefined && this.#registeredUuid === this.#row.uuid;
  }

  chassisPrivate(row: ChassisPrivateRow | undefined): void {
    this.#row = row;
    if (!row) return;
    if (this.#registering) {
      this.#eventWhileRegistering = true;
      return;
    }
    if (row.uuid !== this.#registeredUuid) {
      void this.#register(row.uuid, row.nbCfg, true);
      return;
    }
    this.#guard(row);
  }

  /** Our keys on our registered row, as another writer may have left them. */
  #guard(row: ChassisPrivateRow): void {
    const ids = row.externalIds;
    if (!ids) return;
    const { idKey, sbCfgKey } = this.#role;
    if (!ids.has(idKey) || !ids.has(sbCfgKey)) {
      const missing = [idKey, sbCfgKey].filter((k) => !ids.has(k)).join(', ');
      this.#deps.onOverwritten?.('removed', missing);
      void this.#register(row.uuid, this.#nbCfg ?? row.nbCfg, false);
      return;
    }
    const seen = ids.get(sbCfgKey) as string;
    if (this.#written === undefined || seen === this.#written || !/^\d+$/.test(seen)) return;
    if (BigInt(seen) < BigInt(this.#written)) {
      this.#deps.onOverwritten?.('older', `${sbCfgKey}=${seen} < ${this.#written}`);
      this.#written = undefined; // forces #beat to write the newest again
      if (this.#timer === undefined) this.#schedule(0);
    }
  }

  sbGlobal(nbCfg: number | bigint): void {
    if (this.#nbCfg === nbCfg) return;
    this.#nbCfg = nbCfg;
    if (this.#timer !== undefined) return; // the pending write will carry the newest value
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
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#beat();
    }, delayMs);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  async #register(uuid: string, nbCfg: number | bigint, cleanup: boolean): Promise<void> {
    this.#registering = true;
    this.#eventWhileRegistering = false;
    try {
      await this.#deps.transact(
        registrationOps(uuid, this.#deps.agentId, this.#deps.bridge, nbCfg, this.#role, cleanup),
      );
      this.#registering = false;
      this.#registeredUuid = uuid;
      this.#written = String(nbCfg);
      this.#deps.onWritten?.('register', this.#written);
      // A heartbeat value newer than the row's nb_cfg must not be lost.
      if (this.#nbCfg !== undefined && String(this.#nbCfg) !== this.#written && this.#timer === undefined)
        this.#schedule(0);
      // The row may have been recreated, or our keys removed, meanwhile.
      if (this.#eventWhileRegistering && !this.#closed) this.chassisPrivate(this.#row);
    } catch (err) {
      this.#registering = false;
      this.#deps.onError?.('register', err);
      if (!this.#closed && this.#row && this.#row.uuid !== uuid) this.chassisPrivate(this.#row);
      else if (!this.#closed && this.#row?.uuid === uuid) {
        const retry = this.#clock.setTimeout(() => {
          const row = this.#row;
          if (this.#closed || row?.uuid !== uuid) return;
          if (this.#registeredUuid !== uuid) void this.#register(uuid, nbCfg, cleanup);
          else this.#guard(row);
        }, 1000);
        (retry as { unref?: () => void }).unref?.();
      }
    }
  }

  async #beat(): Promise<void> {
    const row = this.#row;
    const value = this.#nbCfg;
    if (!row || value === undefined || String(value) === this.#written) return;
    try {
      await this.#deps.transact(heartbeatOps(row.uuid, value, this.#role));
      this.#written = String(value);
      this.#deps.onWritten?.('heartbeat', this.#written);
    } catch (err) {
      this.#deps.onError?.('heartbeat', err);
      if (this.#timer === undefined) this.#schedule(1000);
    }
  }
}
