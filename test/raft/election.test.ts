/**
 * Elections: Figure 2 RequestVote rules, §5.2 election, §5.4.1 election
 * restriction, pre-vote (thesis §9.6) and check-quorum (thesis §6.2).
 */
import { describe, expect, it } from "vitest";
import { MemoryStorage, bootstrap } from "../../src/raft";
import type { Entry, Message } from "../../src/raft";
import { Cluster, drain, newMember, type Options } from "./helpers";

function entry(index: number, term: number, data = ""): Entry {
  return { index, term, type: "normal", data };
}

/** A follower "a" of cluster [a, b, c] whose log is bootstrap + extra entries, at `term`. */
function follower(extra: Entry[], term: number, options: Options = {}) {
  const storage = new MemoryStorage();
  bootstrap(storage, ["a", "b", "c"]);
  storage.append(extra);
  storage.setHardState({ term, vote: "", commit: 1 });
  return newMember("a", storage, options);
}

function voteRequest(from: string, term: number, index: number, logTerm: number, type: "vote" | "preVote" = "vote"): Message {
  return { type, from, to: "a", term, index, logTerm };
}

describe("leader election (§5.2)", () => {
  it("elects the campaigning member and everyone agrees on leader and term", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.elect("n1");
    for (const id of ["n1", "n2", "n3"]) {
      const s = c.node(id).status();
      expect([s.term, s.leader, s.commit]).toEqual([2, "n1", 2]);
    }
    expect(c.node("n1").status().role).toBe("leader");
    // §5.4.2: the new leader's first entry is an empty one of its own term.
    expect(c.get("n2").storage.entries(2, 3)).toEqual([entry(2, 2)]);
  });

  it("elects a leader by timeout alone, exactly one per term", () => {
    const c = new Cluster(["n1", "n2", "n3", "n4", "n5"]);
    c.tickAll(40);
    const leaders = c.leaders();
    expect(leaders).toHaveLength(1);
    const term = c.node(leaders[0]).status().term;
    for (const id of c.members.keys()) expect(c.node(id).status()).toMatchObject({ term, leader: leaders[0] });
  });

  it("a single voter elects itself, and commits only once its own log is persisted", () => {
    const storage = new MemoryStorage();
    bootstrap(storage, ["solo"]);
    const m = newMember("solo", storage);
    m.node.campaign();
    expect(m.node.status().role).toBe("leader");
    const rd = m.node.ready();
    expect(rd.entries).toEqual([entry(2, 2)]);
    expect(rd.hardState).toEqual({ term: 2, vote: "solo", commit: 1 });
    storage.append(rd.entries);
    storage.setHardState(rd.hardState!);
    m.node.advance(rd);
    expect(m.node.status().commit).toBe(2);
  });
});

