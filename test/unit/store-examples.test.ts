/**
 * The reference's worked examples (§13) and error rules (§4, §5.3) against
 * the pure store. Each snippet first makes enough hidden writes that its
 * index numbers match the reference's exactly.
 */
import { describe, expect, it } from "vitest";
import { Store } from "../../src/v2/store.ts";
import { T0, cad, cas, create, del, expire, fail, get, ok, set, update, watch } from "./helpers.ts";

/** A store whose index is `n`, every write under the hidden /_boot (absent from listings). */
function storeAt(n: number): Store {
  const s = new Store();
  for (let i = 0; i < n; i++) ok(s, set(`/_boot/${i}`, "x"));
  expect(s.index).toBe(n);
  return s;
}

describe("§13 worked examples, one sequence (examples 1-3, 12-18)", () => {
  it("gives the reference's exact events, errors and indexes", () => {
    const s = storeAt(3);
    // 1. create key
    expect(ok(s, set("/message", "Hello world"))).toBe(
      '{"action":"set","node":{"key":"/message","value":"Hello world","modifiedIndex":4,"createdIndex":4}}',
    );
    expect(s.index).toBe(4);
    // 2. overwrite: set replaces the node, so createdIndex changes too
    expect(ok(s, set("/message", "Hello etcd"))).toBe(
      '{"action":"set","node":{"key":"/message","value":"Hello etcd","modifiedIndex":5,"createdIndex":5},' +
        '"prevNode":{"key":"/message","value":"Hello world","modifiedIndex":4,"createdIndex":4}}',
    );
    // 3. missing key: the cause is the first missing component
    expect(get(s, "/nope/deeper")).toBe('{"errorCode":100,"message":"Key not found","cause":"/nope","index":5}');
    // 12. in-order key: the name is the next index, 20 digits
    expect(ok(s, create("/queue", "Job1", { unique: true }))).toBe(
      '{"action":"create","node":{"key":"/queue/00000000000000000006","value":"Job1","modifiedIndex":6,"createdIndex":6}}',
    );
    // 13. directory, then repeating it
    expect(ok(s, set("/dir", "", { dir: true }))).toBe(
      '{"action":"set","node":{"key":"/dir","dir":true,"modifiedIndex":7,"createdIndex":7}}',
    );
    expect(fail(s, set("/dir", "", { dir: true }))).toBe(
      '{"errorCode":102,"message":"Not a file","cause":"/dir","index":7}',
    );
    // 14. directory TTL: the event reports index 8, the stored dir keeps 7
    expect(ok(s, update("/dir", "", { ttl: 30 }))).toBe(
      '{"action":"update","node":{"key":"/dir","dir":true,"expiration":"2024-01-01T00:00:30.123Z","ttl":30,"modifiedIndex":8,"createdIndex":7},' +
        '"prevNode":{"key":"/dir","dir":true,"modifiedIndex":7,"createdIndex":7}}',
    );
    expect(s.index).toBe(8);
    expect(get(s, "/dir", { now: T0 + 1000 })).toBe(
      '{"action":"get","node":{"key":"/dir","dir":true,"expiration":"2024-01-01T00:00:30.123Z","ttl":29,"modifiedIndex":7,"createdIndex":7}}',
    );
    // 15. listing: sorted, hidden /_boot absent, empty /dir without "nodes", root without key/indexes
    expect(get(s, "/", { recursive: true, sorted: true, now: T0 + 1000 })).toBe(
      '{"action":"get","node":{"dir":true,"nodes":[' +
        '{"key":"/dir","dir":true,"expiration":"2024-01-01T00:00:30.123Z","ttl":29,"modifiedIndex":7,"createdIndex":7},' +
        '{"key":"/message","value":"Hello etcd","modifiedIndex":5,"createdIndex":5},' +
        '{"key":"/queue","dir":true,"nodes":[{"key":"/queue/00000000000000000006","value":"Job1","modifiedIndex":6,"createdIndex":6}],"modifiedIndex":6,"createdIndex":6}' +
        "]}}",
    );
    // 16. non-empty directory without recursive
    expect(fail(s, del("/queue", { dir: true }))).toBe(
      '{"errorCode":108,"message":"Directory not empty","cause":"/queue","index":8}',
    );
    expect(fail(s, del("/queue"))).toBe('{"errorCode":102,"message":"Not a file","cause":"/queue","index":8}');
    // 17. recursive delete
    expect(ok(s, del("/queue", { recursive: true }))).toBe(
      '{"action":"delete","node":{"key":"/queue","dir":true,"modifiedIndex":9,"createdIndex":6},' +
        '"prevNode":{"key":"/queue","dir":true,"modifiedIndex":6,"createdIndex":6}}',
    );
    expect(get(s, "/queue/00000000000000000006")).toBe(
      '{"errorCode":100,"message":"Key not found","cause":"/queue","index":9}',
    );
    // 18. the root is read only
    expect(fail(s, del("/", { recursive: true }))).toBe(
      '{"errorCode":107,"message":"Root is read only","cause":"/","index":9}',
    );
    expect(s.index).toBe(9);
  });
});

