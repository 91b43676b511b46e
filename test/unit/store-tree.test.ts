/** Store tree rules: implicit parents, hidden nodes, listings, in-order keys, TTL fields and expiry. */
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../src/raft/index.ts";
import { loadStore, saveStore } from "../../src/v2/snapshot.ts";
import { descendants } from "../../src/v2/node.ts";
import { Store } from "../../src/v2/store.ts";
import { nodeBytes } from "../../src/v2/tree-accounts.ts";
import { T0, cad, cas, create, del, expire, get, ok, set, update, watch } from "./helpers.ts";

describe("implicit parent directories", () => {
  it("are created permanent with the new node's index, and never change modifiedIndex", () => {
    const s = new Store();
    ok(s, set("/x", "1"));
    expect(ok(s, set("/a/b/c", "v", { ttl: 5 }))).toBe(
      '{"action":"set","node":{"key":"/a/b/c","value":"v","expiration":"2024-01-01T00:00:05.123Z","ttl":5,"modifiedIndex":2,"createdIndex":2}}',
    );
    ok(s, set("/a/b/d", "w")); // 3: children changing does not touch /a/b
    expect(get(s, "/a", { recursive: true, sorted: true })).toBe(
      '{"action":"get","node":{"key":"/a","dir":true,"nodes":[{"key":"/a/b","dir":true,"nodes":[' +
        '{"key":"/a/b/c","value":"v","expiration":"2024-01-01T00:00:05.123Z","ttl":5,"modifiedIndex":2,"createdIndex":2},' +
        '{"key":"/a/b/d","value":"w","modifiedIndex":3,"createdIndex":3}' +
        '],"modifiedIndex":2,"createdIndex":2}],"modifiedIndex":2,"createdIndex":2}}',
    );
    // a non-recursive GET of a directory lists direct children; child dirs have no "nodes"
    expect(get(s, "/a")).toBe(
      '{"action":"get","node":{"key":"/a","dir":true,"nodes":[{"key":"/a/b","dir":true,"modifiedIndex":2,"createdIndex":2}],"modifiedIndex":2,"createdIndex":2}}',
    );
    // only the TTL'd leaf expires; its parents stay
    ok(s, expire(T0 + 5000));
    expect(get(s, "/a/b", { sorted: true })).toBe(
      '{"action":"get","node":{"key":"/a/b","dir":true,"nodes":[{"key":"/a/b/d","value":"w","modifiedIndex":3,"createdIndex":3}],"modifiedIndex":2,"createdIndex":2}}',
    );
  });

  it("an empty store lists a bare root; recursive on a file is ignored", () => {
    const s = new Store();
    expect(get(s, "/")).toBe('{"action":"get","node":{"dir":true}}');
    expect(get(s, "/", { recursive: true, sorted: true })).toBe('{"action":"get","node":{"dir":true}}');
    ok(s, set("/f", "v"));
    expect(get(s, "/f", { recursive: true, sorted: true })).toBe(
      '{"action":"get","node":{"key":"/f","value":"v","modifiedIndex":1,"createdIndex":1}}',
    );
  });
});

describe("hidden nodes", () => {
  it("are omitted from listings at every level but readable directly", () => {
    const s = new Store();
    ok(s, set("/_h", "hidden")); // 1
    ok(s, set("/_hd/inner", "x")); // 2
    ok(s, set("/d/_x", "y")); // 3
    ok(s, set("/d/v", "z")); // 4
    ok(s, set("/d/_sub/deep", "q")); // 5
    expect(get(s, "/", { recursive: true, sorted: true })).toBe(
      '{"action":"get","node":{"dir":true,"nodes":[{"key":"/d","dir":true,"nodes":[{"key":"/d/v","value":"z","modifiedIndex":4,"createdIndex":4}],"modifiedIndex":3,"createdIndex":3}]}}',
    );
    expect(get(s, "/")).toBe(
      '{"action":"get","node":{"dir":true,"nodes":[{"key":"/d","dir":true,"modifiedIndex":3,"createdIndex":3}]}}',
    );
    expect(get(s, "/_h")).toBe('{"action":"get","node":{"key":"/_h","value":"hidden","modifiedIndex":1,"createdIndex":1}}');
    // a hidden directory lists its own (non-hidden) children when asked directly
    expect(get(s, "/_hd")).toBe(
      '{"action":"get","node":{"key":"/_hd","dir":true,"nodes":[{"key":"/_hd/inner","value":"x","modifiedIndex":2,"createdIndex":2}],"modifiedIndex":2,"createdIndex":2}}',
    );
    // a directory whose only children are hidden has no "nodes"
    expect(get(s, "/d/_sub")).toBe(
      '{"action":"get","node":{"key":"/d/_sub","dir":true,"nodes":[{"key":"/d/_sub/deep","value":"q","modifiedIndex":5,"createdIndex":5}],"modifiedIndex":5,"createdIndex":5}}',
    );
    ok(s, del("/d/v"));
    expect(get(s, "/d")).toBe('{"action":"get","node":{"key":"/d","dir":true,"modifiedIndex":3,"createdIndex":3}}');
  });
});

