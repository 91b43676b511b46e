/** Watchers (live rules), history scans, stats counting, snapshots and determinism. */
import { describe, expect, it } from "vitest";
import type { Command } from "../../src/v2/command.ts";
import { loadStore, saveStore } from "../../src/v2/snapshot.ts";
import { Store } from "../../src/v2/store.ts";
import { T0, cad, cas, create, del, errorOf, expire, fail, get, ok, set, update, watch } from "./helpers.ts";

const keyOf = (json: string) => JSON.parse(json).node.key as string;

describe("live watchers", () => {
  it("a watcher on the key always gets the event; a one-shot watcher is then removed", () => {
    const s = new Store();
    const w = watch(s, "/k");
    expect(s.stats.watchers).toBe(1);
    expect(w.watcher.startIndex).toBe(0);
    ok(s, set("/other", "x"));
    ok(s, set("/k", "v"));
    ok(s, set("/k", "v2"));
    expect(w.events).toEqual(['{"action":"set","node":{"key":"/k","value":"v","modifiedIndex":2,"createdIndex":2}}']);
    expect(s.stats.watchers).toBe(0);
  });

  it("an ancestor gets events only when recursive; a non-recursive dir watch sees only the dir itself", () => {
    const s = new Store();
    ok(s, set("/d", "", { dir: true })); // 1
    const rec = watch(s, "/d", { recursive: true, stream: true });
    const flat = watch(s, "/d", { stream: true });
    const rootFlat = watch(s, "/", { stream: true });
    ok(s, set("/d/a/b", "v")); // 2
    expect(rec.events.map(keyOf)).toEqual(["/d/a/b"]);
    expect(flat.events).toEqual([]);
    ok(s, update("/d", "", { ttl: 100 })); // 3: an event on the dir itself
    expect(flat.events).toEqual([
      '{"action":"update","node":{"key":"/d","dir":true,"expiration":"2024-01-01T00:01:40.123Z","ttl":100,"modifiedIndex":3,"createdIndex":1},"prevNode":{"key":"/d","dir":true,"modifiedIndex":1,"createdIndex":1}}',
    ]);
    expect(rec.events.map(keyOf)).toEqual(["/d/a/b", "/d"]);
    ok(s, set("/top", "x"));
    expect(rootFlat.events).toEqual([]); // a non-recursive root watch never fires
  });

  it("hidden components below the watched path are filtered; the hidden key itself and deeper watchers see them", () => {
    const s = new Store();
    const rootRec = watch(s, "/", { recursive: true, stream: true });
    const aRec = watch(s, "/a", { recursive: true, stream: true });
    const onHidden = watch(s, "/a/_h", { stream: true });
    const belowHidden = watch(s, "/_foo/bar", { recursive: true, stream: true });
    ok(s, set("/a/_h", "1")); // 1
    ok(s, set("/a/_d/x", "2")); // 2
    ok(s, set("/_foo/bar/baz", "3")); // 3
    ok(s, set("/a/v", "4")); // 4
    expect(rootRec.events.map(keyOf)).toEqual(["/a/v"]);
    expect(aRec.events.map(keyOf)).toEqual(["/a/v"]);
    expect(onHidden.events.map(keyOf)).toEqual(["/a/_h"]);
    expect(belowHidden.events.map(keyOf)).toEqual(["/_foo/bar/baz"]);
  });

  it("deleting a directory notifies a watcher on any removed descendant with the directory's event", () => {
    const s = new Store();
    ok(s, set("/dir/key", "v")); // 1
    ok(s, set("/dir/sub/x", "v")); // 2
    const onKey = watch(s, "/dir/key");
    const onSub = watch(s, "/dir/sub");
    const onHiddenChild = watch(s, "/dir/_gone");
    const ev = ok(s, del("/dir", { recursive: true }));
    expect(ev).toBe(
      '{"action":"delete","node":{"key":"/dir","dir":true,"modifiedIndex":3,"createdIndex":1},"prevNode":{"key":"/dir","dir":true,"modifiedIndex":1,"createdIndex":1}}',
    );
    expect(onKey.events).toEqual([ev]);
    expect(onSub.events).toEqual([ev]);
    // nothing existed at /dir/_gone, so it was not a removed path: still waiting
    expect(onHiddenChild.events).toEqual([]);
    expect(s.stats.watchers).toBe(1);
  });

  it("sinceIndex in the future holds back earlier events", () => {
    const s = new Store();
    const w = watch(s, "/k", { since: 3 });
    ok(s, set("/k", "1")); // 1
    ok(s, set("/k", "2")); // 2
    expect(w.events).toEqual([]);
    ok(s, set("/k", "3")); // 3
    expect(w.events.map((e) => JSON.parse(e).node.value)).toEqual(["3"]);
  });

  it("stream watchers get every event until removed; unwatch counts down", () => {
    const s = new Store();
    const w = watch(s, "/k", { stream: true });
    ok(s, set("/k", "1"));
    ok(s, set("/k", "2"));
    ok(s, del("/k"));
    // etcd quirk (§4.12): a stream watcher exactly on a deleted node gets the delete twice,
    // once as a removed path and once through the ancestor walk
    expect(w.events.map((e) => JSON.parse(e).action)).toEqual(["set", "set", "delete", "delete"]);
    expect(s.stats.watchers).toBe(1);
    s.unwatch(w.watcher);
    expect(s.stats.watchers).toBe(0);
    s.unwatch(w.watcher);
    expect(s.stats.watchers).toBe(0);
    ok(s, set("/k", "3"));
    expect(w.events.length).toBe(4);
  });

  it("a watcher whose deliver refuses is removed (buffer overflow)", () => {
    const s = new Store();
    let n = 0;
    s.watch("/k", false, true, 0, () => ++n < 2);
    ok(s, set("/k", "1"));
    expect(s.stats.watchers).toBe(1);
    ok(s, set("/k", "2"));
    expect(s.stats.watchers).toBe(0);
    ok(s, set("/k", "3"));
    expect(n).toBe(2);
  });
});

