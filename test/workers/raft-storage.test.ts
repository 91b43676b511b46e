/**
 * The replica's SQLite Raft log against the in-memory reference storage that
 * the Raft tests use: the same appends, overwrites and compactions, then the
 * same answers, whether an entry comes from the in-memory cache of recent
 * entries or from SQLite, and after reloading from SQLite alone. Runs in
 * workerd, on the SQLite database of a scratch Durable Object (the discovery
 * rate limiter class, whose own tables are not touched).
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MemoryStorage, type Entry, type Storage } from "../../src/raft/index.ts";
import { SqliteRaftStorage } from "../../src/replica/raft-storage.ts";

const scratch = (name: string) =>
  (env as unknown as { DISCOVERY_LIMITER: DurableObjectNamespace }).DISCOVERY_LIMITER.getByName(`raft-storage-test-${name}`);

function entriesFrom(first: number, count: number, term: number): Entry[] {
  return Array.from({ length: count }, (_, k) => ({ index: first + k, term, type: "normal" as const, data: `e${first + k}t${term}` }));
}

/** Every answer the Raft core can ask for, over the whole stored range and its edges. */
function expectSame(actual: Storage, expected: Storage): void {
  expect(actual.firstIndex()).toBe(expected.firstIndex());
  expect(actual.lastIndex()).toBe(expected.lastIndex());
  const first = expected.firstIndex();
  const last = expected.lastIndex();
  for (let i = first - 1; i <= last + 1; i++) expect(actual.term(i), `term(${i})`).toBe(expected.term(i));
  const probes = [first, first + 1, Math.floor((first + last) / 2), last - 4200, last - 4096, last - 100, last, last + 1];
  for (const lo of probes.filter((x) => x >= first && x <= last + 1)) {
    for (const hi of [lo, lo + 1, lo + 300, last + 1].filter((x) => x >= lo && x <= last + 1)) {
      expect(actual.entries(lo, hi), `entries(${lo}, ${hi})`).toEqual(expected.entries(lo, hi));
    }
  }
  expect(actual.entries(first, last + 1, 50)).toEqual(expected.entries(first, last + 1, 50));
}

describe("SqliteRaftStorage matches MemoryStorage", () => {
  it("across the cache boundary, after overwrites and compaction, and after a reload", async () => {
    await runInDurableObject(scratch("main"), (_instance, ctx) => {
      const stored = new SqliteRaftStorage(ctx.storage);
      const reference = new MemoryStorage();
      const both = (f: (s: SqliteRaftStorage | MemoryStorage) => void) => {
        f(stored);
        f(reference);
      };
      // 10,000 entries in Ready-sized appends: more than twice the cache.
      for (let first = 1; first <= 10_000; first += 16) both((s) => s.append(entriesFrom(first, Math.min(16, 10_001 - first), 1)));
      expectSame(stored, reference);

      // A new leader overwrites an uncommitted suffix, inside the cache and then below it.
      both((s) => s.append(entriesFrom(9_990, 5, 2)));
      expectSame(stored, reference);
      both((s) => s.append(entriesFrom(3_000, 20, 3)));
      expectSame(stored, reference);
      for (let first = 3_020; first <= 12_000; first += 25) both((s) => s.append(entriesFrom(first, 25, 3)));
      expectSame(stored, reference);

      // Compaction to a snapshot, then more appends.
      const snapshot = { meta: { index: 7_000, term: 3, config: { voters: ["a"], learners: [] } }, data: "state" };
      both((s) => s.compact(snapshot));
      expectSame(stored, reference);
      both((s) => s.append(entriesFrom(12_020, 40, 4)));
      expectSame(stored, reference);

      // A reload reads everything back from SQLite (nothing cached yet).
      expectSame(new SqliteRaftStorage(ctx.storage), reference);
      expect(new SqliteRaftStorage(ctx.storage).snapshot()).toEqual(snapshot);
    });
  }, 60_000);
});
