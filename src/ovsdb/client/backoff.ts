// Reconnect pacing across cluster members (pure).
//
// A failed attempt moves straight on to the next member; only when a whole
// round of members has failed does the client wait, doubling per round from
// BASE_BACKOFF_MS up to maxBackoffMs, with "equal jitter" (half fixed, half
// random) so that many agents restarted together do not reconnect in step.
// The failure count resets after a successful sync.

export const BASE_BACKOFF_MS = 250;

export function backoffDelay(
  failures: number,
  members: number,
  maxBackoffMs: number,
  random: () => number,
): number {
  if (failures === 0 || failures % members !== 0) return 0;
  const round = failures / members;
  const cap = Math.min(maxBackoffMs, BASE_BACKOFF_MS * 2 ** Math.min(round - 1, 30));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/** Fisher–Yates: members are tried in random order so agents spread their load. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
