/**
 * Adaptive string interning for decoded atoms (pure, no I/O).
 *
 * A replica holds many copies of the same strings: every Port_Binding's
 * external_ids carries the same fourteen `neutron:*` keys, and values such as
 * the datapath UUID, the project id or `compute:nova` repeat across thousands
 * of rows. JSON.parse hands out a fresh string for each occurrence (it
 * internalizes object keys, not array elements), so a 50k-row Southbound
 * replica held ~30 MB of duplicates. An Interner maps each string to the
 * first copy seen, so the replica keeps one.
 *
 * Some columns (and some map keys) hold unique values — logical_port, MAC
 * addresses, device ids — where a table would only grow. Each Interner counts
 * its hits per window of lookups and switches itself off for good when fewer
 * than a quarter were hits, dropping its table; its table is also capped.
 * Decisions are per column (per map key for map values), so a unique key
 * does not spoil the others. The cost when on is one Map lookup per atom.
 */

/** Lookups per judging window. */
const WINDOW = 1024;
/** A window with fewer hits than this turns the interner off. */
const MIN_HITS = WINDOW / 4;
/**
 * Entries at most; beyond it, strings are still looked up but not added.
 * The table keeps its strings alive after their rows go, so the cap also
 * bounds that (about 1 MB per interner).
 */
const MAX_ENTRIES = 1 << 15;

export class Interner {
  #table: Map<string, string> | undefined = new Map();
  #lookups = 0;
  #hits = 0;

  /** The canonical copy of `s` (`s` itself when new, or when interning is off). */
  intern(s: string): string {
    const table = this.#table;
    if (table === undefined) return s;
    const known = table.get(s);
    if (known !== undefined) {
      this.#hits++;
    } else if (table.size < MAX_ENTRIES) {
      table.set(s, s);
    }
    if (++this.#lookups === WINDOW) {
      if (this.#hits < MIN_HITS) this.#table = undefined;
      this.#lookups = 0;
      this.#hits = 0;
    }
    return known ?? s;
  }

  /** Whether the interner is still on (for tests). */
  get active(): boolean {
    return this.#table !== undefined;
  }
}

/** Most distinct keys per map column that get their own value interner (the rest are not interned). */
const MAX_KEYED = 64;

/**
 * Value interners per map key: the values of `neutron:device_owner` repeat,
 * those of `neutron:device_id` do not, and each decides on its own.
 */
export class KeyedInterner {
  readonly #byKey = new Map<string, Interner>();

  intern(key: string, value: string): string {
    let interner = this.#byKey.get(key);
    if (interner === undefined) {
      if (this.#byKey.size >= MAX_KEYED) return value;
      this.#byKey.set(key, (interner = new Interner()));
    }
    return interner.intern(value);
  }
}
