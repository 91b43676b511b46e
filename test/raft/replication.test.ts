/**
 * Log replication: the AppendEntries consistency check and conflict handling
 * (Figure 2, §5.3), fast backtracking, flow control and batching, the commit
 * rule for earlier-term entries (§5.4.2, Figure 8) and the persistence
 * contract.
 */
import { describe, expect, it } from "vitest";
import { MemoryStorage, bootstrap } from "../../src/raft";
import type { Entry, Message } from "../../src/raft";
import { Cluster, drain, newMember, type Member, type Options } from "./helpers";

function entry(index: number, term: number, data = ""): Entry {
  return { index, term, type: "normal", data };
}

function entries(from: number, to: number, term: number, prefix = ""): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term, `${prefix}${i}`));
  return out;
}

/** A member whose storage holds bootstrap + `log`, at hard-state `term`. */
function member(id: string, voters: string[], log: Entry[], term: number, options: Options = {}): Member {
  const storage = new MemoryStorage();
  bootstrap(storage, voters);
  storage.append(log);
  storage.setHardState({ term, vote: "", commit: 1 });
  return newMember(id, storage, options);
}

function append(prevIndex: number, prevTerm: number, ents: Entry[], commit: number, term = 3): Message {
  return { type: "append", from: "b", to: "a", term, index: prevIndex, logTerm: prevTerm, entries: ents, commit };
}

describe("AppendEntries receiver (Figure 2)", () => {
  it("rejects when the log lacks the preceding entry, hinting where to probe", () => {
    const a = member("a", ["a", "b", "c"], [entry(2, 1), entry(3, 2)], 2);
    a.node.step(append(3, 3, [entry(4, 3)], 4));
    expect(drain(a)).toEqual([
      { type: "appendResp", from: "a", to: "b", term: 3, index: 3, reject: true, rejectHint: 3, logTerm: 2 },
    ]);
    // Far beyond our log: the hint is our last index.
    a.node.step(append(10, 3, [], 10));
    expect(drain(a)).toEqual([
      { type: "appendResp", from: "a", to: "b", term: 3, index: 10, reject: true, rejectHint: 3, logTerm: 2 },
    ]);
    expect(a.storage.lastIndex()).toBe(3);
  });

  it("replaces a conflicting suffix, appends, and commits min(leaderCommit, last new index)", () => {
    const a = member("a", ["a", "b", "c"], [entry(2, 1), entry(3, 2), entry(4, 2)], 2);
    a.node.step(append(2, 1, [entry(3, 3, "x")], 9));
    const rd = a.node.ready();
    expect(rd.entries).toEqual([entry(3, 3, "x")]);
    expect(rd.hardState).toEqual({ term: 3, vote: "", commit: 3 });
    expect(rd.messagesAfterPersist).toEqual([{ type: "appendResp", from: "a", to: "b", term: 3, index: 3 }]);
    expect(rd.messages).toEqual([]); // an acknowledgement waits for persistence
    a.storage.append(rd.entries);
    a.storage.setHardState(rd.hardState!);
    a.node.advance(rd);
    expect(a.storage.lastIndex()).toBe(3);
    expect(a.storage.term(3)).toBe(3);
  });

  it("a duplicated or reordered older append does not truncate newer entries", () => {
    const a = member("a", ["a", "b", "c"], [], 3);
    a.node.step(append(1, 1, [entry(2, 3, "p"), entry(3, 3, "q")], 1));
    drain(a);
    a.node.step(append(1, 1, [entry(2, 3, "p")], 1));
    expect(drain(a)).toEqual([{ type: "appendResp", from: "a", to: "b", term: 3, index: 2 }]);
    expect(a.storage.lastIndex()).toBe(3);
  });

  it("answers an append below its commit index with its commit index", () => {
    const a = member("a", ["a", "b", "c"], [entry(2, 1), entry(3, 1)], 1);
    a.storage.setHardState({ term: 1, vote: "", commit: 3 });
    const b = newMember("a", a.storage);
    b.node.step(append(1, 1, [entry(2, 1)], 3));
    expect(drain(b)).toEqual([{ type: "appendResp", from: "a", to: "b", term: 3, index: 3 }]);
  });
});

describe("fast backtracking", () => {
  it("skips a whole divergent term in one round trip", () => {
    const voters = ["l", "f", "m"];
    const c = new Cluster([]);
    c.members.set("l", member("l", voters, entries(2, 31, 3, "l"), 3));
    c.members.set("m", member("m", voters, entries(2, 31, 3, "l"), 3));
    c.members.set("f", member("f", voters, entries(2, 41, 2, "f"), 2));
    const rejections: Message[] = [];
    c.node("l").campaign();
    c.deliverAll((m) => {
      if (m.type === "appendResp" && m.reject) rejections.push(m);
      return true;
    });
    expect(rejections).toEqual([
      { type: "appendResp", from: "f", to: "l", term: 4, index: 31, reject: true, rejectHint: 31, logTerm: 2 },
    ]);
    expect(c.get("f").storage.entries(2, 33)).toEqual(c.get("l").storage.entries(2, 33));
    expect(c.get("f").storage.lastIndex()).toBe(32);
  });
});

