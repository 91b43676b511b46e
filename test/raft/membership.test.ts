/**
 * Single-server membership changes (thesis §4.1-4.2) with learners, and
 * leader transfer (thesis §3.10).
 */
import { describe, expect, it } from "vitest";
import { MemoryStorage, bootstrap } from "../../src/raft";
import type { Entry } from "../../src/raft";
import { Cluster, drain, newMember } from "./helpers";

function configEntry(index: number, term: number, voters: string[], learners: string[] = []): Entry {
  return { index, term, type: "config", data: JSON.stringify({ config: { voters, learners } }) };
}

describe("membership changes", () => {
  it("adds a learner that replicates but never campaigns, then promotes it", () => {
    const c = new Cluster(["n1", "n2", "n3"], {}, ["n4"]);
    c.elect("n1");
    expect(c.node("n1").proposeConfigChange({ type: "addLearner", node: "n4" })).toEqual({ ok: true, index: 3, term: 2 });
    c.deliverAll();
    c.tickAll(2);
    expect(c.node("n4").status()).toMatchObject({
      config: { voters: ["n1", "n2", "n3"], learners: ["n4"] },
      commit: 3,
      applied: 3,
    });
    expect(c.node("n1").status().progress?.n4).toMatchObject({ learner: true, match: 3, state: "replicate" });
    c.tick("n4", 100);
    expect(c.node("n4").status()).toMatchObject({ role: "follower", term: 2 });
    expect(c.take((m) => m.from === "n4")).toEqual([]);

    expect(c.node("n1").proposeConfigChange({ type: "addVoter", node: "n4" }).ok).toBe(true);
    c.deliverAll();
    for (const id of ["n1", "n2", "n3", "n4"]) {
      expect(c.node(id).status().config).toEqual({ voters: ["n1", "n2", "n3", "n4"], learners: [] });
    }
    // Four voters: a quorum is three, so two replicas are not enough any more.
    c.isolated.add("n3");
    c.isolated.add("n4");
    c.node("n1").propose("x");
    c.deliverAll();
    expect(c.node("n1").status().commit).toBe(4);
    c.isolated.clear();
    c.tickAll(1);
    expect(c.node("n1").status().commit).toBe(5);
  });

  it("promotes only learners, and only once they hold every committed entry", () => {
    const c = new Cluster(["n1", "n2", "n3"], {}, ["n4"]);
    c.elect("n1");
    expect(c.node("n1").proposeConfigChange({ type: "addVoter", node: "n4" })).toMatchObject({
      ok: false,
      reason: "invalid-config-change",
      message: "n4 is not a learner; add it as a learner first and promote it once it has caught up",
    });
    c.isolated.add("n4");
    c.node("n1").proposeConfigChange({ type: "addLearner", node: "n4" });
    c.deliverAll();
    expect(c.node("n1").proposeConfigChange({ type: "addVoter", node: "n4" })).toMatchObject({
      ok: false,
      reason: "learner-behind",
      message: "learner n4 holds 0 of 3 committed entries; promote it once it has caught up",
    });
    c.isolated.clear();
    c.tickAll(2);
    expect(c.node("n1").proposeConfigChange({ type: "addVoter", node: "n4" }).ok).toBe(true);
  });

  it("allows one uncommitted change at a time, and none before the leader commits in its term", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.node("n1").campaign();
    c.deliverAll((m) => m.type !== "append");
    expect(c.node("n1").proposeConfigChange({ type: "addLearner", node: "n4" })).toMatchObject({
      ok: false,
      reason: "config-change-pending",
    });
    c.tickAll(1);
    expect(c.node("n1").proposeConfigChange({ type: "addLearner", node: "n4" }).ok).toBe(true);
    expect(c.node("n1").proposeConfigChange({ type: "addLearner", node: "n5" })).toMatchObject({
      ok: false,
      reason: "config-change-pending",
    });
    expect(c.node("n1").proposeConfigChange({ type: "addVoter", node: "n1" })).toMatchObject({ ok: false });
  });

  it("rejects changes that make no sense", () => {
    const c = new Cluster(["n1"]);
    c.elect("n1");
    c.flush();
    expect(c.node("n1").proposeConfigChange({ type: "removeNode", node: "n9" })).toMatchObject({
      ok: false,
      reason: "invalid-config-change",
      message: "n9 is not a member",
    });
    expect(c.node("n1").proposeConfigChange({ type: "removeNode", node: "n1" })).toMatchObject({
      ok: false,
      reason: "invalid-config-change",
      message: "removing n1 would leave no voters",
    });
  });

  it("a config entry takes effect when appended and is rolled back if overwritten", () => {
    const storage = new MemoryStorage();
    bootstrap(storage, ["a", "b", "c"]);
    const a = newMember("a", storage);
    a.node.step({ type: "append", from: "b", to: "a", term: 2, index: 1, logTerm: 1, entries: [configEntry(2, 2, ["a", "b", "c", "d"])], commit: 1 });
    drain(a);
    expect(a.node.status()).toMatchObject({ commit: 1, config: { voters: ["a", "b", "c", "d"], learners: [] } });
    // A leader of term 3 never saw that entry and overwrites it.
    a.node.step({ type: "append", from: "c", to: "a", term: 3, index: 1, logTerm: 1, entries: [{ index: 2, term: 3, type: "normal", data: "" }], commit: 1 });
    drain(a);
    expect(a.node.status().config).toEqual({ voters: ["a", "b", "c"], learners: [] });
    // And a restart rebuilds the config from the log.
    expect(newMember("a", storage).node.status().config).toEqual({ voters: ["a", "b", "c"], learners: [] });
  });

  it("a leader that removes itself keeps leading until the removal commits, then steps down for good", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.elect("n1");
    expect(c.node("n1").proposeConfigChange({ type: "removeNode", node: "n1" }).ok).toBe(true);
    expect(c.node("n1").status().role).toBe("leader");
    c.deliverAll();
    expect(c.node("n1").status()).toMatchObject({ role: "follower", config: { voters: ["n2", "n3"], learners: [] } });
    c.tickAll(60);
    const leaders = c.leaders();
    expect(leaders).toHaveLength(1);
    expect(leaders[0]).not.toBe("n1");
    c.node(leaders[0]).propose("after");
    c.deliverAll();
    expect(c.appliedData("n2")).toEqual(["after"]);
  });
});

