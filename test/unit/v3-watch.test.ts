/**
 * v3 watch sessions on one member (src/server/v3-watch.ts over the pure rules
 * of src/v3/watch.ts): history from any revision not compacted, then live
 * events, each revision once, in op order; filters and prev_kv; a canceled
 * watcher gets nothing more; a snapshot under a watcher is caught up from
 * history.
 */
import { describe, expect, it } from "vitest";
import type { Entry } from "../../src/raft/index.ts";
import { ReplicaState } from "../../src/server/state.ts";
import { WatchSession } from "../../src/server/v3-watch.ts";
import { encodeV3Entry } from "../../src/v3/command.ts";
import type { WatchResponse } from "../../src/v3/gateway-watch.ts";
import { MemoryBackend } from "../../src/v3/memory-backend.ts";
import { putRequest } from "../../src/v3/requests.ts";
import type { V3Command } from "../../src/v3/types.ts";

function setup() {
  const state = new ReplicaState("w", new MemoryBackend());
  let index = 0;
  const apply = (cmd: V3Command) => state.apply({ index: ++index, term: 1, type: "normal", data: encodeV3Entry(cmd) } as Entry);
  const sent: WatchResponse[] = [];
  const queued: (() => void)[] = [];
  const ticking = new Set<() => void>();
  /** Whether the reader has taken what was sent (see WATCH_BACKLOG_BYTES). */
  const reader = { backlogged: false };
  const timers = {
    later: (fn: () => void) => queued.push(fn),
    every: (fn: () => void) => {
      ticking.add(fn);
      return () => ticking.delete(fn);
    },
  };
  const session = new WatchSession(state, (r) => sent.push(r), timers, () => reader.backlogged);
  const runLater = () => queued.splice(0).forEach((fn) => fn());
  const tick = () => ticking.forEach((fn) => fn());
  return { state, apply, sent, session, runLater, tick, ticking, reader };
}

const put = (key: string, value: string): V3Command => ({ op: "put", req: { key, value, lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false } });
const create = (key: string, extra = {}) => ({ create: { key, rangeEnd: "", startRevision: 0, progressNotify: false, filters: [], prevKv: false, watchId: 0, ...extra } });
const summary = (r: WatchResponse) => [r.watchId, r.revision, r.created ?? false, r.canceled ?? false, (r.events ?? []).map((e) => `${e.type} ${e.kv.key}@${e.kv.modRevision}${e.prevKv ? ` (was @${e.prevKv.modRevision})` : ""}`)];