describe("RequestVote receiver rules (Figure 2, §5.4.1)", () => {
  it("grants one vote per term, durably before replying", () => {
    const a = follower([], 1);
    a.node.step(voteRequest("b", 2, 1, 1));
    const rd = a.node.ready();
    expect(rd.hardState).toEqual({ term: 2, vote: "b", commit: 1 });
    expect(rd.messages).toEqual([]);
    expect(rd.messagesAfterPersist).toEqual([{ type: "voteResp", from: "a", to: "b", term: 2 }]);
    a.storage.setHardState(rd.hardState!);
    a.node.advance(rd);

    a.node.step(voteRequest("c", 2, 1, 1));
    expect(drain(a)).toEqual([{ type: "voteResp", from: "a", to: "c", term: 2, reject: true }]);
    // Asking again is answered the same way (the reply may have been lost).
    a.node.step(voteRequest("b", 2, 1, 1));
    expect(drain(a)).toEqual([{ type: "voteResp", from: "a", to: "b", term: 2 }]);
  });

  it("refuses candidates whose log is less up-to-date: lower last term, or same term and shorter", () => {
    const a = follower([entry(2, 2), entry(3, 2)], 2);
    a.node.step(voteRequest("b", 3, 5, 1)); // longer, but older last term
    expect(drain(a)).toEqual([{ type: "voteResp", from: "a", to: "b", term: 3, reject: true }]);
    a.node.step(voteRequest("c", 4, 2, 2)); // same last term, shorter
    expect(drain(a)).toEqual([{ type: "voteResp", from: "a", to: "c", term: 4, reject: true }]);
    a.node.step(voteRequest("b", 5, 2, 3)); // shorter but newer last term
    expect(drain(a)).toEqual([{ type: "voteResp", from: "a", to: "b", term: 5 }]);
    expect(a.storage.hardState()).toEqual({ term: 5, vote: "b", commit: 1 });
  });

  it("ignores vote requests from an older term", () => {
    const a = follower([], 5);
    a.node.step(voteRequest("b", 4, 9, 4));
    expect(drain(a)).toEqual([]);
    expect(a.node.status().term).toBe(5);
  });

  it("pre-votes answer in the candidate's future term without changing the voter's term or vote", () => {
    const a = follower([], 2);
    a.node.step(voteRequest("b", 3, 1, 1, "preVote"));
    expect(drain(a)).toEqual([{ type: "preVoteResp", from: "a", to: "b", term: 3 }]);
    expect(a.node.status()).toMatchObject({ term: 2, vote: "" });
    a.node.step(voteRequest("c", 3, 0, 0, "preVote"));
    expect(drain(a)).toEqual([{ type: "preVoteResp", from: "a", to: "c", term: 2, reject: true }]);
  });
});

describe("pre-vote (thesis §9.6)", () => {
  it("a partitioned member does not inflate its term, and rejoining does not depose the leader", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.elect("n1");
    c.isolated.add("n3");
    c.tickAll(100);
    expect(c.node("n3").status()).toMatchObject({ term: 2, role: "pre-candidate" });
    c.isolated.delete("n3");
    c.tickAll(3);
    for (const id of ["n1", "n2", "n3"]) expect(c.node(id).status()).toMatchObject({ term: 2, leader: "n1" });
  });

  it("without pre-vote the same partition bumps terms and forces a new election", () => {
    const c = new Cluster(["n1", "n2", "n3"], { preVote: false, checkQuorum: false });
    c.elect("n1");
    c.isolated.add("n3");
    c.tickAll(100);
    const isolatedTerm = c.node("n3").status().term;
    expect(isolatedTerm).toBeGreaterThan(5);
    c.isolated.delete("n3");
    c.tickAll(50);
    expect(c.node("n1").status().term).toBeGreaterThanOrEqual(isolatedTerm);
  });

  it("followers that heard from the leader recently ignore even a real vote request (leader lease)", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.elect("n1");
    c.node("n2").step({ type: "vote", from: "n3", to: "n2", term: 9, index: 99, logTerm: 9 });
    expect(drain(c.get("n2"))).toEqual([]);
    expect(c.node("n2").status()).toMatchObject({ term: 2, leader: "n1" });
  });
});

describe("check-quorum (thesis §6.2)", () => {
  it("a leader that hears from no quorum for an election timeout steps down", () => {
    const c = new Cluster(["n1", "n2", "n3"], { electionTicks: 10 });
    c.elect("n1");
    c.isolated.add("n1");
    c.tick("n1", 9);
    expect(c.node("n1").status().role).toBe("leader");
    // The first check after isolation still sees the replies from before it.
    c.tick("n1", 11);
    expect(c.node("n1").status()).toMatchObject({ role: "follower", leader: "", term: 2 });
  });

  it("a leader that keeps hearing from a quorum stays", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.elect("n1");
    c.isolated.add("n3");
    for (let k = 0; k < 50; k++) {
      c.tick("n1");
      c.deliverAll();
    }
    expect(c.node("n1").status().role).toBe("leader");
  });

  it("without check-quorum an isolated leader keeps believing it leads", () => {
    const c = new Cluster(["n1", "n2", "n3"], { checkQuorum: false });
    c.elect("n1");
    c.isolated.add("n1");
    c.tick("n1", 50);
    expect(c.node("n1").status().role).toBe("leader");
  });
});
