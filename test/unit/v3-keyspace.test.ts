/**
 * The v3 MVCC rules (src/v3), on the in-memory backend: revisions, versions,
 * tombstones, ranges and their options, transactions, compaction, and the
 * checks made before a request reaches Raft. Expected figures follow real
 * etcd 3.4's answers (../shared/reference/etcd-v3-api.md §1.5).
 */
import { describe, expect, it } from "vitest";
import { decodeV3Command, encodeV3Entry } from "../../src/v3/command.ts";
import { Keyspace } from "../../src/v3/keyspace.ts";
import { MemoryBackend } from "../../src/v3/memory-backend.ts";
import { decodeDump, encodeDump } from "../../src/v3/snapshot.ts";
import type { Compare, KeyValue, RangeRequest, RequestOp, TxnRequest, V3Command, V3Result } from "../../src/v3/types.ts";
import { checkPut, checkTxn } from "../../src/v3/validate.ts";
import { putRequest, rangeRequest } from "../../src/v3/requests.ts";

const range = rangeRequest;
const put = (key: string, value: string, extra = {}): V3Command => ({ op: "put", req: putRequest(key, value, extra) });
const del = (key: string, rangeEnd = "", prevKv = false): V3Command => ({ op: "deleteRange", req: { key, rangeEnd, prevKv } });
const cmp = (key: string, extra: Partial<Compare>): Compare => ({
  key,
  rangeEnd: "",
  target: "VERSION",
  result: "EQUAL",
  version: 0,
  createRevision: 0,
  modRevision: 0,
  value: "",
  lease: 0,
  ...extra,
});
const op = (c: V3Command): RequestOp => (c.op === "put" ? { put: c.req } : c.op === "deleteRange" ? { deleteRange: c.req } : { empty: true });
const txn = (compare: Compare[], success: RequestOp[], failure: RequestOp[] = []): V3Command => ({ op: "txn", req: { compare, success, failure } });
const kv = (key: string, value: string, create: number, mod: number, version: number): KeyValue => ({
  key,
  value,
  createRevision: create,
  modRevision: mod,
  version,
  lease: 0,
});

function ok(r: V3Result) {
  if (!r.ok) throw new Error(`failed: ${r.error.message}`);
  return r;
}