describe("listings", () => {
  it("sorted=true sorts by key byte-wise at every level; unsorted is insertion order", () => {
    const s = new Store();
    for (const k of ["b", "a", "B", "a0", "é", "_z", "~", "aa/2", "aa/1"]) ok(s, set(`/l/${k}`, k));
    const keys = (json: string, depth = 0): string[] => {
      const node = JSON.parse(json).node;
      const out: string[] = [];
      const walk = (n: { key?: string; nodes?: unknown[] }, d: number) => {
        for (const c of (n.nodes ?? []) as { key: string; nodes?: unknown[] }[]) {
          out.push(c.key);
          if (d > 0) walk(c, d - 1);
        }
      };
      walk(node, depth);
      return out;
    };
    expect(keys(get(s, "/l", { sorted: true, recursive: true }), 1)).toEqual([
      "/l/B",
      "/l/a",
      "/l/a0",
      "/l/aa",
      "/l/aa/1",
      "/l/aa/2",
      "/l/b",
      "/l/~",
      "/l/é",
    ]);
    expect(keys(get(s, "/l"))).toEqual(["/l/b", "/l/a", "/l/B", "/l/a0", "/l/é", "/l/~", "/l/aa"]);
  });

  it("sorts astral characters after U+E000-U+FFFF as UTF-8 bytes do", () => {
    const s = new Store();
    for (const k of ["\u{1F600}", "\uFFFD", "\uE000", "z"]) ok(s, set(`/u/${k}`, "v"));
    const nodes = JSON.parse(get(s, "/u", { sorted: true })).node.nodes.map((n: { key: string }) => n.key);
    expect(nodes).toEqual(["/u/z", "/u/\uE000", "/u/\uFFFD", "/u/\u{1F600}"]);
  });
});

describe("in-order keys", () => {
  it("are named by the next global index, 20 digits, under missing parents; dir and ttl variants", () => {
    const s = new Store();
    ok(s, set("/other", "x")); // 1
    expect(ok(s, create("/q/jobs", "j1", { unique: true }))).toBe(
      '{"action":"create","node":{"key":"/q/jobs/00000000000000000002","value":"j1","modifiedIndex":2,"createdIndex":2}}',
    );
    ok(s, set("/other", "y")); // 3: the counter is shared, names are not contiguous
    expect(ok(s, create("/q/jobs", "", { unique: true, dir: true }))).toBe(
      '{"action":"create","node":{"key":"/q/jobs/00000000000000000004","dir":true,"modifiedIndex":4,"createdIndex":4}}',
    );
    expect(ok(s, create("/q/jobs", "t", { unique: true, ttl: 3 }))).toBe(
      '{"action":"create","node":{"key":"/q/jobs/00000000000000000005","value":"t","expiration":"2024-01-01T00:00:03.123Z","ttl":3,"modifiedIndex":5,"createdIndex":5}}',
    );
    expect(JSON.parse(get(s, "/q/jobs", { sorted: true })).node.nodes.map((n: { key: string }) => n.key)).toEqual([
      "/q/jobs/00000000000000000002",
      "/q/jobs/00000000000000000004",
      "/q/jobs/00000000000000000005",
    ]);
  });
});

