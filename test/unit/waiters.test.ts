/** The replica's table of requests waiting on Raft: settle by key, expire by deadline. */
import { describe, expect, it } from "vitest";
import { Waiters } from "../../src/server/waiters.ts";

describe("Waiters", () => {
  it("hands a waiter to whoever takes it, once, with what it carried", async () => {
    const w = new Waiters<number, string, { term: number }>();
    const p = w.wait(7, { term: 3 }, 1_000);
    const got = w.take(7)!;
    expect(got.term).toBe(3);
    got.resolve("applied");
    await expect(p).resolves.toBe("applied");
    expect(w.take(7)).toBeUndefined();
  });

  it("rejects only the waiters past their deadline, with the error given", async () => {
    const w = new Waiters<string, void, { index: number | null }>();
    const early = w.wait("a", { index: null }, 100);
    const late = w.wait("b", { index: null }, 300);
    w.expire(200, () => new Error("etcdserver: request timed out"));
    await expect(early).rejects.toThrow("etcdserver: request timed out");
    expect(w.get("a")).toBeUndefined();
    w.get("b")!.index = 5;
    for (const [key, waiter] of w.entries()) if (waiter.index === 5) w.take(key)!.resolve();
    await expect(late).resolves.toBeUndefined();
    expect([...w.entries()]).toEqual([]);
  });
});
