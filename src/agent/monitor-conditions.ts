/**
 * Keeps the SB monitor's conditions (sb-monitor.ts) in step with what this
 * chassis needs: a local port brings its datapath, the datapath names the
 * network, the network brings its metadata port. Each change is one
 * monitor_cond_change; changes are coalesced (one in flight, the latest
 * interest wins) and never made from inside a replica listener.
 */
import type { ConditionsUpdate, OvsdbClient } from '../ovsdb/index.js';
import { sameClauses, sbConditions, type SbInterest } from './sb-monitor.js';

export interface MonitorConditionsDeps {
  readonly client: OvsdbClient;
  /** What the replica says this chassis needs now (walks local rows only). */
  readonly interest: () => SbInterest & { readonly networks: ReadonlySet<string> };
  /** Networks whose metadata port has just become monitored. */
  readonly onMonitored: (networks: readonly string[]) => void;
  readonly onError: (err: unknown) => void;
}

export class MonitorConditions {
  readonly #deps: MonitorConditionsDeps;
  #current: ReturnType<typeof sbConditions>;
  #monitored: ReadonlySet<string> = new Set();
  /** Updates run one after another: each compares against the last one's result. */
  #tail: Promise<unknown> = Promise.resolve();
  /** An update is queued and has not started: another schedule() adds nothing. */
  #queued = false;

  constructor(deps: MonitorConditionsDeps) {
    this.#deps = deps;
    this.#current = sbConditions(deps.interest());
  }

  /** The conditions to start the monitor with. */
  get initial(): ConditionsUpdate {
    return this.#current;
  }

  /** Whether the monitor selects this network's metadata port. */
  monitors(networkId: string): boolean {
    return this.#monitored.has(networkId);
  }

  /**
   * Start-up: update until the conditions stop changing (a few round trips).
   * Waits for any update already running, so it never ends while rows a
   * change selected are still on their way.
   */
  async settle(maxRounds = 8): Promise<void> {
    for (let i = 0; i < maxRounds; i++) if (!(await this.#enqueue())) return;
  }

  /** Asks for an update soon; coalesces with one already queued. */
  schedule(): void {
    if (this.#queued) return;
    this.#queued = true;
    this.#enqueue().catch((err: unknown) => this.#deps.onError(err));
  }

  #enqueue(): Promise<boolean> {
    const run = this.#tail.then(() => {
      this.#queued = false;
      return this.#update();
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** Returns true when the conditions changed. */
  async #update(): Promise<boolean> {
    const interest = this.#deps.interest();
    const want = sbConditions(interest);
    if (
      sameClauses(want.Port_Binding, this.#current.Port_Binding) &&
      sameClauses(want.Datapath_Binding, this.#current.Datapath_Binding)
    ) {
      return false;
    }
    await this.#deps.client.setConditions(want);
    this.#current = want;
    // ovsdb-server sends the rows a condition change selects before its
    // reply (ovsdb_jsonrpc_monitor_cond_change): the metadata ports of newly
    // monitored networks are in the replica now.
    const added = [...interest.networks].filter((n) => !this.#monitored.has(n));
    this.#monitored = new Set(interest.networks);
    if (added.length > 0) this.#deps.onMonitored(added);
    return true;
  }
}
