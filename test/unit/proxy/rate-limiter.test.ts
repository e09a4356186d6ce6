import { describe, expect, it } from 'vitest';

import { RateLimiter } from '../../../src/proxy/rate-limiter.js';

function limiter(
  base = { windowMs: 10_000, limit: 10 },
  burst = { windowMs: 10_000, limit: 10 },
  maxEntries = 10_000,
) {
  const clock = { now: 0 };
  return { clock, limiter: new RateLimiter({ base, burst, maxEntries, now: () => clock.now }) };
}

const hits = (l: RateLimiter, source: string, n: number): boolean[] =>
  Array.from({ length: n }, () => l.hit(source));

describe('RateLimiter (haproxy http_req_rate semantics)', () => {
  it('allows the limit and refuses the request that exceeds it', () => {
    const { limiter: l } = limiter();
    expect(hits(l, '10.0.0.5', 10)).toEqual(Array(10).fill(true));
    expect(l.hit('10.0.0.5')).toBe(false);
  });

  it('counts per source, IPv4 and IPv6 alike', () => {
    const { limiter: l } = limiter();
    hits(l, '10.0.0.5', 11);
    expect(l.hit('10.0.0.6')).toBe(true);
    expect(hits(l, '2001:db8::5', 10)).toEqual(Array(10).fill(true));
    expect(l.hit('2001:db8::5')).toBe(false);
  });

  it('counts refused requests too, as haproxy tracks before it denies', () => {
    const { clock, limiter: l } = limiter();
    hits(l, 'a', 15); // 10 allowed, 5 refused: 15 in the period
    clock.now = 9_000;
    expect(l.hit('a')).toBe(false); // 16
    clock.now = 15_000; // next period, half-way: 1 + floor(16 * 0.5) = 9
    expect(l.hit('a')).toBe(true);
  });

  it('slides: the previous period weighs by the share of the window it still covers', () => {
    const { clock, limiter: l } = limiter();
    hits(l, 'a', 10);
    clock.now = 9_000;
    expect(l.hit('a')).toBe(false); // 11 in the first period
    clock.now = 12_000; // previous 11 weighs 80% -> floor(8.8) = 8
    expect(l.hit('a')).toBe(true); // 1 + 8
    expect(l.hit('a')).toBe(true); // 2 + 8
    expect(l.hit('a')).toBe(false); // 3 + 8
    clock.now = 40_000; // idle longer than the stick-table expiry: forgotten
    expect(hits(l, 'a', 10)).toEqual(Array(10).fill(true));
  });

  it('enforces a short burst window as well as the base window', () => {
    const { clock, limiter: l } = limiter({ windowMs: 60_000, limit: 30 }, { windowMs: 1_000, limit: 5 });
    expect(hits(l, 'a', 5)).toEqual(Array(5).fill(true));
    expect(l.hit('a')).toBe(false); // burst exceeded
    for (let t = 2_000; t <= 10_000; t += 2_000) {
      clock.now = t;
      expect(hits(l, 'a', 4)).toEqual(Array(4).fill(true)); // burst ok again
    }
    // base: 6 + 20 = 26 within the minute, burst fresh: 4 more pass, then base refuses
    clock.now = 12_000;
    expect(hits(l, 'a', 5)).toEqual([true, true, true, true, false]);
  });

  it('forgets idle sources after the longest window and keeps at most maxEntries', () => {
    const { clock, limiter: l } = limiter({ windowMs: 1_000, limit: 1 }, { windowMs: 2_000, limit: 1 }, 3);
    l.hit('a');
    l.hit('b');
    clock.now = 1_500;
    l.hit('c');
    l.hit('d'); // capacity 3: 'a' (least recently seen) goes
    expect(l.size).toBe(3);
    expect(l.hit('a')).toBe(true); // a fresh entry; 'b' goes
    clock.now = 10_000;
    l.hit('e'); // everything else expired
    expect(l.size).toBe(1);
  });
});
