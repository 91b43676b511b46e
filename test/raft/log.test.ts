/**
 * The log view (durable + unstable) and MemoryStorage: the building blocks
 * of Log Matching (§5.3) and the election restriction (§5.4.1).
 */
import { describe, expect, it } from "vitest";
import { MemoryStorage, bootstrap } from "../../src/raft";
import type { Entry } from "../../src/raft";
import { RaftLog } from "../../src/raft/log";
import { applyChange, quorumIndex, voteResult } from "../../src/raft/config";

function e(index: number, term: number, data = ""): Entry {
  return { index, term, type: "normal", data };
}

/** A log whose storage holds terms[k] at index k + 1. */
function logWith(terms: number[]): RaftLog {
  const storage = new MemoryStorage();
  storage.append(terms.map((t, k) => e(k + 1, t)));
  return new RaftLog(storage);
}

describe("RaftLog", () => {
  it("isUpToDate compares last term first, then length (§5.4.1)", () => {
    const log = logWith([1, 1, 2]);
    expect(log.isUpToDate(3, 2)).toBe(true);
    expect(log.isUpToDate(2, 2)).toBe(false);
    expect(log.isUpToDate(9, 1)).toBe(false);
    expect(log.isUpToDate(1, 3)).toBe(true);
  });

  it("maybeAppend refuses a mismatched predecessor and truncates only from the first conflict", () => {
    const log = logWith([1, 1, 2, 2]);
    expect(log.maybeAppend(4, 3, 4, [e(5, 3)])).toBeUndefined();
    expect(log.maybeAppend(2, 1, 10, [e(3, 2), e(4, 3), e(5, 3)])).toEqual({ lastNewIndex: 5, firstChangedIndex: 4 });
    expect([log.lastIndex(), log.term(3), log.term(4), log.committed]).toEqual([5, 2, 3, 5]);
    expect(log.unstable()).toEqual([e(4, 3), e(5, 3)]);
    // Everything already present: nothing changes.
    expect(log.maybeAppend(3, 2, 5, [e(4, 3)])).toEqual({ lastNewIndex: 4, firstChangedIndex: 0 });
    expect(log.lastIndex()).toBe(5);
  });

  it("never truncates committed entries", () => {
    const log = logWith([1, 1, 2]);
    log.commitTo(3);
    expect(() => log.maybeAppend(2, 1, 3, [e(3, 3)])).toThrow(/conflicts with committed/);
  });

  it("findConflictByTerm skips indexes whose term is newer than the probe's", () => {
    const log = logWith([1, 2, 2, 4, 4, 4]);
    expect(log.findConflictByTerm(6, 3)).toBe(3);
    expect(log.findConflictByTerm(6, 1)).toBe(1);
    expect(log.findConflictByTerm(6, 4)).toBe(6);
    expect(log.findConflictByTerm(2, 9)).toBe(2);
  });

  it("stableTo ignores acknowledgements for entries replaced meanwhile", () => {
    const log = logWith([1]);
    log.append([e(2, 2), e(3, 2)]);
    log.append([e(3, 3)]);
    log.stableTo(3, 2);
    expect(log.unstable()).toEqual([e(2, 2), e(3, 3)]);
    log.stableTo(3, 3);
    expect(log.unstable()).toEqual([]);
    expect(log.persistedLastIndex()).toBe(3);
  });

  it("slice limits by size but always returns at least one entry", () => {
    const storage = new MemoryStorage();
    storage.append([e(1, 1, "aaaa"), e(2, 1, "bb"), e(3, 1, "c")]);
    const log = new RaftLog(storage);
    log.append([e(4, 1, "dddd")]);
    expect(log.slice(1, 5, 1).map((x) => x.index)).toEqual([1]);
    expect(log.slice(2, 5, 3).map((x) => x.index)).toEqual([2, 3]);
    expect(log.slice(2, 5).map((x) => x.index)).toEqual([2, 3, 4]);
  });
});

describe("MemoryStorage", () => {
  it("append replaces the suffix, compact keeps the snapshot position answerable", () => {
    const s = new MemoryStorage();
    s.append([e(1, 1), e(2, 1), e(3, 1)]);
    s.append([e(2, 2)]);
    expect([s.lastIndex(), s.term(2), s.term(3)]).toEqual([2, 2, undefined]);
    s.append([e(3, 2), e(4, 2)]);
    s.compact({ meta: { index: 3, term: 2, config: { voters: ["a"], learners: [] } }, data: "d" });
    expect([s.firstIndex(), s.lastIndex(), s.term(3), s.term(2)]).toEqual([4, 4, 2, undefined]);
    expect(() => s.entries(3, 5)).toThrow(RangeError);
    expect(() => s.append([e(3, 3)])).toThrow(/compacted/);
  });

  it("bootstrap writes the same committed first entry on every founding member", () => {
    const a = new MemoryStorage();
    const b = new MemoryStorage();
    bootstrap(a, ["z", "y"]);
    bootstrap(b, ["y", "z"]);
    expect(a.entries(1, 2)).toEqual(b.entries(1, 2));
    expect(a.hardState()).toEqual({ term: 1, vote: "", commit: 1 });
    expect(() => bootstrap(a, ["z"])).toThrow(/empty storage/);
  });
});

describe("quorum arithmetic", () => {
  it("quorumIndex is the highest index a majority holds", () => {
    const match: Record<string, number> = { a: 5, b: 3, c: 9, d: 1, e: 3 };
    expect(quorumIndex(["a", "b", "c", "d", "e"], (id) => match[id])).toBe(3);
    expect(quorumIndex(["a", "c"], (id) => match[id])).toBe(5);
    expect(quorumIndex(["c"], (id) => match[id])).toBe(9);
  });

  it("voteResult decides as soon as the outcome is certain", () => {
    const v = (entries: [string, boolean][]) => voteResult(["a", "b", "c", "d"], new Map(entries));
    expect(v([["a", true], ["b", true]])).toBe("pending");
    expect(v([["a", true], ["b", true], ["c", true]])).toBe("won");
    expect(v([["a", true], ["b", false], ["c", false]])).toBe("lost");
    expect(v([["x", true], ["y", true], ["a", true]])).toBe("pending");
  });

  it("applyChange keeps single-server changes well-formed", () => {
    const cfg = { voters: ["a", "b"], learners: ["c"] };
    expect(applyChange(cfg, { type: "addVoter", node: "c" })).toEqual({ voters: ["a", "b", "c"], learners: [] });
    expect(applyChange(cfg, { type: "removeNode", node: "c" })).toEqual({ voters: ["a", "b"], learners: [] });
    expect(applyChange(cfg, { type: "addLearner", node: "a" })).toBe("a is a voter; remove it before re-adding it as a learner");
    expect(applyChange(cfg, { type: "addVoter", node: "a" })).toBe("a is already a voter");
  });
});