describe("history scan", () => {
  it("answers from history with the first matching event at or after sinceIndex, without registering", () => {
    const s = new Store();
    ok(s, set("/b", "0")); // 1
    ok(s, set("/a/x", "1")); // 2
    ok(s, set("/b", "2")); // 3
    ok(s, set("/a/y", "3")); // 4
    const w = watch(s, "/b", { since: 2 });
    expect(w.events).toEqual([
      '{"action":"set","node":{"key":"/b","value":"2","modifiedIndex":3,"createdIndex":3},"prevNode":{"key":"/b","value":"0","modifiedIndex":1,"createdIndex":1}}',
    ]);
    expect(w.watcher.startIndex).toBe(4);
    expect(s.stats.watchers).toBe(0);
    // recursive: an exact-key event after a non-matching first event still matches (3.x behaviour)
    expect(watch(s, "/a", { recursive: true, since: 3 }).events.map(keyOf)).toEqual(["/a/y"]);
    expect(watch(s, "/a", { recursive: true, since: 1 }).events.map(keyOf)).toEqual(["/a/x"]);
    // non-recursive on a directory ignores children in history too
    const flat = watch(s, "/a", { since: 1 });
    expect(flat.events).toEqual([]);
    expect(s.stats.watchers).toBe(1);
    // a stream watch answered from history is not registered either (etcd issue #1186)
    const st = watch(s, "/b", { stream: true, since: 1 });
    expect(st.events.map(keyOf)).toEqual(["/b"]);
    expect(st.watcher.removed).toBe(true);
    expect(s.stats.watchers).toBe(1);
  });

  it("skips refresh events", () => {
    const s = new Store();
    ok(s, set("/k", "v", { ttl: 10 })); // 1
    ok(s, update("/k", "", { ttl: 20, refresh: true })); // 2: in history, flagged
    ok(s, set("/k", "", { ttl: 30, refresh: true })); // 3
    expect(s.index).toBe(3);
    const w = watch(s, "/k", { since: 2 });
    expect(w.events).toEqual([]);
    expect(s.stats.watchers).toBe(1);
    ok(s, set("/k", "new")); // 4
    expect(w.events.map((e) => JSON.parse(e).node.modifiedIndex)).toEqual([4]);
    expect(watch(s, "/k", { since: 2 }).events.map((e) => JSON.parse(e).node.modifiedIndex)).toEqual([4]);
  });

  it("replays hidden keys (no filtering) and the directory-prefix deletion quirk", () => {
    const s = new Store();
    ok(s, set("/d/_h", "x")); // 1
    ok(s, set("/foo/x", "y")); // 2
    ok(s, del("/foo", { recursive: true })); // 3
    expect(watch(s, "/d", { recursive: true, since: 1 }).events.map(keyOf)).toEqual(["/d/_h"]);
    // deleting the directory /foo matches a replay for /foobar (plain string prefix)
    expect(watch(s, "/foobar", { since: 1 }).events).toEqual([
      '{"action":"delete","node":{"key":"/foo","dir":true,"modifiedIndex":3,"createdIndex":2},"prevNode":{"key":"/foo","dir":true,"modifiedIndex":2,"createdIndex":2}}',
    ]);
    expect(watch(s, "/foo/x/deeper", { since: 3 }).events.map(keyOf)).toEqual(["/foo"]);
  });

  it("keeps the last 1000 events; older waitIndex is 401 with the exact cause and the current index", () => {
    const s = new Store();
    for (let i = 1; i <= 1000; i++) ok(s, set("/k", String(i)));
    expect(watch(s, "/k", { since: 1 }).events.map((e) => JSON.parse(e).node.value)).toEqual(["1"]);
    for (let i = 1001; i <= 2007; i++) ok(s, set(i % 2 ? "/k" : "/j", String(i)));
    expect(errorOf(() => s.watch("/k", false, false, 8, () => true))).toEqual({
      errorCode: 401,
      message: "The event in requested index is outdated and cleared",
      cause: "the requested history has been cleared [1008/8]",
      index: 2007,
    });
    expect(errorOf(() => s.watch("/k", true, true, 1007, () => true)).cause).toBe(
      "the requested history has been cleared [1008/1007]",
    );
    expect(s.stats.watchers).toBe(0);
    expect(watch(s, "/k", { since: 1008 }).events.map((e) => JSON.parse(e).node.value)).toEqual(["1009"]);
    expect(watch(s, "/j", { since: 1008 }).events.map((e) => JSON.parse(e).node.value)).toEqual(["1008"]);
    // waitIndex 0 means "from the next index"; it is never cleared
    const w = watch(s, "/k");
    expect(w.events).toEqual([]);
    expect(w.watcher.startIndex).toBe(2007);
  });
});