describe("TTL fields", () => {
  it("ttl is the ceiling of the remaining time; 0 is omitted; overdue keys show negative ttls", () => {
    const s = new Store();
    ok(s, set("/t", "v", { ttl: 5 }));
    const ttlAt = (now: number) => JSON.parse(get(s, "/t", { now })).node.ttl;
    expect(ttlAt(T0)).toBe(5);
    expect(ttlAt(T0 + 1)).toBe(5);
    expect(ttlAt(T0 + 999)).toBe(5);
    expect(ttlAt(T0 + 1000)).toBe(4);
    expect(ttlAt(T0 + 4001)).toBe(1);
    expect(ttlAt(T0 + 5000)).toBe(undefined);
    expect(ttlAt(T0 + 5300)).toBe(undefined);
    expect(ttlAt(T0 + 6500)).toBe(-1);
    expect(get(s, "/t", { now: T0 + 5300 })).toBe(
      '{"action":"get","node":{"key":"/t","value":"v","expiration":"2024-01-01T00:00:05.123Z","modifiedIndex":1,"createdIndex":1}}',
    );
  });

  it("expiration drops trailing fractional zeros; ttl=0 expires at the next sweep", () => {
    const s = new Store();
    const now = Date.UTC(2024, 5, 1, 12, 0, 0, 500);
    expect(JSON.parse(ok(s, set("/half", "v", { ttl: 1, now }))).node.expiration).toBe("2024-06-01T12:00:01.5Z");
    expect(JSON.parse(ok(s, set("/whole", "v", { ttl: 2, now: Date.UTC(2024, 5, 1) }))).node.expiration).toBe(
      "2024-06-01T00:00:02Z",
    );
    expect(ok(s, set("/zero", "v", { ttl: 0, now }))).toBe(
      '{"action":"set","node":{"key":"/zero","value":"v","expiration":"2024-06-01T12:00:00.5Z","modifiedIndex":3,"createdIndex":3}}',
    );
    expect(s.nextExpiry()).toBe(Date.UTC(2024, 5, 1, 0, 0, 2));
    ok(s, expire(now));
    // /whole (earlier) then /zero, each with its own index
    expect(s.index).toBe(5);
    expect(get(s, "/", { sorted: true, now })).toBe(
      '{"action":"get","node":{"dir":true,"nodes":[{"key":"/half","value":"v","expiration":"2024-06-01T12:00:01.5Z","ttl":1,"modifiedIndex":1,"createdIndex":1}]}}',
    );
  });

  it("a huge TTL that would overflow etcd's int64 is permanent", () => {
    const s = new Store();
    expect(ok(s, set("/forever", "v", { ttl: 9223372037 }))).toBe(
      '{"action":"set","node":{"key":"/forever","value":"v","modifiedIndex":1,"createdIndex":1}}',
    );
    expect(s.nextExpiry()).toBe(null);
  });
});

