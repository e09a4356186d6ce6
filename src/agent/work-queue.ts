/**
 * A keyed work queue with controller-runtime's guarantees
 * (pkg/internal/controller/controller.go, priorityqueue's `locked` set):
 *  - a key queued twice runs once (duplicates collapse);
 *  - a key never runs twice at once; re-added while running, it runs again
 *    right after;
 *  - at most `concurrency` keys run at a time;
 *  - a failure is retried with per-key exponential backoff (base .. max),
 *    reset by a success; an error whose `retryable` is false is terminal: it
 *    is reported and not retried until the key is added again;
 *  - a handler may ask to run again after a delay (`{ requeueAfterMs }`);
 *  - `low` priority keys (the periodic full resync) run only when no
 *    `normal` key waits (controller-runtime's priority queue: resync at low
 *    priority), and a key added again at `normal` is promoted. Without it a
 *    resync of N networks delays a VM bound meanwhile by the whole pass
 *    (bench/provision --resync 2, 100 networks: bind to plumbed median
 *    388 ms, max 1.4 s, against ~100 ms).
 * Nothing runs before `start()` (workers start after the first sync).
 */

import { SYSTEM_CLOCK, type Clock } from '../ovsdb/index.js';

export type HandlerResult = void | { readonly requeueAfterMs: number };
export type Outcome = 'success' | 'requeue' | 'retry' | 'terminal';
export type Priority = 'normal' | 'low';

export interface WorkQueueOptions<K> {
  readonly concurrency: number;
  readonly handler: (key: K) => Promise<HandlerResult>;
  readonly baseBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Called after every run; `error` set for retry and terminal outcomes. */
  readonly onResult?: (key: K, outcome: Outcome, durationMs: number, error?: unknown) => void;
  /** Timers of the backoff (default: the system clock). */
  readonly clock?: Clock;
}

export class WorkQueue<K> {
  readonly #opts: Required<Omit<WorkQueueOptions<K>, 'onResult'>> & Pick<WorkQueueOptions<K>, 'onResult'>;
  /**
   * Keys waiting to run, in order, per priority; `#queued` is the truth (and
   * O(1) dedupe): a key promoted from low also stays in `#low` until popped,
   * where it is then skipped.
   */
  readonly #order: K[] = [];
  readonly #low: K[] = [];
  readonly #queued = new Map<K, Priority>();
  readonly #running = new Set<K>();
  /** Keys added while running: they go back to the queue when the run ends. */
  readonly #dirty = new Map<K, Priority>();
  readonly #failures = new Map<K, number>();
  readonly #timers = new Map<K, unknown>();
  readonly #idleWaiters: (() => void)[] = [];
  #started = false;
  #stopped = false;

  constructor(opts: WorkQueueOptions<K>) {
    this.#opts = { baseBackoffMs: 5, maxBackoffMs: 1_000_000, clock: SYSTEM_CLOCK, ...opts };
  }

  get length(): number {
    return this.#queued.size;
  }

  get running(): number {
    return this.#running.size;
  }

  add(key: K, priority: Priority = 'normal'): void {
    if (this.#stopped) return;
    const timer = this.#timers.get(key);
    if (timer !== undefined) {
      this.#opts.clock.clearTimeout(timer);
      this.#timers.delete(key);
    }
    if (this.#running.has(key)) {
      this.#dirty.set(key, this.#dirty.get(key) === 'normal' ? 'normal' : priority);
      return;
    }
    const queued = this.#queued.get(key);
    if (queued === 'normal' || queued === priority) return;
    this.#queued.set(key, priority);
    (priority === 'normal' ? this.#order : this.#low).push(key);
    this.#pump();
  }

  /** Adds the key after a delay, unless it is added sooner. */
  addAfter(key: K, delayMs: number): void {
    if (this.#stopped || this.#timers.has(key)) return;
    const timer = this.#opts.clock.setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, delayMs);
    (timer as { unref?: () => void }).unref?.();
    this.#timers.set(key, timer);
  }

  start(): void {
    this.#started = true;
    this.#pump();
  }

  /** Resolves when nothing is queued or running (delayed retries may remain). */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops taking work, cancels delayed retries and waits for running keys. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers.values()) this.#opts.clock.clearTimeout(t);
    this.#timers.clear();
    this.#order.length = 0;
    this.#low.length = 0;
    this.#queued.clear();
    this.#dirty.clear();
    await this.idle();
  }

  #isIdle(): boolean {
    return this.#queued.size === 0 && this.#running.size === 0;
  }

  /** The next key to run: normal ones first; stale entries are skipped. */
  #next(): K | undefined {
    for (;;) {
      const fromNormal = this.#order.length > 0;
      const key = fromNormal ? this.#order.shift() : this.#low.shift();
      if (key === undefined) return undefined;
      const priority = this.#queued.get(key);
      // Already run, or promoted (its normal entry comes first): skip.
      if (priority === undefined || (!fromNormal && priority === 'normal')) continue;
      this.#queued.delete(key);
      return key;
    }
  }

  #pump(): void {
    if (!this.#started) return;
    while (this.#running.size < this.#opts.concurrency) {
      const key = this.#next();
      if (key === undefined) break;
      this.#running.add(key);
      void this.#run(key);
    }
    if (this.#isIdle()) for (const w of this.#idleWaiters.splice(0)) w();
  }

  async #run(key: K): Promise<void> {
    const started = performance.now();
    let outcome: Outcome;
    let error: unknown;
    let delay: number | undefined;
    try {
      const result = await this.#opts.handler(key);
      this.#failures.delete(key);
      if (result && result.requeueAfterMs >= 0) {
        outcome = 'requeue';
        delay = result.requeueAfterMs;
      } else outcome = 'success';
    } catch (err) {
      error = err;
      if ((err as { retryable?: unknown })?.retryable === false) {
        outcome = 'terminal';
        this.#failures.delete(key);
      } else {
        outcome = 'retry';
        const n = (this.#failures.get(key) ?? 0) + 1;
        this.#failures.set(key, n);
        delay = Math.min(this.#opts.baseBackoffMs * 2 ** (n - 1), this.#opts.maxBackoffMs);
      }
    }
    this.#running.delete(key);
    try {
      this.#opts.onResult?.(key, outcome, performance.now() - started, error);
    } finally {
      const again = this.#dirty.get(key);
      if (again !== undefined) {
        this.#dirty.delete(key);
        this.add(key, again);
      } else if (delay !== undefined) this.addAfter(key, delay);
      this.#pump();
    }
  }
}