describe("stats", () => {
  const counters = (s: Store) => {
    const { watchers: _w, ...rest } = s.stats;
    return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== 0));
  };

  it("has etcd's field order", () => {
    expect(Object.keys(new Store().stats)).toEqual([
      "getsSuccess", "getsFail", "setsSuccess", "setsFail", "deleteSuccess", "deleteFail", "updateSuccess",
      "updateFail", "createSuccess", "createFail", "compareAndSwapSuccess", "compareAndSwapFail",
      "compareAndDeleteSuccess", "compareAndDeleteFail", "expireCount", "watchers",
    ]);
  });

  it("counts each call once, success or fail", () => {
    const s = new Store();
    ok(s, set("/f", "v"));
    ok(s, set("/d/x", "v"));
    fail(s, set("/d", "v")); // 102
    get(s, "/f");
    get(s, "/nope");
    ok(s, create("/c", "v"));
    fail(s, create("/c", "v")); // 105
    ok(s, update("/c", "w"));
    fail(s, update("/missing", "w"));
    ok(s, cas("/c", "z", "w", 0));
    fail(s, cas("/c", "z", "nope", 0)); // a CAS compare failure is a failure
    fail(s, cas("/d", "z", "w", 0)); // 102
    ok(s, cad("/c", "z", 0));
    fail(s, cad("/missing", "z", 0));
    ok(s, del("/f"));
    fail(s, del("/missing"));
    expect(counters(s)).toEqual({
      getsSuccess: 1, getsFail: 1, setsSuccess: 2, setsFail: 1, createSuccess: 1, createFail: 1,
      updateSuccess: 1, updateFail: 1, compareAndSwapSuccess: 1, compareAndSwapFail: 2,
      compareAndDeleteSuccess: 1, compareAndDeleteFail: 1, deleteSuccess: 1, deleteFail: 1,
    });
  });

  it("quirk: some failures count as successes (§6)", () => {
    const s = new Store();
    ok(s, set("/f", "v"));
    ok(s, set("/d", "", { dir: true }));
    const base = counters(s);
    fail(s, cas("/", "x", "y", 0)); // 107
    fail(s, del("/", { recursive: true })); // 107
    fail(s, update("/", "")); // 107
    fail(s, update("/d", "value")); // 102
    fail(s, cad("/d", "x", 0)); // 102
    fail(s, cad("/f", "other", 0)); // 101
    expect(counters(s)).toEqual({
      ...base, compareAndSwapSuccess: 1, deleteSuccess: 1, updateSuccess: 2, compareAndDeleteSuccess: 2,
    });
    expect(s.index).toBe(2);
  });

  it("quirk: a create through a file also counts setsFail; a set fails once, in its lookup", () => {
    const s = new Store();
    ok(s, set("/f", "v"));
    fail(s, create("/f/x", "v"));
    expect(counters(s)).toEqual({ setsSuccess: 1, setsFail: 1, createFail: 1 });
    fail(s, create("/f", "v", { unique: true }));
    expect(counters(s)).toEqual({ setsSuccess: 1, setsFail: 2, createFail: 2 });
    // etcd's Set runs internalGet first, which fails with 104 before internalCreate can count again
    fail(s, set("/f/x", "v"));
    expect(counters(s)).toEqual({ setsSuccess: 1, setsFail: 3, createFail: 2 });
  });

  it("counts expirations and live watchers", () => {
    const s = new Store();
    ok(s, set("/a", "v", { ttl: 1 }));
    ok(s, set("/b", "v", { ttl: 1 }));
    watch(s, "/x");
    watch(s, "/y", { stream: true });
    expect(s.stats.watchers).toBe(2);
    ok(s, expire(T0 + 1000));
    expect(s.stats.expireCount).toBe(2);
    ok(s, set("/x", "1"));
    ok(s, set("/y", "1"));
    expect(s.stats.watchers).toBe(1);
  });
});