describe("the v3 keyspace", () => {
  it("starts at revision 1; each change takes the next revision and bumps version, keeping create_revision", () => {
    const ks = new Keyspace(new MemoryBackend());
    expect(ks.revision()).toBe(1);
    expect(ok(ks.apply(put("foo", "bar")))).toEqual({ ok: true, put: { revision: 2 } });
    expect(ok(ks.apply(put("foo", "baz", { prevKv: true })))).toEqual({ ok: true, put: { revision: 3, prevKv: kv("foo", "bar", 2, 2, 1) } });
    // The same value again still makes a new revision and version.
    ok(ks.apply(put("foo", "baz")));
    expect(ks.range(range("foo"))).toEqual({ revision: 4, kvs: [kv("foo", "baz", 2, 4, 3)], more: false, count: 1 });
  });

  it("reads any past revision; a delete leaves a tombstone, and a new put starts a new generation", () => {
    const ks = new Keyspace(new MemoryBackend());
    ok(ks.apply(put("a", "1"))); // 2
    ok(ks.apply(put("a", "2"))); // 3
    expect(ok(ks.apply(del("a", "", true)))).toEqual({ ok: true, deleteRange: { revision: 4, deleted: 1, prevKvs: [kv("a", "2", 2, 3, 2)] } });
    ok(ks.apply(put("a", "3"))); // 5
    expect(ks.range(range("a", { revision: 2 })).kvs).toEqual([kv("a", "1", 2, 2, 1)]);
    expect(ks.range(range("a", { revision: 4 })).kvs).toEqual([]);
    expect(ks.range(range("a")).kvs).toEqual([kv("a", "3", 5, 5, 1)]);
    // Deleting nothing takes no revision.
    expect(ok(ks.apply(del("missing")))).toEqual({ ok: true, deleteRange: { revision: 5, deleted: 0, prevKvs: [] } });
  });

  it("ranges: range_end, \\0 for every key, limit with more, count before limit and filters, keys_only, count_only", () => {
    const ks = new Keyspace(new MemoryBackend());
    for (const k of ["foo/a", "foo/b", "foo/c", "zoo", "\u00ff"]) ok(ks.apply(put(k, `v${k}`)));
    const r = ks.range(range("foo/", { rangeEnd: "foo0", limit: 2 }));
    expect([r.kvs.map((x) => x.key), r.more, r.count]).toEqual([["foo/a", "foo/b"], true, 3]);
    expect(ks.range(range("\0", { rangeEnd: "\0" })).kvs.map((x) => x.key)).toEqual(["foo/a", "foo/b", "foo/c", "zoo", "\u00ff"]);
    expect(ks.range(range("foo/b", { rangeEnd: "\0" })).count).toBe(4);
    const filtered = ks.range(range("foo/", { rangeEnd: "foo0", minModRevision: 3 }));
    expect([filtered.kvs.map((x) => x.key), filtered.count]).toEqual([["foo/b", "foo/c"], 3]);
    expect(ks.range(range("foo/a", { keysOnly: true })).kvs).toEqual([{ ...kv("foo/a", "", 2, 2, 1) }]);
    expect(ks.range(range("foo/", { rangeEnd: "foo0", countOnly: true }))).toEqual({ revision: 6, kvs: [], more: false, count: 3 });
    // An end at or before the key holds nothing.
    expect(ks.range(range("foo/b", { rangeEnd: "foo/a" })).count).toBe(0);
  });

  it("sorts by any target; a target other than KEY ascends unless told otherwise", () => {
    const ks = new Keyspace(new MemoryBackend());
    ok(ks.apply(put("b", "1")));
    ok(ks.apply(put("a", "3")));
    ok(ks.apply(put("c", "2")));
    ok(ks.apply(put("c", "2")));
    const keys = (extra: Partial<RangeRequest>) => ks.range(range("a", { rangeEnd: "z", ...extra })).kvs.map((x) => x.key);
    expect(keys({ sortTarget: "VALUE" })).toEqual(["b", "c", "a"]);
    expect(keys({ sortTarget: "MOD", sortOrder: "DESCEND" })).toEqual(["c", "a", "b"]);
    expect(keys({ sortTarget: "VERSION", sortOrder: "DESCEND", limit: 1 })).toEqual(["c"]);
    expect(keys({ sortOrder: "DESCEND" })).toEqual(["c", "b", "a"]);
  });

  it("refuses reads before the compacted revision or after the current one; reads at the compacted revision itself", () => {
    const ks = new Keyspace(new MemoryBackend());
    for (let i = 0; i < 4; i++) ok(ks.apply(put("k", `${i}`))); // revisions 2..5
    expect(ok(ks.apply({ op: "compact", req: { revision: 4, physical: false } }))).toEqual({ ok: true, compact: { revision: 5 } });
    expect(() => ks.range(range("k", { revision: 3 }))).toThrow("etcdserver: mvcc: required revision has been compacted");
    expect(() => ks.range(range("k", { revision: 6 }))).toThrow("etcdserver: mvcc: required revision is a future revision");
    expect(ks.range(range("k", { revision: 4 })).kvs).toEqual([kv("k", "2", 2, 4, 3)]);
    expect(ks.range(range("k", { revision: -5 })).kvs).toEqual([kv("k", "3", 2, 5, 4)]);
    expect(ks.apply({ op: "compact", req: { revision: 4, physical: false } })).toEqual({
      ok: false,
      error: { code: 11, message: "etcdserver: mvcc: required revision has been compacted" },
    });
    expect(ks.apply({ op: "compact", req: { revision: 9, physical: false } })).toMatchObject({ ok: false, error: { code: 11 } });
  });

  it("compaction drops what no later read can see, and a key deleted before it is gone for good", () => {
    const backend = new MemoryBackend();
    const ks = new Keyspace(backend);
    ok(ks.apply(put("gone", "x"))); // 2
    ok(ks.apply(del("gone"))); // 3
    ok(ks.apply(put("kept", "1"))); // 4
    ok(ks.apply(put("kept", "2"))); // 5
    ok(ks.apply({ op: "compact", req: { revision: 5, physical: true } }));
    expect(backend.dump().versions).toEqual([kv("kept", "2", 4, 5, 2)]);
  });

  it("a transaction's changes share one revision; its ops see its own earlier writes; compares see the state before it", () => {
    const ks = new Keyspace(new MemoryBackend());
    ok(ks.apply(put("k1", "v1"))); // 2
    const t = txn(
      [cmp("k1", { target: "VALUE", value: "v1" })],
      [op(put("k1", "v2", { prevKv: true })), { range: range("k1") }, op(put("k2", "x"))],
      [{ range: range("k1") }],
    );
    const r = ok(ks.apply(t));
    expect(r).toEqual({
      ok: true,
      txn: {
        revision: 3,
        succeeded: true,
        responses: [
          { put: { revision: 3, prevKv: kv("k1", "v1", 2, 2, 1) } },
          { range: { revision: 3, kvs: [kv("k1", "v2", 2, 3, 2)], more: false, count: 1 } },
          { put: { revision: 3 } },
        ],
      },
    });
    // The compare now fails: only the failure branch, a read, runs, and no revision is taken.
    expect(ok(ks.apply(t))).toEqual({
      ok: true,
      txn: { revision: 3, succeeded: false, responses: [{ range: { revision: 3, kvs: [kv("k1", "v2", 2, 3, 2)], more: false, count: 1 } }] },
    });
  });

  it("compares: a missing key has every field 0, except that a VALUE compare on it fails; ranges need every key to hold", () => {
    const ks = new Keyspace(new MemoryBackend());
    ok(ks.apply(put("r/a", "1")));
    ok(ks.apply(put("r/b", "2")));
    const holds = (c: Compare) => (ok(ks.apply(txn([c], []))) as { txn: { succeeded: boolean } }).txn.succeeded;
    expect(holds(cmp("missing", {}))).toBe(true);
    expect(holds(cmp("missing", { target: "VALUE", value: "" }))).toBe(false);
    expect(holds(cmp("missing", { target: "CREATE", result: "LESS", createRevision: 1 }))).toBe(true);
    expect(holds(cmp("r/", { rangeEnd: "r0", target: "VERSION", result: "GREATER", version: 0 }))).toBe(true);
    expect(holds(cmp("r/", { rangeEnd: "r0", target: "VALUE", result: "EQUAL", value: "1" }))).toBe(false);
    expect(holds(cmp("r/a", { target: "MOD", result: "NOT_EQUAL", modRevision: 2 }))).toBe(false);
    expect(holds(cmp("r/b", { target: "LEASE", result: "EQUAL", lease: 0 }))).toBe(true);
  });

  it("nested transactions: their compares are decided up front, their header has no revision", () => {
    const ks = new Keyspace(new MemoryBackend());
    const inner: TxnRequest = { compare: [cmp("n", { target: "VERSION", result: "EQUAL", version: 0 })], success: [op(put("n", "in"))], failure: [] };
    const r = ok(ks.apply(txn([], [op(put("m", "out")), { txn: inner }])));
    expect(r).toEqual({
      ok: true,
      txn: { revision: 2, succeeded: true, responses: [{ put: { revision: 2 } }, { txn: { revision: 0, succeeded: true, responses: [{ put: { revision: 2 } }] } }] },
    });
  });

  it("a failing op undoes the whole transaction; a lease that does not exist is refused", () => {
    const ks = new Keyspace(new MemoryBackend());
    const r = ks.apply(txn([], [op(put("a", "1")), op(put("b", "", { ignoreValue: true }))]));
    expect(r).toEqual({ ok: false, error: { code: 3, message: "etcdserver: key not found" } });
    expect(ks.revision()).toBe(1);
    expect(ks.range(range("a")).count).toBe(0);
    expect(ks.apply(put("a", "1", { lease: 12345 }))).toEqual({ ok: false, error: { code: 5, message: "etcdserver: requested lease not found" } });
  });

  it("ignore_value and ignore_lease keep what the key holds", () => {
    const ks = new Keyspace(new MemoryBackend());
    ok(ks.apply(put("k", "v")));
    ok(ks.apply(put("k", "", { ignoreValue: true })));
    expect(ks.range(range("k")).kvs).toEqual([kv("k", "v", 2, 3, 2)]);
  });
});

