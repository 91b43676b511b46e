/**
 * The /new rate limit: one small Durable Object per client address, holding
 * the times of the tokens it handed out in the last minute (a sliding log, so
 * "at most N per minute" holds exactly over every 60-second window, not just
 * per clock minute).
 *
 * Why a Durable Object and not memory: a Worker runs as many isolates in many
 * places, each with its own memory, so an in-memory count would limit nothing.
 * One object per address keeps every object tiny and spreads the load; its
 * alarm deletes the object's storage once the address has been quiet for a
 * minute, so idle addresses cost nothing.
 */
import { DurableObject } from "cloudflare:workers";

export const WINDOW_MS = 60_000;
const RECENT = "recent";

export interface LimitDecision {
  allowed: boolean;
  /** Whole seconds until one more request would be allowed (0 when allowed). */
  retryAfterSeconds: number;
}

/** What the router calls over RPC; `perMinute` comes from the Worker's config. */
export interface RateLimiterApi {
  take(perMinute: number): Promise<LimitDecision>;
}

export class DiscoveryRateLimiter extends DurableObject implements RateLimiterApi {
  /** Records one request if the address is under `perMinute` in the last minute. */
  async take(perMinute: number): Promise<LimitDecision> {
    const now = Date.now();
    const recent = this.recent(now);
    if (recent.length >= perMinute) {
      // The window frees a slot when enough of the oldest entries have aged out.
      const freesAt = recent[recent.length - perMinute] + WINDOW_MS;
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((freesAt - now) / 1000)) };
    }
    recent.push(now);
    this.ctx.storage.kv.put(RECENT, recent);
    await this.ctx.storage.setAlarm(recent[0] + WINDOW_MS);
    return { allowed: true, retryAfterSeconds: 0 };
  }

  /** Drops entries that left the window; forgets the address entirely once none is left. */
  async alarm(): Promise<void> {
    const now = Date.now();
    const recent = this.recent(now);
    if (recent.length === 0) {
      await this.ctx.storage.deleteAll();
      return;
    }
    this.ctx.storage.kv.put(RECENT, recent);
    await this.ctx.storage.setAlarm(recent[0] + WINDOW_MS);
  }

  private recent(now: number): number[] {
    return (this.ctx.storage.kv.get<number[]>(RECENT) ?? []).filter((t) => t > now - WINDOW_MS);
  }
}