describe("flow control and batching", () => {
  it("keeps at most maxInflight appends unanswered, then sends the backlog in one append", () => {
    const c = new Cluster(["n1", "n2", "n3"], { maxInflight: 2 });
    c.elect("n1");
    // Each proposal taken out in a Ready of its own: one append each, until the window is full.
    const toN2: Message[] = [];
    for (const data of ["a", "b", "c", "d", "e"]) {
      expect(c.node("n1").propose(data).ok).toBe(true);
      toN2.push(...c.take((m) => m.to === "n2"));
    }
    expect(toN2.map((m) => m.entries?.map((e) => e.data))).toEqual([["a"], ["b"]]);
    // The first acknowledgement frees a slot: the rest go out together.
    c.node("n1").step({ type: "appendResp", from: "n2", to: "n1", term: 2, index: 3 });
    expect(c.take((m) => m.to === "n2").map((m) => m.entries?.map((e) => e.data))).toEqual([["c", "d", "e"]]);
    expect(c.node("n1").status().progress?.n2).toMatchObject({ state: "replicate", match: 3, next: 8 });
  });

  it("proposals made between two Readies go out in one append per follower", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.elect("n1");
    for (const data of ["a", "b", "c"]) expect(c.node("n1").propose(data).ok).toBe(true);
    const appends = c.take((m) => m.type === "append");
    expect(appends.map((m) => [m.to, m.entries?.map((e) => e.data)])).toEqual([
      ["n2", ["a", "b", "c"]],
      ["n3", ["a", "b", "c"]],
    ]);
  });

  it("a follower answers appends stepped together with one acknowledgement of the highest index", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.elect("n1");
    const appends: Message[] = [];
    for (const data of ["a", "b", "c"]) {
      c.node("n1").propose(data);
      appends.push(...c.take((m) => m.type === "append" && m.to === "n2"));
    }
    expect(appends).toHaveLength(3);
    for (const m of appends) c.node("n2").step(m);
    const acks = c.take((m) => m.from === "n2");
    expect(acks).toEqual([{ type: "appendResp", from: "n2", to: "n1", term: 2, index: 5 }]);
  });

  it("a commit that moves sends an append carrying it only to followers that lack it", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.elect("n1");
    c.node("n1").propose("a");
    const [toN2, toN3] = c.take((m) => m.type === "append");
    expect([toN2.to, toN3.to, toN2.commit]).toEqual(["n2", "n3", 2]);
    c.node("n2").step(toN2);
    c.node("n3").step(toN3);
    // Both acknowledgements in one step batch: the commit moves once, one append each tells it.
    for (const ack of c.take((m) => m.type === "appendResp")) c.node("n1").step(ack);
    const commits = c.take((m) => m.type === "append");
    expect(commits.map((m) => [m.to, m.entries, m.commit])).toEqual([
      ["n2", [], 3],
      ["n3", [], 3],
    ]);
    // The next proposal's append carries its entry and the same commit.
    c.node("n1").propose("b");
    expect(c.take((m) => m.type === "append").map((m) => [m.to, m.entries?.length, m.commit])).toEqual([
      ["n2", 1, 3],
      ["n3", 1, 3],
    ]);
  });

  it("proposeBatch sends many proposals in one append per follower", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.elect("n1");
    const result = c.node("n1").proposeBatch(["a", "b", "c"]);
    expect(result).toEqual({ ok: true, index: 3, term: 2 });
    const appends = c.take((m) => m.type === "append");
    expect(appends.map((m) => [m.to, m.entries?.length])).toEqual([
      ["n2", 3],
      ["n3", 3],
    ]);
  });

  it("a follower that is not leader refuses proposals and names the leader", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.elect("n1");
    expect(c.node("n2").propose("x")).toMatchObject({ ok: false, reason: "not-leader", leader: "n1" });
  });

  it("a heartbeat answered while an append is on its way sends no empty append; one answered after a later heartbeat does", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.elect("n1");
    // A heartbeat leaves, then a proposal's append (still unanswered).
    c.tick("n1");
    const [beat] = c.take((m) => m.type === "heartbeat" && m.to === "n2");
    c.node("n1").propose("a");
    const [lost] = c.take((m) => m.type === "append" && m.to === "n2");
    expect(lost.entries?.map((e) => e.data)).toEqual(["a"]);
    c.node("n2").step(beat);
    for (const answer of c.take((m) => m.from === "n2")) c.node("n1").step(answer);
    expect(c.take((m) => m.type === "append" && m.to === "n2")).toEqual([]);
    // The append was lost: the answer to the next heartbeat sends the entries again (as a probe of where n2 stands).
    c.tick("n1");
    const [next] = c.take((m) => m.type === "heartbeat" && m.to === "n2");
    c.node("n2").step(next);
    for (const answer of c.take((m) => m.from === "n2")) c.node("n1").step(answer);
    expect(c.take((m) => m.type === "append" && m.to === "n2")).toHaveLength(1);
    c.deliverAll();
    c.tickAll(2);
    expect(c.appliedData("n2")).toEqual(["a"]);
  });

  it("probes a follower that lost appends, then catches it up", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.elect("n1");
    c.isolated.add("n3");
    for (let k = 0; k < 20; k++) c.node("n1").propose(`v${k}`);
    c.deliverAll();
    c.isolated.delete("n3");
    c.tickAll(2);
    expect(c.appliedData("n3")).toEqual(c.appliedData("n1"));
    expect(c.appliedData("n3")).toHaveLength(20);
  });
});

