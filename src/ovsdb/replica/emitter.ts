/**
 * A minimal typed, synchronous event emitter. Listeners run in registration
 * order; one that throws does not stop the others, and the first error is
 * rethrown once all have run. Registration copies the listener list
 * (copy-on-write), so emitting allocates nothing and a listener may
 * unsubscribe itself while being called.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (...args: any[]) => void;

export class Emitter<Events extends { [E in keyof Events]: Listener }> {
  private listeners: { [E in keyof Events]?: readonly Events[E][] } = {};

  on<E extends keyof Events>(event: E, listener: Events[E]): this {
    const list: readonly Events[E][] = this.listeners[event] ?? [];
    this.listeners[event] = [...list, listener];
    return this;
  }

  off<E extends keyof Events>(event: E, listener: Events[E]): this {
    const list = this.listeners[event];
    if (list !== undefined) this.listeners[event] = list.filter((l) => l !== listener);
    return this;
  }

  once<E extends keyof Events>(event: E, listener: Events[E]): this {
    const wrapper = ((...args: Parameters<Events[E]>) => {
      this.off(event, wrapper);
      listener(...args);
    }) as Events[E];
    return this.on(event, wrapper);
  }

  listenerCount(event: keyof Events): number {
    return this.listeners[event]?.length ?? 0;
  }

  protected emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    const list = this.listeners[event];
    if (list === undefined) return;
    let failed = false;
    let first: unknown;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!(...args);
      } catch (err) {
        if (!failed) first = err;
        failed = true;
      }
    }
    if (failed) throw first;
  }
}
