// Per-source request rate limiting with neutron's semantics (pure; the clock
// is injected).
//
// neutron renders `[metadata_rate_limiting]` into haproxy (neutron/common/
// metadata.py, RATE_LIMITED_CONFIG_TEMPLATE): two stick tables keyed by source
// address, `store http_req_rate(<window>s)`, `expire max(windows)`, `size 10k`;
// every request is tracked in both (so refused requests count too), then
// denied with 429 when either rate is *greater than* its limit. haproxy's
// http_req_rate is a sliding-window estimate over two fixed periods
// (freq_ctr.h, read_freq_ctr_period): the current period's count plus the
// previous period's count weighted by the share of the window it still
// covers. We reproduce that estimate exactly, per network (one limiter per
// listener context) and for IPv4 and IPv6 sources at once, where neutron
// can limit only one address family.
//
// Cost per request: two Map operations (delete + set keeps the entries in
// last-access order, so expiry and eviction of the oldest are O(1) amortised).

export interface RateLimitWindow {
  /** Window length (neutron: base/burst_window_duration, in seconds there). */
  readonly windowMs: number;
  /** Requests allowed within the window (base/burst_query_rate_limit). */
  readonly limit: number;
}

export interface RateLimiterOptions {
  readonly base: RateLimitWindow;
  readonly burst: RateLimitWindow;
  /** Sources remembered at once (haproxy `size 10k`); the least recently seen go first. */
  readonly maxEntries: number;
  /** Monotonic milliseconds. */
  readonly now: () => number;
}

/** One haproxy freq_ctr: counts in the current and previous period. */
interface Counter {
  periodStart: number;
  current: number;
  previous: number;
}

interface Entry {
  lastSeen: number;
  readonly base: Counter;
  readonly burst: Counter;
}

export class RateLimiter {
  readonly #opts: RateLimiterOptions;
  readonly #expireMs: number;
  readonly #entries = new Map<string, Entry>();

  constructor(options: RateLimiterOptions) {
    this.#opts = options;
    this.#expireMs = Math.max(options.base.windowMs, options.burst.windowMs);
  }

  /** Sources currently tracked. */
  get size(): number {
    return this.#entries.size;
  }

  /** Counts one request from `source`; false means answer 429. */
  hit(source: string): boolean {
    const now = this.#opts.now();
    let entry = this.#entries.get(source);
    if (entry !== undefined && now - entry.lastSeen < this.#expireMs) {
      this.#entries.delete(source); // re-inserted below: keeps last-access order
    } else {
      if (entry !== undefined) this.#entries.delete(source);
      this.#evict(now);
      entry = { lastSeen: now, base: counter(now), burst: counter(now) };
    }
    entry.lastSeen = now;
    this.#entries.set(source, entry);
    const baseRate = increment(entry.base, this.#opts.base.windowMs, now);
    const burstRate = increment(entry.burst, this.#opts.burst.windowMs, now);
    return baseRate <= this.#opts.base.limit && burstRate <= this.#opts.burst.limit;
  }

  /** Drops expired entries (oldest first), then the oldest beyond capacity. */
  #evict(now: number): void {
    for (const [source, entry] of this.#entries) {
      if (now - entry.lastSeen < this.#expireMs && this.#entries.size < this.#opts.maxEntries) break;
      this.#entries.delete(source);
    }
  }
}

function counter(now: number): Counter {
  return { periodStart: now, current: 0, previous: 0 };
}

/** update_freq_ctr_period + read_freq_ctr_period: returns the rate after
 *  counting this request. */
function increment(c: Counter, period: number, now: number): number {
  const elapsed = now - c.periodStart;
  if (elapsed >= period) {
    const periods = Math.floor(elapsed / period);
    c.previous = periods === 1 ? c.current : 0;
    c.current = 0;
    c.periodStart += periods * period;
  }
  c.current++;
  const remaining = period - (now - c.periodStart);
  return c.current + Math.floor((c.previous * remaining) / period);
}