describe("§13 TTL examples 4-6", () => {
  it("4: a TTL key shows expiration and ttl, and a watcher gets the exact expire event", () => {
    const s = storeAt(5);
    expect(ok(s, set("/foo", "bar", { ttl: 5 }))).toBe(
      '{"action":"set","node":{"key":"/foo","value":"bar","expiration":"2024-01-01T00:00:05.123Z","ttl":5,"modifiedIndex":6,"createdIndex":6}}',
    );
    const w = watch(s, "/foo");
    expect(s.nextExpiry()).toBe(T0 + 5000);
    // a sweep just before the expiry removes nothing and takes no index
    ok(s, expire(T0 + 4999));
    expect(s.index).toBe(6);
    expect(w.events).toEqual([]);
    // a sweep 400 ms after: remaining time -0.4 s truncates to 0, so the prevNode has no ttl
    ok(s, expire(T0 + 5400));
    expect(s.index).toBe(7);
    expect(w.events).toEqual([
      '{"action":"expire","node":{"key":"/foo","modifiedIndex":7,"createdIndex":6},' +
        '"prevNode":{"key":"/foo","value":"bar","expiration":"2024-01-01T00:00:05.123Z","modifiedIndex":6,"createdIndex":6}}',
    ]);
    expect(get(s, "/foo")).toBe('{"errorCode":100,"message":"Key not found","cause":"/foo","index":7}');
    expect(s.nextExpiry()).toBe(null);
    expect(s.stats.expireCount).toBe(1);
  });

  it("5: an update without ttl removes the TTL", () => {
    const s = storeAt(5);
    ok(s, set("/foo", "bar", { ttl: 5 }));
    expect(ok(s, update("/foo", "bar", { now: T0 + 1000 }))).toBe(
      '{"action":"update","node":{"key":"/foo","value":"bar","modifiedIndex":7,"createdIndex":6},' +
        '"prevNode":{"key":"/foo","value":"bar","expiration":"2024-01-01T00:00:05.123Z","ttl":4,"modifiedIndex":6,"createdIndex":6}}',
    );
    expect(s.nextExpiry()).toBe(null);
    ok(s, expire(T0 + 60_000));
    expect(get(s, "/foo")).toBe('{"action":"get","node":{"key":"/foo","value":"bar","modifiedIndex":7,"createdIndex":6}}');
  });

  it("6: refresh keeps the value, sets a new TTL, takes an index and wakes no watcher", () => {
    const s = storeAt(5);
    ok(s, set("/foo", "bar", { ttl: 5 }));
    const w = watch(s, "/foo");
    const wr = watch(s, "/", { recursive: true });
    expect(ok(s, update("/foo", "", { ttl: 5, refresh: true, now: T0 + 2000 }))).toBe(
      '{"action":"update","node":{"key":"/foo","value":"bar","expiration":"2024-01-01T00:00:07.123Z","ttl":5,"modifiedIndex":7,"createdIndex":6},' +
        '"prevNode":{"key":"/foo","value":"bar","expiration":"2024-01-01T00:00:05.123Z","ttl":3,"modifiedIndex":6,"createdIndex":6}}',
    );
    expect(s.index).toBe(7);
    expect(w.events).toEqual([]);
    expect(wr.events).toEqual([]);
    expect(s.stats.watchers).toBe(2);
    // the old expiry no longer applies
    ok(s, expire(T0 + 6000));
    expect(s.index).toBe(7);
    expect(s.nextExpiry()).toBe(T0 + 7000);
    // the next real event still reaches the watcher
    ok(s, set("/foo", "baz"));
    expect(w.events).toEqual([
      '{"action":"set","node":{"key":"/foo","value":"baz","modifiedIndex":8,"createdIndex":8},' +
        '"prevNode":{"key":"/foo","value":"bar","expiration":"2024-01-01T00:00:07.123Z","ttl":7,"modifiedIndex":7,"createdIndex":6}}',
    ]);
  });

  it("refresh through set (no prevExist) keeps the value and replaces the node; a missing key is 100", () => {
    const s = storeAt(2);
    ok(s, set("/k", "v", { ttl: 10 }));
    expect(ok(s, set("/k", "", { ttl: 20, refresh: true }))).toBe(
      '{"action":"set","node":{"key":"/k","value":"v","expiration":"2024-01-01T00:00:20.123Z","ttl":20,"modifiedIndex":4,"createdIndex":4},' +
        '"prevNode":{"key":"/k","value":"v","expiration":"2024-01-01T00:00:10.123Z","ttl":10,"modifiedIndex":3,"createdIndex":3}}',
    );
    expect(fail(s, set("/missing", "", { ttl: 20, refresh: true }))).toBe(
      '{"errorCode":100,"message":"Key not found","cause":"/missing","index":4}',
    );
    ok(s, set("/d", "", { dir: true }));
    expect(fail(s, set("/d", "", { ttl: 20, refresh: true }))).toBe(
      '{"errorCode":102,"message":"Not a file","cause":"/d","index":5}',
    );
  });
});