/** A varied history: files, dirs, hidden keys, TTLs (file and dir), in-order keys, deletes, refreshes. */
function workload(): Command[] {
  const cmds: Command[] = [];
  let seed = 42;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let i = 0; i < 300; i++) {
    const now = T0 + i * 100;
    const key = `/w/${rnd(5)}/${rnd(8)}`;
    switch (rnd(10)) {
      case 0: cmds.push(set(key, `v${i}`, { ttl: 1 + rnd(40), now })); break;
      case 1: cmds.push(create("/w/q", `j${i}`, { unique: true, now })); break;
      case 2: cmds.push(del(key, { now })); break;
      case 3: cmds.push(del(`/w/${rnd(5)}`, { recursive: true, now })); break;
      case 4: cmds.push(update(`/w/${rnd(5)}`, "", { ttl: 5 + rnd(20), now })); break;
      case 5: cmds.push(cas(key, `c${i}`, "", rnd(300), { now })); break;
      case 6: cmds.push(update(key, "", { ttl: 3, refresh: true, now })); break;
      case 7: cmds.push(set(`/w/_h/${rnd(3)}`, `h${i}`, { now })); break;
      case 8: cmds.push(expire(now)); break;
      default: cmds.push(set(key, `s${i}`, { now }));
    }
  }
  return cmds;
}