describe("a v3 watch session", () => {
  it("replays history after the create is answered, then sends each new revision once, with prev_kv and filters", () => {
    const { apply, sent, session, runLater } = setup();
    apply(put("a", "1")); // 2
    apply(put("a", "2")); // 3
    session.handle(create("a", { startRevision: 2, prevKv: true }));
    session.handle(create("a", { watchId: 5, filters: ["NOPUT"] }));
    session.handle({ progress: true });
    runLater();
    apply({ op: "deleteRange", req: { key: "a", rangeEnd: "", prevKv: false } }); // 4
    apply(put("b", "x")); // 5: matches nobody
    expect(sent.map(summary)).toEqual([
      [0, 3, true, false, []],
      [5, 3, true, false, []],
      [-1, 3, false, false, []],
      [0, 3, false, false, ["PUT a@2", "PUT a@3 (was @2)"]],
      [0, 4, false, false, ["DELETE a@4 (was @3)"]],
      [5, 4, false, false, ["DELETE a@4"]],
    ]);
  });

  it("a watch from a compacted revision is created, then canceled with the compaction's revision; a canceled watcher gets nothing more", () => {
    const { apply, sent, session, runLater } = setup();
    for (const v of ["1", "2", "3"]) apply(put("c", v)); // 2..4
    apply({ op: "compact", req: { revision: 3, physical: false } });
    session.handle(create("c", { startRevision: 2 }));
    session.handle(create("c"));
    session.handle({ cancel: 1 });
    runLater();
    apply(put("c", "4"));
    expect(sent).toEqual([
      { revision: 4, watchId: 0, created: true },
      { watchId: 0, canceled: true, compactRevision: 3 },
      { revision: 4, watchId: 1, created: true },
      { revision: 4, watchId: 1, canceled: true },
    ]);
  });

  it("progress_notify: each tick, a caught-up watcher that got no events since the last one is sent the current revision", () => {
    const { apply, sent, session, runLater, tick, ticking } = setup();
    apply(put("p", "1")); // 2
    session.handle(create("p", { progressNotify: true })); // 0
    session.handle(create("p")); // 1: did not ask
    session.handle(create("q", { progressNotify: true, startRevision: 1 })); // 2: history pending
    tick(); // 2 is not caught up yet: nothing for it
    runLater();
    apply(put("p", "2")); // 3: events for 0 and 1
    tick(); // 0 got events since the last tick: nothing; 2 did not
    tick(); // now 0 is quiet too
    expect(sent.map(summary)).toEqual([
      [0, 2, true, false, []],
      [1, 2, true, false, []],
      [2, 2, true, false, []],
      [0, 2, false, false, []],
      [0, 3, false, false, ["PUT p@3"]],
      [1, 3, false, false, ["PUT p@3"]],
      [2, 3, false, false, []],
      [0, 3, false, false, []],
      [2, 3, false, false, []],
    ]);
    expect(ticking.size).toBe(1);
    session.close();
    expect(ticking.size).toBe(0);
  });

  it("catches a watcher up from history when a snapshot replaces the keyspace", () => {
    const { state, sent, session, runLater } = setup();
    session.handle(create("s"));
    runLater();
    const other = new MemoryBackend();
    const leader = new ReplicaState("w", other);
    leader.apply({ index: 1, term: 1, type: "normal", data: encodeV3Entry(put("s", "1")) } as Entry);
    leader.apply({ index: 2, term: 1, type: "normal", data: encodeV3Entry(put("s", "2")) } as Entry);
    state.restore(leader.encode(), 2);
    expect(sent.map(summary).slice(1)).toEqual([[0, 3, false, false, ["PUT s@2", "PUT s@3"]]]);
    session.close();
  });

  it("a reader that falls behind: its watchers wait, then catch up from history in one response once it has drained; nothing lost or repeated", () => {
    const { apply, sent, session, runLater, reader } = setup();
    session.handle(create("b"));
    session.handle(create("other"));
    runLater();
    reader.backlogged = true;
    apply(put("b", "1")); // 2
    apply(put("b", "2")); // 3
    session.resume(); // still backlogged: nothing
    expect(sent.length).toBe(2);
    reader.backlogged = false;
    session.resume();
    apply(put("b", "3")); // 4: sent as usual
    expect(sent.map(summary).slice(2)).toEqual([
      [0, 3, false, false, ["PUT b@2", "PUT b@3"]],
      [0, 4, false, false, ["PUT b@4"]],
    ]);
  });

  it("a watcher left behind while its history is compacted is canceled with the compaction's revision, as etcd cancels it", () => {
    const { state, apply, sent, session, runLater, reader } = setup();
    session.handle(create("c"));
    runLater();
    reader.backlogged = true;
    for (const v of ["1", "2", "3"]) apply(put("c", v)); // 2..4
    apply({ op: "compact", req: { revision: 4, physical: false } });
    reader.backlogged = false;
    apply(put("c", "4")); // 5: the watcher catches up first, and finds its revision 2 compacted
    apply(put("c", "5"));
    expect(sent.slice(1)).toEqual([{ watchId: 0, canceled: true, compactRevision: 4 }]);
    expect(state.v3Watchers).toBe(0);
  });

  it("past the member's bound on watchers, a create is refused in-band, as etcd refuses a watch it cannot create", () => {
    const { state, sent, session } = setup();
    state.maxWatchers = 1;
    session.handle(create("a"));
    session.handle(create("b"));
    expect(sent[1]).toEqual({ revision: 1, watchId: -1, created: true, canceled: true, cancelReason: "etcdserver: too many watchers on this member (at most 1)" });
    expect(state.v3Watchers).toBe(1);
  });

  it("counts live keys once, then keeps the count from each write's events, as a scan would find it", () => {
    const { state, apply } = setup();
    const scan = () => state.mvcc.count({ key: "", end: "" }, state.mvcc.revision());
    apply(put("a", "1"));
    expect(state.liveKeys()).toBe(1);
    apply(put("a", "2")); // a new version, not a new key
    apply(put("b", "1"));
    apply({ op: "deleteRange", req: { key: "a", rangeEnd: "", prevKv: false } });
    apply({ op: "deleteRange", req: { key: "zz", rangeEnd: "", prevKv: false } }); // nothing there
    apply(put("a", "3")); // back after its delete
    apply({ op: "txn", req: { compare: [], success: [{ put: putRequest("c", "1") }, { put: putRequest("d", "1") }], failure: [] } });
    expect([state.liveKeys(), scan()]).toEqual([4, 4]);
  });
});