describe("§13 create, CAS and CAD examples 9-11", () => {
  it("9: create on an existing key is 105 with the current index", () => {
    const s = storeAt(3);
    ok(s, set("/foo", "one"));
    expect(fail(s, create("/foo", "three"))).toBe(
      '{"errorCode":105,"message":"Key already exists","cause":"/foo","index":4}',
    );
    ok(s, set("/d", "", { dir: true }));
    expect(fail(s, create("/d", "", { dir: true }))).toBe(
      '{"errorCode":105,"message":"Key already exists","cause":"/d","index":5}',
    );
    expect(ok(s, create("/new", "three"))).toBe(
      '{"action":"create","node":{"key":"/new","value":"three","modifiedIndex":6,"createdIndex":6}}',
    );
  });

  it("10: compareAndSwap success and the three failure causes", () => {
    const s = storeAt(7);
    ok(s, set("/foo", "one"));
    expect(fail(s, cas("/foo", "x", "two", 0))).toBe(
      '{"errorCode":101,"message":"Compare failed","cause":"[two != one]","index":8}',
    );
    expect(fail(s, cas("/foo", "x", "", 100))).toBe(
      '{"errorCode":101,"message":"Compare failed","cause":"[100 != 8]","index":8}',
    );
    expect(fail(s, cas("/foo", "x", "bad", 100))).toBe(
      '{"errorCode":101,"message":"Compare failed","cause":"[bad != one] [100 != 8]","index":8}',
    );
    expect(s.index).toBe(8);
    expect(ok(s, cas("/foo", "two", "one", 0))).toBe(
      '{"action":"compareAndSwap","node":{"key":"/foo","value":"two","modifiedIndex":9,"createdIndex":8},' +
        '"prevNode":{"key":"/foo","value":"one","modifiedIndex":8,"createdIndex":8}}',
    );
    // prevIndex and prevValue both matching, with a TTL
    expect(ok(s, cas("/foo", "three", "two", 9, { ttl: 7 }))).toBe(
      '{"action":"compareAndSwap","node":{"key":"/foo","value":"three","expiration":"2024-01-01T00:00:07.123Z","ttl":7,"modifiedIndex":10,"createdIndex":8},' +
        '"prevNode":{"key":"/foo","value":"two","modifiedIndex":9,"createdIndex":8}}',
    );
    // CAS with refresh keeps the value
    expect(ok(s, cas("/foo", "", "", 10, { ttl: 9, refresh: true }))).toBe(
      '{"action":"compareAndSwap","node":{"key":"/foo","value":"three","expiration":"2024-01-01T00:00:09.123Z","ttl":9,"modifiedIndex":11,"createdIndex":8},' +
        '"prevNode":{"key":"/foo","value":"three","expiration":"2024-01-01T00:00:07.123Z","ttl":7,"modifiedIndex":10,"createdIndex":8}}',
    );
  });

  it("10: CAS with prevIndex 2^64-1 (libkv's forced failure) fails with that number in the cause", () => {
    const s = storeAt(7);
    ok(s, set("/foo", "one"));
    const r = s.apply({ ...(cas("/foo", "x", "", 1) as object), prevIndex: "18446744073709551615" } as never);
    expect(r).toEqual({
      ok: false,
      error: { errorCode: 101, message: "Compare failed", cause: "[18446744073709551615 != 8]", index: 8 },
    });
  });

  it("11: compareAndDelete", () => {
    const s = storeAt(7);
    ok(s, set("/foo", "one"));
    expect(fail(s, cad("/foo", "", 1))).toBe('{"errorCode":101,"message":"Compare failed","cause":"[1 != 8]","index":8}');
    expect(fail(s, cad("/foo", "two", 0))).toBe(
      '{"errorCode":101,"message":"Compare failed","cause":"[two != one]","index":8}',
    );
    expect(ok(s, cad("/foo", "one", 0))).toBe(
      '{"action":"compareAndDelete","node":{"key":"/foo","modifiedIndex":9,"createdIndex":8},' +
        '"prevNode":{"key":"/foo","value":"one","modifiedIndex":8,"createdIndex":8}}',
    );
    expect(get(s, "/foo")).toBe('{"errorCode":100,"message":"Key not found","cause":"/foo","index":9}');
  });
});