describe("commit rule for entries of earlier terms (§5.4.2, Figure 8)", () => {
  it("does not commit an old-term entry by counting replicas; a later leader may then replace it", () => {
    const voters = ["s1", "s2", "s3", "s4", "s5"];
    const opts: Options = { preVote: false, checkQuorum: false, maxAppendSize: 1 };
    const c = new Cluster([]);
    c.members.set("s1", member("s1", voters, [entry(2, 2, "xx")], 3, opts));
    c.members.set("s2", member("s2", voters, [entry(2, 2, "xx")], 3, opts));
    c.members.set("s3", member("s3", voters, [], 3, opts));
    c.members.set("s4", member("s4", voters, [], 3, opts));
    c.members.set("s5", member("s5", voters, [entry(2, 3, "yy")], 3, opts));

    // s1 wins term 4 (s5's log is newer than s1's and refuses) and appends 3:4.
    c.node("s1").campaign();
    c.deliverAll((m) => m.type === "vote" || m.type === "voteResp");
    expect(c.node("s1").status()).toMatchObject({ role: "leader", term: 4, lastIndex: 3 });

    // s1 copies its term-2 entry to s3 and s4, but its own entry 3:4 reaches nobody.
    c.isolated.add("s2");
    c.isolated.add("s5");
    c.tick("s1");
    const wouldStoreEntry3 = (m: Message) =>
      m.type === "append" && (m.entries ?? []).some((e) => e.index === 3) && c.get(m.to).storage.lastIndex() >= 2;
    c.deliverAll((m) => !wouldStoreEntry3(m));
    expect(c.get("s3").storage.term(2)).toBe(2);
    expect(c.get("s4").storage.term(2)).toBe(2);
    // Entry 2 is on s1, s3, s4 -- a majority -- yet it must not commit.
    expect(c.node("s1").status().commit).toBe(1);

    // s1 crashes. s5 (last term 3) wins term 5 with s2, s3, s4 and overwrites index 2.
    c.isolated.clear();
    c.isolated.add("s1");
    c.node("s5").campaign();
    c.deliverAll();
    expect(c.node("s5").status()).toMatchObject({ role: "leader", term: 5 });
    for (const id of ["s2", "s3", "s4", "s5"]) {
      expect(c.get(id).storage.term(2)).toBe(3);
      expect(c.appliedData(id)).toEqual(["yy"]);
    }
  });

  it("commits the earlier-term entry together with the leader's own entry", () => {
    const voters = ["s1", "s2", "s3"];
    const c = new Cluster([]);
    c.members.set("s1", member("s1", voters, [entry(2, 2, "xx")], 3));
    c.members.set("s2", member("s2", voters, [], 3));
    c.members.set("s3", member("s3", voters, [], 3));
    c.elect("s1");
    for (const id of voters) {
      expect(c.node(id).status().commit).toBe(3);
      expect(c.appliedData(id)).toEqual(["xx"]);
    }
  });
});

describe("persistence contract", () => {
  it("the leader counts its own log only once persisted", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.elect("n1");
    const leader = c.get("n1");
    leader.node.propose("a");
    const rd = leader.node.ready();
    expect(rd.entries).toEqual([entry(3, 2, "a")]);
    // The leader may send before persisting...
    expect(rd.messages.map((m) => [m.type, m.to])).toEqual([
      ["append", "n2"],
      ["append", "n3"],
    ]);
    // ...and n2 acknowledges, but n2 alone is not a majority without the leader's own copy.
    c.node("n2").step(rd.messages[0]);
    const [ack] = drain(c.get("n2"));
    expect(ack).toMatchObject({ type: "appendResp", index: 3 });
    leader.node.step(ack);
    expect(leader.node.status().commit).toBe(2);
    leader.storage.append(rd.entries);
    leader.node.advance(rd);
    expect(leader.node.status().commit).toBe(3);
  });

  it("a restarted member recovers term, vote and log from storage alone", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.elect("n1");
    c.node("n1").propose("a");
    c.deliverAll();
    const restarted = newMember("n2", c.get("n2").storage);
    expect(restarted.node.status()).toMatchObject({ term: 2, vote: "n1", commit: 3, lastIndex: 3, applied: 0 });
    // Without a snapshot the application starts empty and replays every committed entry.
    drain(restarted);
    expect(restarted.applied.map((e) => e.index)).toEqual([1, 2, 3]);
  });
});