describe("leader transfer", () => {
  it("hands leadership to an up-to-date voter at once", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.elect("n1");
    expect(c.node("n1").transferLeadership("n2")).toBe(true);
    const [timeoutNow] = c.take((m) => m.type === "timeoutNow");
    expect(timeoutNow).toMatchObject({ from: "n1", to: "n2", term: 2 });
    c.node("n2").step(timeoutNow);
    c.deliverAll();
    for (const id of ["n1", "n2", "n3"]) expect(c.node(id).status()).toMatchObject({ term: 3, leader: "n2" });
  });

  it("catches a lagging target up first and refuses proposals meanwhile", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.elect("n1");
    c.isolated.add("n2");
    c.node("n1").propose("a");
    c.deliverAll();
    c.node("n1").transferLeadership("n2");
    expect(c.node("n1").propose("b")).toMatchObject({ ok: false, reason: "transferring-leadership" });
    c.isolated.clear();
    c.tickAll(2);
    expect(c.node("n2").status()).toMatchObject({ role: "leader", term: 3 });
    expect(c.appliedData("n2")).toEqual(["a"]);
  });

  it("gives up after an election timeout if the target does not answer", () => {
    const c = new Cluster(["n1", "n2", "n3"], { electionTicks: 10 });
    c.elect("n1");
    c.isolated.add("n2");
    c.node("n1").transferLeadership("n2");
    expect(c.node("n1").status().transferee).toBe("n2");
    for (let k = 0; k < 10; k++) {
      c.tick("n1");
      c.deliverAll();
    }
    expect(c.node("n1").status()).toMatchObject({ role: "leader", transferee: "" });
    expect(c.node("n1").propose("ok").ok).toBe(true);
  });

  it("refuses targets that are not voters", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.elect("n1");
    expect(c.node("n1").transferLeadership("n9")).toBe(false);
    expect(c.node("n2").transferLeadership("n3")).toBe(false);
  });
});