describe("§4/§5.3 error rules", () => {
  function fixture(): Store {
    const s = new Store();
    ok(s, set("/file", "v")); // 1
    ok(s, set("/dir/child", "c")); // 2, creates /dir
    ok(s, set("/empty", "", { dir: true })); // 3
    return s;
  }

  it("every write to the root is 107, except compareAndDelete which is 102 without a cause", () => {
    const s = fixture();
    const root107 = '{"errorCode":107,"message":"Root is read only","cause":"/","index":3}';
    expect(fail(s, set("/", "x"))).toBe(root107);
    expect(fail(s, set("/", "", { dir: true }))).toBe(root107);
    expect(fail(s, create("/", "x"))).toBe(root107);
    expect(fail(s, update("/", ""))).toBe(root107);
    expect(fail(s, cas("/", "x", "y", 0))).toBe(root107);
    expect(fail(s, del("/", { dir: true }))).toBe(root107);
    expect(fail(s, cad("/", "x", 0))).toBe('{"errorCode":102,"message":"Not a file","index":3}');
    expect(s.index).toBe(3);
  });

  it("a POST to the root creates /000…N", () => {
    const s = fixture();
    expect(ok(s, create("/", "q", { unique: true }))).toBe(
      '{"action":"create","node":{"key":"/00000000000000000004","value":"q","modifiedIndex":4,"createdIndex":4}}',
    );
  });

  it("missing keys are 100 naming the first missing component", () => {
    const s = fixture();
    const nf = (cause: string) => `{"errorCode":100,"message":"Key not found","cause":"${cause}","index":3}`;
    expect(get(s, "/a/b/c")).toBe(nf("/a"));
    expect(get(s, "/dir/x/y")).toBe(nf("/dir/x"));
    expect(fail(s, update("/dir/nope", "v"))).toBe(nf("/dir/nope"));
    expect(fail(s, cas("/nope/x", "v", "p", 0))).toBe(nf("/nope"));
    expect(fail(s, del("/nope"))).toBe(nf("/nope"));
    expect(fail(s, cad("/nope", "p", 0))).toBe(nf("/nope"));
  });

  it("a path through a file is 104 naming the file, for reads and every write", () => {
    const s = fixture();
    const nd = '{"errorCode":104,"message":"Not a directory","cause":"/file","index":3}';
    expect(get(s, "/file/x")).toBe(nd);
    expect(get(s, "/file/x/y")).toBe(nd);
    expect(fail(s, set("/file/x", "v"))).toBe(nd);
    expect(fail(s, create("/file/x", "v"))).toBe(nd);
    expect(fail(s, create("/file", "v", { unique: true }))).toBe(nd); // POST under a file
    expect(fail(s, update("/file/x", "v"))).toBe(nd);
    expect(fail(s, cas("/file/x", "v", "p", 0))).toBe(nd);
    expect(fail(s, del("/file/x"))).toBe(nd);
    expect(fail(s, cad("/file/x", "p", 0))).toBe(nd);
    expect(s.index).toBe(3);
  });

  it("directories: set is 102 even with dir=true, CAS/CAD are 102, update with a value is 102", () => {
    const s = fixture();
    const nf = '{"errorCode":102,"message":"Not a file","cause":"/dir","index":3}';
    expect(fail(s, set("/dir", "v"))).toBe(nf);
    expect(fail(s, set("/dir", "", { dir: true }))).toBe(nf);
    expect(fail(s, cas("/dir", "v", "p", 0))).toBe(nf);
    expect(fail(s, cad("/dir", "p", 0))).toBe(nf);
    expect(fail(s, update("/dir", "v"))).toBe(nf);
    expect(fail(s, del("/dir"))).toBe(nf);
    expect(fail(s, del("/dir", { dir: true }))).toBe(
      '{"errorCode":108,"message":"Directory not empty","cause":"/dir","index":3}',
    );
    expect(s.index).toBe(3);
  });

  it("deleting an empty dir needs dir=true; a file is deleted whatever dir/recursive say", () => {
    const s = fixture();
    expect(fail(s, del("/empty"))).toBe('{"errorCode":102,"message":"Not a file","cause":"/empty","index":3}');
    expect(ok(s, del("/empty", { dir: true }))).toBe(
      '{"action":"delete","node":{"key":"/empty","dir":true,"modifiedIndex":4,"createdIndex":3},' +
        '"prevNode":{"key":"/empty","dir":true,"modifiedIndex":3,"createdIndex":3}}',
    );
    expect(ok(s, del("/file", { dir: true, recursive: true }))).toBe(
      '{"action":"delete","node":{"key":"/file","modifiedIndex":5,"createdIndex":1},' +
        '"prevNode":{"key":"/file","value":"v","modifiedIndex":1,"createdIndex":1}}',
    );
  });

  it("a delete's prevNode keeps the file's TTL and omits a directory's children", () => {
    const s = fixture();
    ok(s, set("/t", "x", { ttl: 9 }));
    expect(ok(s, del("/t", { now: T0 + 500 }))).toBe(
      '{"action":"delete","node":{"key":"/t","modifiedIndex":5,"createdIndex":4},' +
        '"prevNode":{"key":"/t","value":"x","expiration":"2024-01-01T00:00:09.123Z","ttl":9,"modifiedIndex":4,"createdIndex":4}}',
    );
    expect(s.nextExpiry()).toBe(null);
  });

  it("set dir=true on a file replaces it with an empty directory", () => {
    const s = fixture();
    expect(ok(s, set("/file", "ignored", { dir: true }))).toBe(
      '{"action":"set","node":{"key":"/file","dir":true,"modifiedIndex":4,"createdIndex":4},' +
        '"prevNode":{"key":"/file","value":"v","modifiedIndex":1,"createdIndex":1}}',
    );
    expect(get(s, "/file")).toBe('{"action":"get","node":{"key":"/file","dir":true,"modifiedIndex":4,"createdIndex":4}}');
  });

  it("update without a value sets the empty value; update keeps createdIndex", () => {
    const s = fixture();
    expect(ok(s, update("/file"))).toBe(
      '{"action":"update","node":{"key":"/file","value":"","modifiedIndex":4,"createdIndex":1},' +
        '"prevNode":{"key":"/file","value":"v","modifiedIndex":1,"createdIndex":1}}',
    );
    expect(get(s, "/file")).toBe('{"action":"get","node":{"key":"/file","value":"","modifiedIndex":4,"createdIndex":1}}');
  });

  it("an update of a directory with an empty value sets and clears its TTL; modifiedIndex stays", () => {
    const s = fixture();
    expect(ok(s, update("/empty", "", { ttl: 10 }))).toBe(
      '{"action":"update","node":{"key":"/empty","dir":true,"expiration":"2024-01-01T00:00:10.123Z","ttl":10,"modifiedIndex":4,"createdIndex":3},' +
        '"prevNode":{"key":"/empty","dir":true,"modifiedIndex":3,"createdIndex":3}}',
    );
    expect(ok(s, update("/empty", ""))).toBe(
      '{"action":"update","node":{"key":"/empty","dir":true,"modifiedIndex":5,"createdIndex":3},' +
        '"prevNode":{"key":"/empty","dir":true,"expiration":"2024-01-01T00:00:10.123Z","ttl":10,"modifiedIndex":3,"createdIndex":3}}',
    );
    expect(get(s, "/empty")).toBe('{"action":"get","node":{"key":"/empty","dir":true,"modifiedIndex":3,"createdIndex":3}}');
    expect(s.nextExpiry()).toBe(null);
  });

  it("paths are cleaned: //a/./b/../c names /a/c", () => {
    const s = new Store();
    expect(ok(s, set("//a/./b/../c/", "v"))).toBe(
      '{"action":"set","node":{"key":"/a/c","value":"v","modifiedIndex":1,"createdIndex":1}}',
    );
    expect(get(s, "a/c")).toBe('{"action":"get","node":{"key":"/a/c","value":"v","modifiedIndex":1,"createdIndex":1}}');
  });
});