describe("checks before Raft", () => {
  it("put: key, value and lease provided", () => {
    expect(() => checkPut({ key: "", value: "", lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false })).toThrow("etcdserver: key is not provided");
    expect(() => checkPut({ key: "k", value: "v", lease: 0, prevKv: false, ignoreValue: true, ignoreLease: false })).toThrow("etcdserver: value is provided");
    expect(() => checkPut({ key: "k", value: "", lease: 5, prevKv: false, ignoreValue: false, ignoreLease: true })).toThrow("etcdserver: lease is provided");
  });

  it("txn: at most 128 ops a branch; a key written twice, or put inside a deleted range, is a duplicate", () => {
    const puts = (n: number) => Array.from({ length: n }, (_, i) => op(put(`k${i}`, "v")));
    expect(() => checkTxn({ compare: [], success: puts(128), failure: [] })).not.toThrow();
    expect(() => checkTxn({ compare: [], success: puts(129), failure: [] })).toThrow("etcdserver: too many operations in txn request");
    const dup = "etcdserver: duplicate key given in txn request";
    expect(() => checkTxn({ compare: [], success: [op(put("k", "1")), op(put("k", "2"))], failure: [] })).toThrow(dup);
    expect(() => checkTxn({ compare: [], success: [op(put("d/1", "1")), op(del("d/", "d0"))], failure: [] })).toThrow(dup);
    // The two branches exclude each other; so do a nested transaction's.
    expect(() => checkTxn({ compare: [], success: [op(put("k", "1"))], failure: [op(put("k", "2"))] })).not.toThrow();
    const nested: TxnRequest = { compare: [], success: [op(put("k", "1"))], failure: [op(put("k", "2"))] };
    expect(() => checkTxn({ compare: [], success: [{ txn: nested }], failure: [] })).not.toThrow();
    expect(() => checkTxn({ compare: [], success: [{ txn: nested }, op(put("k", "3"))], failure: [] })).toThrow(dup);
    expect(() => checkTxn({ compare: [cmp("", {})], success: [], failure: [] })).toThrow("etcdserver: key is not provided");
  });
});

