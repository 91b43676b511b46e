/**
 * The v2 event history bounded in bytes as well as in count: big values push
 * the oldest events out, a watch from before them gets etcd's 401, and a
 * store rebuilt from its snapshot keeps exactly the same events.
 */
import { describe, expect, it } from "vitest";
import { EventHistory, eventBytes, HISTORY_BYTES } from "../../src/v2/history.ts";
import { loadStore, saveStore } from "../../src/v2/snapshot.ts";
import { Store } from "../../src/v2/store.ts";
import { errorOf, ok, set, watch } from "./helpers.ts";

describe("the v2 history's byte bound", () => {
  it("drops the oldest events once their estimated size passes the bound; a watch from before them is 401", () => {
    const big = "v".repeat(1024 * 1024); // 2 MiB estimated per event (two bytes a character)
    const s = new Store();
    const events = Math.ceil(HISTORY_BYTES / (2 * big.length)) + 3;
    for (let i = 1; i <= events; i++) ok(s, set(`/big/${i}`, big));
    const h = s.hub.history;
    expect(h.lastIndex).toBe(events);
    expect(h.lastIndex - h.startIndex + 1).toBeLessThan(events);
    const kept = h.toJSON();
    expect(kept.reduce((sum, e) => sum + eventBytes(e), 0)).toBeLessThanOrEqual(HISTORY_BYTES);
    expect(errorOf(() => watch(s, "/big/1", { since: 1 }))).toEqual({
      errorCode: 401,
      message: "The event in requested index is outdated and cleared",
      cause: `the requested history has been cleared [${h.startIndex}/1]`,
      index: events,
    });
    // A store rebuilt from the snapshot keeps the same events.
    expect(loadStore(saveStore(s)).hub.history.toJSON()).toEqual(kept);
  });

  it("keeps the count bound, and always the newest event however big", () => {
    const h = new EventHistory(3, 1000);
    const event = (index: number, value: string) => ({ wire: { action: "set" as const, node: { key: "/k", value } }, index, refresh: false, prevDir: false });
    for (let i = 1; i <= 5; i++) h.add(event(i, "x"));
    expect([h.startIndex, h.lastIndex]).toEqual([3, 5]);
    h.add(event(6, "y".repeat(10_000)));
    expect([h.startIndex, h.lastIndex]).toEqual([6, 6]);
  });
});
