/**
 * A member's budget of password derivations: a token bucket, so that a
 * flood of new passwords (each a PBKDF2 derivation of about 30 ms of the
 * replica's one thread, see src/v2/password.ts) cannot take the thread
 * from everything else. Only checks that need a new derivation spend from
 * it (VerifiedCredentials answers repeated credentials from its cache, and
 * shares a check already running); past it a check is refused at once,
 * without deriving, and the API answers "too many requests" (v3's
 * ResourceExhausted, HTTP 429), which tells the client to back off rather
 * than that its password is wrong. etcd has no such bound: each new
 * password costs it a bcrypt.
 *
 * The figures: a derivation takes about 30 ms, so 10 a second is at most
 * about 300 ms of every second, a third of the thread at worst, the rest
 * left to everything else. 20 in the bucket lets a burst of new
 * credentials through at once (20 distinct users logging in together, or
 * a fleet restarting: the clients of one user share one derivation), about
 * 600 ms of work. A real client sends the same credentials each time and
 * costs nothing after its first check, so it only meets the bound when
 * its first check falls inside a flood; it then gets 429 and tries again.
 */
import type { Clock } from "./clock.ts";

/** Derivations a member may start at once, from a full bucket. */
export const PASSWORD_CHECK_BURST = 20;
/** Derivations a member may start each second, sustained. */
export const PASSWORD_CHECKS_PER_SECOND = 10;

/** etcd's rpctypes.ErrTooManyRequests, the text both APIs answer a refused check with. */
export const TOO_MANY_REQUESTS = "etcdserver: too many requests";

/** A password check refused because the member's budget of derivations is spent; nothing was derived or remembered. */
export class TooManyPasswordChecks extends Error {
  constructor() {
    super(TOO_MANY_REQUESTS);
    this.name = "TooManyPasswordChecks";
  }
}

export class PasswordCheckBudget {
  private tokens: number;
  private last: number;

  constructor(
    /** The host's clock (the Durable Object's, or a test's). */
    private readonly clock: Pick<Clock, "now">,
    private readonly burst = PASSWORD_CHECK_BURST,
    private readonly perSecond = PASSWORD_CHECKS_PER_SECOND,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  /** Spends one derivation if there is one to spend. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** What is left now (whole or not), for tests and metrics. */
  available(): number {
    this.refill();
    return this.tokens;
  }

  private refill(): void {
    const now = this.clock.now();
    // A clock that steps back refills nothing, and counts on from there.
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.perSecond) / 1000);
  }
}