describe("encodings", () => {
  const bytes = "\u0000\u0001\"\\\u00ff\u0080 end";

  it("a command in the log keeps every byte, in base64", () => {
    const cmd = txn([cmp(bytes, { target: "VALUE", value: bytes })], [op(put(bytes, bytes))]);
    const entry = encodeV3Entry(cmd);
    expect(entry).not.toContain("\\u0000");
    expect(decodeV3Command(JSON.parse(entry).v3)).toEqual(cmd);
  });

  it("a snapshot's dump keeps every version and byte", () => {
    const backend = new MemoryBackend();
    const ks = new Keyspace(backend);
    ok(ks.apply(put(bytes, bytes)));
    ok(ks.apply(del(bytes)));
    const dump = backend.dump();
    const copy = new MemoryBackend();
    copy.load(decodeDump(JSON.parse(JSON.stringify(encodeDump(dump)))), 7);
    expect(copy.dump()).toEqual(dump);
    expect(copy.appliedIndex()).toBe(7);
  });
});

describe("the keyspace hash", () => {
  it("is equal for equal versions, differs for any other version, and ignores versions after the revision", async () => {
    const { hashVersions } = await import("../../src/v3/hash.ts");
    const a = [kv("k", "v", 2, 2, 1), kv("k", "w", 2, 3, 2)];
    expect(hashVersions(a, 3)).toBe(hashVersions(a.map((x) => ({ ...x })), 3));
    expect(hashVersions(a, 3)).not.toBe(hashVersions([a[0], { ...a[1], value: "x" }], 3));
    expect(hashVersions(a, 2)).toBe(hashVersions([a[0]], 2));
    expect(hashVersions([], 5)).toBe(0);
  });
});

describe("leases in the keyspace", () => {
  it("grant, attach keys, revoke: every attached key goes in one revision; overwriting without the lease detaches", () => {
    const backend = new MemoryBackend();
    const ks = new Keyspace(backend);
    expect(ks.apply({ op: "leaseGrant", req: { id: 7, ttl: 60 } })).toEqual({ ok: true, leaseGrant: { revision: 1, id: 7, ttl: 60 } });
    expect(ks.apply({ op: "leaseGrant", req: { id: 7, ttl: 5 } })).toEqual({ ok: false, error: { code: 9, message: "etcdserver: lease already exists" } });
    ok(ks.apply(put("a", "1", { lease: 7 }))); // 2
    ok(ks.apply(put("b", "1", { lease: 7 }))); // 3
    ok(ks.apply(put("c", "1", { lease: 7 }))); // 4
    ok(ks.apply(put("c", "2"))); // 5: detached
    expect(backend.leaseKeys(7)).toEqual(["a", "b"]);
    expect(ok(ks.apply({ op: "leaseRevoke", req: { id: 7 } }))).toEqual({ ok: true, leaseRevoke: { revision: 6 } });
    expect(ks.range(range("a", { rangeEnd: "z" })).kvs.map((x) => [x.key, x.modRevision])).toEqual([["c", 5]]);
    expect(ks.range(range("a", { revision: 5 })).kvs[0].lease).toBe(7);
    expect(ks.apply({ op: "leaseRevoke", req: { id: 7 } })).toEqual({ ok: false, error: { code: 5, message: "etcdserver: requested lease not found" } });
    // A lease with no keys is revoked without a revision.
    ok(ks.apply({ op: "leaseGrant", req: { id: 8, ttl: 60 } }));
    expect(ok(ks.apply({ op: "leaseRevoke", req: { id: 8 } }))).toEqual({ ok: true, leaseRevoke: { revision: 6 } });
  });
});

describe("the lessor (the leader's deadlines)", () => {
  it("gives a lease it has not seen a full TTL, renews on keepalive, expires past the deadline, forgets on reset", async () => {
    const { Lessor } = await import("../../src/server/lessor.ts");
    const lessor = new Lessor();
    const lease = { id: 1, ttl: 10 };
    expect(lessor.expired([lease], 1_000)).toEqual([]);
    expect(lessor.remaining(lease, 5_500)).toBe(5);
    lessor.renew(lease, 9_000);
    expect(lessor.expired([lease], 18_999)).toEqual([]);
    expect(lessor.expired([lease], 19_000)).toEqual([lease]);
    // A new leader starts every lease afresh: one kept alive under the old leader is not expired by the change.
    lessor.reset();
    expect(lessor.expired([lease], 100_000)).toEqual([]);
    expect(lessor.remaining(lease, 100_000)).toBe(10);
  });
});
