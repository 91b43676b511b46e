/**
 * Time as the v2 API writes it. The store never reads a clock: callers pass
 * "now" in milliseconds since the epoch (carried inside each command, so every
 * replica computes the same expirations).
 */

/** RFC 3339 in UTC with fractional seconds, trailing zeros dropped (Go's RFC3339Nano), as etcd writes every time. */
export function goTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2024-01-01T00:00:05.120Z
  return iso.replace(/\.?0+Z$/, "Z");
}

/**
 * Remaining whole seconds as etcd reports them: the quotient truncated toward
 * zero, plus one when a positive remainder is left (so 4.2 s left → 5, and
 * 0.3 s past expiry → 0, which callers omit).
 */
export function remainingTTL(expireTime: number, now: number): number {
  const diff = expireTime - now;
  let ttl = Math.trunc(diff / 1000);
  if (diff % 1000 > 0) ttl++;
  return ttl;
}

// etcd treats an expiration before 2000-01-01 (only reachable by overflow) as permanent.
const MIN_EXPIRE_TIME = Date.UTC(2000, 0, 1);
// The largest TTL whose nanosecond duration still fits an int64 in etcd.
const MAX_TTL_SECONDS = 9223372036;

/** Absolute expiry for a TTL in seconds given at `now`; 0 means permanent. */
export function expireTimeFor(ttl: number | null, now: number): number {
  if (ttl === null || ttl > MAX_TTL_SECONDS) return 0;
  const t = now + ttl * 1000;
  return t < MIN_EXPIRE_TIME ? 0 : t;
}
