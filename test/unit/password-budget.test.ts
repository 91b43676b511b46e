/**
 * The bound on new password checks (src/server/password-budget.ts): a
 * token bucket on the host's clock, spent only by checks that derive;
 * cache hits and checks that join one already running are free, and a
 * refused check is not remembered as a wrong password. (The answers the
 * APIs give a refusal are tested in test/workers/password-flood.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { PASSWORD_CHECK_BURST, PASSWORD_CHECKS_PER_SECOND, PasswordCheckBudget, TooManyPasswordChecks } from "../../src/server/password-budget.ts";
import { VerifiedCredentials } from "../../src/server/verified-credentials.ts";
import { hashPassword } from "../../src/v2/password.ts";

/** A clock that moves only when told. */
function manualClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe("the budget of password checks", () => {
  it("allows a burst, refuses past it, and refills over time up to the burst", () => {
    const clock = manualClock();
    const budget = new PasswordCheckBudget(clock);
    for (let i = 0; i < PASSWORD_CHECK_BURST; i++) expect(budget.take(), `check ${i + 1} of the burst`).toBe(true);
    expect(budget.take(), "one past the burst").toBe(false);
    expect(budget.take(), "still nothing while the clock stands still").toBe(false);

    clock.advance(1000 / PASSWORD_CHECKS_PER_SECOND - 1);
    expect(budget.take(), "not yet a whole check").toBe(false);
    clock.advance(1);
    expect(budget.take(), "one check's worth of time").toBe(true);
    expect(budget.take()).toBe(false);

    clock.advance(1000);
    for (let i = 0; i < PASSWORD_CHECKS_PER_SECOND; i++) expect(budget.take(), `check ${i + 1} after a second`).toBe(true);
    expect(budget.take()).toBe(false);

    clock.advance(3_600_000);
    expect(budget.available(), "an hour idle fills the bucket, no more").toBe(PASSWORD_CHECK_BURST);
  });

  it("refills nothing when the clock steps back, and counts on from there", () => {
    const clock = manualClock();
    const budget = new PasswordCheckBudget(clock, 1, 10);
    expect(budget.take()).toBe(true);
    clock.advance(-5000);
    expect(budget.take()).toBe(false);
    clock.advance(100);
    expect(budget.take()).toBe(true);
  });
});

describe("verified credentials under the budget", () => {
  it("spend only on new derivations: cache hits and shared checks are free; a refusal is not remembered", async () => {
    const clock = manualClock();
    const budget = new PasswordCheckBudget(clock, 3, 10);
    const verified = new VerifiedCredentials(budget);
    const hash = await hashPassword("right");

    // A burst of the same new credentials waits for one derivation.
    expect(await Promise.all(Array.from({ length: 5 }, () => verified.check("u", "right", hash)))).toEqual([true, true, true, true, true]);
    expect(budget.available(), "five concurrent checks of one pair cost one").toBe(2);
    for (let i = 0; i < 3; i++) expect(await verified.check("u", "right", hash)).toBe(true);
    expect(budget.available(), "cache hits cost nothing").toBe(2);

    // Wrong passwords cost one each, once.
    expect(await verified.check("u", "wrong-1", hash)).toBe(false);
    expect(await verified.check("u", "wrong-1", hash)).toBe(false);
    expect(await verified.check("u", "wrong-2", hash)).toBe(false);
    expect(budget.available()).toBe(0);

    // Spent: a new pair is refused at once, whatever its password; known pairs still answer.
    await expect(verified.check("u", "wrong-3", hash)).rejects.toBeInstanceOf(TooManyPasswordChecks);
    const changed = await hashPassword("new");
    await expect(verified.check("u", "new", changed)).rejects.toThrow("etcdserver: too many requests");
    expect(await verified.check("u", "right", hash)).toBe(true);
    expect(await verified.check("u", "wrong-1", hash)).toBe(false);

    // Once the budget refills, the refused pair is checked afresh (not remembered as wrong) and succeeds.
    clock.advance(100);
    expect(await verified.check("u", "new", changed)).toBe(true);
    expect(budget.available()).toBe(0);
    expect(await verified.check("u", "new", changed), "and is remembered now").toBe(true);
  });
});