describe("snapshot", () => {
  it("saveStore → loadStore gives identical gets, index, history, and TTLs still expire", () => {
    const a = new Store();
    for (const c of workload()) a.apply(c);
    const now = T0 + 300 * 100;
    expect(a.hasTTLKeys()).toBe(true);
    const b = loadStore(saveStore(a));
    expect(b.index).toBe(a.index);
    expect(get(b, "/", { recursive: true, sorted: true, now })).toBe(get(a, "/", { recursive: true, sorted: true, now }));
    expect(get(b, "/w/_h", { recursive: true, sorted: true, now })).toBe(
      get(a, "/w/_h", { recursive: true, sorted: true, now }),
    );
    expect(JSON.stringify(b.hub.history.toJSON())).toBe(JSON.stringify(a.hub.history.toJSON()));
    expect(saveStore(b)).toBe(saveStore(a));
    expect(b.nextExpiry()).toBe(a.nextExpiry());
    // replays from history match
    for (const since of [1, 50, 150, a.index]) {
      expect(watch(b, "/w", { recursive: true, since }).events).toEqual(watch(a, "/w", { recursive: true, since }).events);
    }
    // expiry and later writes continue identically
    const later: Command[] = [expire(now + 60_000), create("/w/q", "after", { unique: true, now: now + 60_000 })];
    const wa = watch(a, "/", { recursive: true, stream: true });
    const wb = watch(b, "/", { recursive: true, stream: true });
    for (const c of later) expect(JSON.stringify(b.apply(c))).toBe(JSON.stringify(a.apply(c)));
    expect(wb.events).toEqual(wa.events);
    expect(wa.events.filter((e) => JSON.parse(e).action === "expire").length).toBeGreaterThan(0);
    expect(b.hasTTLKeys()).toBe(false);
    expect(get(b, "/", { recursive: true, sorted: true })).toBe(get(a, "/", { recursive: true, sorted: true }));
  });

  it("keeps a directory's old modifiedIndex and TTL, and an empty store round-trips", () => {
    const a = new Store();
    ok(a, set("/dir", "", { dir: true }));
    ok(a, update("/dir", "", { ttl: 10 }));
    ok(a, set("/dir/child", "c"));
    const b = loadStore(saveStore(a));
    expect(get(b, "/dir")).toBe(
      '{"action":"get","node":{"key":"/dir","dir":true,"expiration":"2024-01-01T00:00:10.123Z","ttl":10,"nodes":[{"key":"/dir/child","value":"c","modifiedIndex":3,"createdIndex":3}],"modifiedIndex":1,"createdIndex":1}}',
    );
    const w = watch(b, "/dir/child");
    ok(b, expire(T0 + 10_000));
    expect(w.events.map((e) => JSON.parse(e).action)).toEqual(["expire"]);
    const e = loadStore(saveStore(new Store()));
    expect(e.index).toBe(0);
    expect(get(e, "/")).toBe('{"action":"get","node":{"dir":true}}');
  });

  it("keeps the 401 boundary across a snapshot", () => {
    const a = new Store();
    for (let i = 0; i < 1005; i++) ok(a, set("/k", String(i)));
    const b = loadStore(saveStore(a));
    expect(errorOf(() => b.watch("/k", false, false, 5, () => true)).cause).toBe(
      "the requested history has been cleared [6/5]",
    );
    expect(watch(b, "/k", { since: 6 }).events.map((e) => JSON.parse(e).node.modifiedIndex)).toEqual([6]);
  });

  it("rejects an unknown version", () => {
    expect(() => loadStore('{"version":2,"index":0,"nodes":[],"history":[]}')).toThrow(
      "unknown store snapshot version 2",
    );
  });
});

describe("determinism", () => {
  it("the same commands give the same results and the same state", () => {
    const run = () => {
      const s = new Store();
      const results = workload().map((c) => JSON.stringify(s.apply(c)));
      return { results, snap: saveStore(s), stats: JSON.stringify(s.stats) };
    };
    const a = run();
    const b = run();
    expect(b.results).toEqual(a.results);
    expect(b.snap).toBe(a.snap);
    expect(b.stats).toBe(a.stats);
    // the workload exercised both outcomes
    expect(a.results.some((r) => r.startsWith('{"ok":false'))).toBe(true);
    expect(a.results.some((r) => r.includes('"action":"expire","node"'))).toBe(true);
  });
});