describe("expire command", () => {
  it("removes expired nodes earliest first, one index and one expire event each", () => {
    const s = new Store();
    ok(s, set("/a", "A", { ttl: 3 })); // 1
    ok(s, set("/b", "B", { ttl: 1 })); // 2
    ok(s, set("/c", "C", { ttl: 2 })); // 3
    ok(s, set("/later", "L", { ttl: 60 })); // 4
    ok(s, set("/keep", "K")); // 5
    const w = watch(s, "/", { recursive: true, stream: true });
    const last = ok(s, expire(T0 + 3000));
    expect(w.events).toEqual([
      '{"action":"expire","node":{"key":"/b","modifiedIndex":6,"createdIndex":2},"prevNode":{"key":"/b","value":"B","expiration":"2024-01-01T00:00:01.123Z","ttl":-2,"modifiedIndex":2,"createdIndex":2}}',
      '{"action":"expire","node":{"key":"/c","modifiedIndex":7,"createdIndex":3},"prevNode":{"key":"/c","value":"C","expiration":"2024-01-01T00:00:02.123Z","ttl":-1,"modifiedIndex":3,"createdIndex":3}}',
      '{"action":"expire","node":{"key":"/a","modifiedIndex":8,"createdIndex":1},"prevNode":{"key":"/a","value":"A","expiration":"2024-01-01T00:00:03.123Z","modifiedIndex":1,"createdIndex":1}}',
    ]);
    expect(last).toBe(w.events[2]);
    expect(s.index).toBe(8);
    expect(s.stats.expireCount).toBe(3);
    expect(s.nextExpiry()).toBe(T0 + 60_000);
    // an empty sweep changes nothing
    expect(ok(s, expire(T0 + 3000))).toBe('{"action":"expire"}');
    expect(s.index).toBe(8);
    expect(w.events.length).toBe(3);
  });

  it("an expiring directory removes its subtree; a watcher on a child gets the directory's event", () => {
    const s = new Store();
    ok(s, set("/dir", "", { dir: true })); // 1
    ok(s, set("/dir/key", "v")); // 2
    ok(s, set("/dir/sub/deep", "d", { ttl: 100 })); // 3 (inner TTL vanishes with the dir)
    ok(s, update("/dir", "", { ttl: 10 })); // 4
    const onChild = watch(s, "/dir/key");
    const onDeep = watch(s, "/dir/sub/deep", { recursive: true });
    const onDir = watch(s, "/dir");
    expect(s.stats.watchers).toBe(3);
    ok(s, expire(T0 + 10_000));
    const ev =
      '{"action":"expire","node":{"key":"/dir","dir":true,"modifiedIndex":5,"createdIndex":1},' +
      '"prevNode":{"key":"/dir","dir":true,"expiration":"2024-01-01T00:00:10.123Z","modifiedIndex":1,"createdIndex":1}}';
    expect(onChild.events).toEqual([ev]);
    expect(onDeep.events).toEqual([ev]);
    expect(onDir.events).toEqual([ev]);
    expect(s.stats.watchers).toBe(0);
    expect(s.index).toBe(5);
    expect(s.nextExpiry()).toBe(null);
    ok(s, expire(T0 + 200_000));
    expect(s.index).toBe(5);
    expect(s.stats.expireCount).toBe(1);
  });

  it("a TTL replaced by set, update or delete no longer fires", () => {
    const s = new Store();
    ok(s, set("/s", "v", { ttl: 1 }));
    ok(s, set("/s", "v2")); // set replaces: permanent
    ok(s, set("/u", "v", { ttl: 1 }));
    ok(s, update("/u", "v", { ttl: 50 }));
    ok(s, set("/d", "v", { ttl: 1 }));
    ok(s, del("/d"));
    expect(s.nextExpiry()).toBe(T0 + 50_000);
    const before = s.index;
    ok(s, expire(T0 + 2000));
    expect(s.index).toBe(before);
    expect(JSON.parse(get(s, "/s")).node.value).toBe("v2");
    expect(s.hasTTLKeys()).toBe(true);
    ok(s, expire(T0 + 50_000));
    expect(s.index).toBe(before + 1);
    expect(s.hasTTLKeys()).toBe(false);
  });
});

describe("the tree's memory estimate (Store.bytes)", () => {
  /** The estimate recounted from scratch, node by node. */
  const recount = (s: Store) => [...descendants(s.root)].reduce((total, n) => total + nodeBytes(n.path, n.value), 0);

  it("stays equal to a recount through random writes, deletes and expiries, and through a snapshot", () => {
    const s = new Store();
    const random = seededRandom(7);
    const paths = ["/a", "/a/b", "/a/b/c", "/d/e", "/f", "/a/g/h"];
    let now = T0;
    for (let i = 0; i < 2000; i++) {
      const path = paths[Math.floor(random() * paths.length)];
      const value = "v".repeat(Math.floor(random() * 50));
      const roll = random();
      now += 10;
      if (roll < 0.3) s.apply(set(path, value, { now, ttl: random() < 0.3 ? 1 : null, dir: random() < 0.1 }));
      else if (roll < 0.45) s.apply(create(path, value, { now }));
      else if (roll < 0.6) s.apply(update(path, value, { now }));
      else if (roll < 0.7) s.apply(cas(path, value, "", 0, { now }));
      else if (roll < 0.85) s.apply(del(path, { recursive: true, now }));
      else if (roll < 0.9) s.apply(cad(path, "", 0, now));
      else s.apply(expire(now));
      expect(s.bytes).toBe(recount(s));
    }
    expect(s.bytes).toBeGreaterThan(0);
    expect(loadStore(saveStore(s)).bytes).toBe(s.bytes);
  });
});
