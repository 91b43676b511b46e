/**
 * The replica's SQLite v3 backend against the in-memory one the unit tests
 * use: the same seeded puts (some with leases), deletes, transactions,
 * compactions, lease grants and revokes through
 * the same MVCC rules, then the same answers to ranges at every revision,
 * the same dump, and the same state after reopening SQLite alone. Binary keys
 * and values included, since SQLite must order BLOBs byte by byte as etcd
 * does. Runs in workerd on a scratch Durable Object's database.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../src/raft/index.ts";
import { SqliteMvccBackend } from "../../src/replica/mvcc-sqlite.ts";
import type { MvccBackend } from "../../src/v3/backend.ts";
import { Keyspace } from "../../src/v3/keyspace.ts";
import { MemoryBackend } from "../../src/v3/memory-backend.ts";
import { rangeRequest } from "../../src/v3/requests.ts";
import type { V3Command } from "../../src/v3/types.ts";

const scratch = (name: string) =>
  (env as unknown as { DISCOVERY_LIMITER: DurableObjectNamespace }).DISCOVERY_LIMITER.getByName(`mvcc-test-${name}`);

const KEYS = ["a", "a\u0000", "a/b", "b", "\u0000", "\u00ff", "\u0080x", "zz"];

const rangeReq = (key: string, rangeEnd: string, revision: number) => rangeRequest(key, { rangeEnd, revision });

function randomCommand(rng: () => number, revision: number): V3Command {
  const key = () => KEYS[Math.floor(rng() * KEYS.length)];
  const roll = rng();
  const lease = [0, 0, 1, 2][Math.floor(rng() * 4)];
  if (roll < 0.08) return { op: "leaseGrant", req: { id: 1 + Math.floor(rng() * 2), ttl: 60 } };
  if (roll < 0.12) return { op: "leaseRevoke", req: { id: 1 + Math.floor(rng() * 2) } };
  if (roll < 0.5) return { op: "put", req: { key: key(), value: `v${Math.floor(rng() * 1000)}\u0000\u00ff`, lease, prevKv: true, ignoreValue: false, ignoreLease: false } };
  if (roll < 0.7) {
    const [a, b] = [key(), key()].sort();
    return { op: "deleteRange", req: { key: a, rangeEnd: rng() < 0.3 ? "\0" : b, prevKv: true } };
  }
  if (roll < 0.9) {
    return {
      op: "txn",
      req: {
        compare: [{ key: key(), rangeEnd: "", target: "VERSION", result: "GREATER", version: 0, createRevision: 0, modRevision: 0, value: "", lease: 0 }],
        success: [{ put: { key: "t1", value: "s", lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false } }, { range: rangeReq("\0", "\0", 0) }],
        failure: [{ deleteRange: { key: "t1", rangeEnd: "", prevKv: true } }],
      },
    };
  }
  return { op: "compact", req: { revision: Math.max(1, revision - Math.floor(rng() * 5)), physical: false } };
}

/** Every range over every pair of probe keys, at every revision still readable. */
function answers(backend: MvccBackend): unknown[] {
  const ks = new Keyspace(backend);
  const out: unknown[] = [];
  for (let rev = backend.compacted(); rev <= backend.revision(); rev++) {
    if (rev < 1) continue;
    for (const a of KEYS) {
      for (const end of ["", "\0", ...KEYS]) out.push(ks.range(rangeReq(a, end, rev)));
    }
  }
  return out;
}

describe("SqliteMvccBackend matches MemoryBackend", () => {
  it("through seeded writes, transactions and compactions, and after reopening", async () => {
    await runInDurableObject(scratch("main"), (_instance, ctx) => {
      const sqlite = new SqliteMvccBackend(ctx.storage);
      const memory = new MemoryBackend();
      const [a, b] = [new Keyspace(sqlite), new Keyspace(memory)];
      const rng = seededRandom(7);
      for (let i = 1; i <= 300; i++) {
        const cmd = randomCommand(rng, memory.revision());
        let fromSqlite: unknown;
        sqlite.applyAt(i, () => (fromSqlite = a.apply(cmd)));
        const fromMemory = b.apply(cmd);
        expect(fromSqlite, `command ${i}: ${JSON.stringify(cmd)}`).toEqual(fromMemory);
        if (i % 60 === 0) expect(answers(sqlite), `ranges after command ${i}`).toEqual(answers(memory));
      }
      expect(sqlite.dump()).toEqual(memory.dump());
      const reopened = new SqliteMvccBackend(ctx.storage);
      expect([reopened.revision(), reopened.compacted(), reopened.appliedIndex()]).toEqual([memory.revision(), memory.compacted(), 300]);
      expect(answers(reopened)).toEqual(answers(memory));

      // A snapshot's contents replace everything.
      const other = new MemoryBackend();
      new Keyspace(other).apply({ op: "put", req: { key: "only", value: "1", lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false } });
      reopened.load(other.dump(), 999);
      expect(reopened.dump()).toEqual(other.dump());
      expect(new SqliteMvccBackend(ctx.storage).appliedIndex()).toBe(999);
    });
  }, 60_000);
});
