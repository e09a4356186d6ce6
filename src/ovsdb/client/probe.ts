// The inactivity probe (ovsdb-server(1) "inactivity probe", RFC 7047 §4.1.11
// echo): after `intervalMs` without input, send an echo; after another
// interval still without input, declare the connection dead.
//
// Receiving data only sets a flag (no timer churn on the hot path); one timer
// ticks per interval. So the echo goes out between one and two intervals of
// silence and the drop comes one interval after the echo.
import type { Clock } from './options.js';

export class InactivityProbe {
  #heard = true;
  #echoSent = false;
  #timer: unknown;
  #stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly sendEcho: () => void,
    private readonly onDead: (idleMs: number) => void,
  ) {
    if (intervalMs > 0) this.#schedule();
  }

  /** Call on every received chunk. */
  heard(): void {
    this.#heard = true;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    this.#timer = this.clock.setTimeout(() => this.#tick(), this.intervalMs);
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    if (this.#heard) {
      this.#heard = false;
      this.#echoSent = false;
    } else if (!this.#echoSent) {
      this.#echoSent = true;
      this.sendEcho();
    } else {
      this.#stopped = true;
      this.onDead(2 * this.intervalMs);
      return;
    }
    this.#schedule();
  }
}
