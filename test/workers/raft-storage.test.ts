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
import { Usage } from "../../src/replica/usage.ts";
import { MAX_ENTRY_BYTES } from "../../src/server/limits.ts";

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
      const first = { meta: { index: 7_000, term: 3, config: { voters: ["a"], learners: [] } }, data: "state" };
      both((s) => s.compact(first));
      expectSame(stored, reference);
      both((s) => s.append(entriesFrom(12_020, 40, 4)));
      expectSame(stored, reference);

      // A second compaction drops the first generation of rows; a suffix
      // overwritten across two generations; then a third compaction.
      const second = { meta: { index: 12_030, term: 4, config: { voters: ["a"], learners: [] } }, data: "state 2" };
      both((s) => s.compact(second));
      both((s) => s.append(entriesFrom(12_060, 30, 4)));
      expectSame(stored, reference);
      both((s) => s.append(entriesFrom(12_050, 10, 5)));
      expectSame(stored, reference);
      expectSame(new SqliteRaftStorage(ctx.storage), reference);
      const snapshot = { meta: { index: 12_055, term: 5, config: { voters: ["a"], learners: [] } }, data: "state 3" };
      both((s) => s.compact(snapshot));
      expectSame(stored, reference);

      // A reload reads everything back from SQLite (nothing cached yet).
      expectSame(new SqliteRaftStorage(ctx.storage), reference);
      expect(new SqliteRaftStorage(ctx.storage).snapshot()).toEqual(snapshot);
    });
  }, 60_000);
});

describe("what the log costs in rows written", () => {
  it("an entry is one row; compaction drops tables, writing a few rows whatever the number of entries it covers", async () => {
    await runInDurableObject(scratch("rows"), (_instance, ctx) => {
      const usage = new Usage();
      usage.meter(ctx.storage.sql);
      const written = (work: () => void) => {
        const before = usage.read(0).rowsWritten;
        work();
        return usage.read(0).rowsWritten - before;
      };
      const stored = new SqliteRaftStorage(ctx.storage);
      expect(written(() => stored.append(entriesFrom(1, 1000, 1)))).toBe(1000);
      const meta = { index: 990, term: 1, config: { voters: ["a"], learners: [] } };
      // The snapshot's rows, its meta, the list of tables and the new table's
      // schema: the same few rows for the 990 entries here as for 1,005 below.
      const first = written(() => stored.compact({ meta, data: "state" }));
      expect(first).toBeLessThanOrEqual(10);
      expect(written(() => stored.append(entriesFrom(1001, 1000, 1)))).toBe(1000);
      const second = written(() => stored.compact({ meta: { ...meta, index: 1995 }, data: "state" }));
      console.log(`rows written by compactions of 990 and 1,005 entries: ${first}, ${second}`);
      expect(second).toBeLessThanOrEqual(first + 2);
      expect(stored.entryCount()).toBe(5);
      expect(new SqliteRaftStorage(ctx.storage).entries(1996, 2001).map((e) => e.index)).toEqual([1996, 1997, 1998, 1999, 2000]);
    });
  });
});

describe("SqliteRaftStorage within a row's size and an isolate's memory", () => {
  it("keeps a snapshot in rows cut by UTF-8 size, never inside a surrogate pair, and reads it back whole", async () => {
    await runInDurableObject(scratch("snapshot-chunks"), (_instance, ctx) => {
      const stored = new SqliteRaftStorage(ctx.storage);
      // Three-byte characters, then an emoji (a surrogate pair) at every
      // position around where a cut by characters or by bytes would fall.
      const data = "€".repeat(Math.floor(MAX_ENTRY_BYTES / 3) - 2) + "😀".repeat(10) + "\u0001".repeat(MAX_ENTRY_BYTES) + "😀€a".repeat(200_000);
      const snapshot = { meta: { index: 5, term: 1, config: { voters: ["a"], learners: [] } }, data };
      stored.append(entriesFrom(1, 5, 1));
      stored.compact(snapshot);
      const rows = ctx.storage.sql.exec<{ bytes: number }>(`SELECT length(CAST(data AS BLOB)) AS bytes FROM raft_snapshot_chunk ORDER BY chunk`).toArray();
      expect(rows.length).toBeGreaterThan(2);
      for (const row of rows) expect(row.bytes).toBeLessThanOrEqual(MAX_ENTRY_BYTES);
      expect(new SqliteRaftStorage(ctx.storage).snapshot().data === data).toBe(true);
    });
  }, 60_000);

  it("keeps at most a few MB of the newest entries in memory, whatever their count", async () => {
    await runInDurableObject(scratch("cache-bytes"), (_instance, ctx) => {
      const stored = new SqliteRaftStorage(ctx.storage);
      const big = (index: number) => ({ index, term: 1, type: "normal" as const, data: `${index}:`.padEnd(1_900_000, "x") });
      for (let i = 1; i <= 12; i++) stored.append([big(i)]);
      // The cache is private: read its size the way a heap snapshot would see it.
      const cached = (stored as unknown as { recent: Entry[] }).recent;
      expect(cached.reduce((sum, e) => sum + e.data.length, 0)).toBeLessThan(2 * 4 * 1024 * 1024);
      expect(cached.at(-1)!.index).toBe(12);
      // Entries older than the cache come from SQLite, the same.
      expect(stored.entries(1, 13).map((e) => e.data.slice(0, 3))).toEqual(Array.from({ length: 12 }, (_, k) => `${k + 1}:`.padEnd(3, "x")));
    });
  }, 60_000);
});
