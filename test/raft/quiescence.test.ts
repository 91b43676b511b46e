/**
 * Quiescence in the Raft core: a leader goes quiet once every voter holds
 * its whole log, or once those that do are a quorum and the others have
 * been silent for a whole round (laggards, left behind so that a member
 * that is down does not keep the cluster awake); a laggard that returns is
 * told nothing it does not hold, and wakes the leader.
 */
import { describe, expect, it } from "vitest";
import { Cluster } from "./helpers";

/** A leader elected, its first entry committed everywhere, and everyone applied. */
function settled(voters = ["n1", "n2", "n3"]): Cluster {
  const c = new Cluster(voters, { electionTicks: 10 });
  c.elect("n1");
  c.deliverAll();
  c.tickAll(1);
  return c;
}

describe("quiescence", () => {
  it("a leader whose followers hold its whole log goes quiet, and so do they", () => {
    const c = settled();
    expect(c.node("n1").quiesce()).toBe(true);
    c.deliverAll();
    for (const id of ["n1", "n2", "n3"]) expect(c.node(id).quiescent, id).toBe(true);
    expect(c.node("n1").laggards()).toEqual([]);
  });

  it("leaves a follower that is down behind only after a whole round without a word from it, and only with a quorum caught up", () => {
    const c = settled();
    c.isolated.add("n3");
    c.node("n1").propose("x");
    c.deliverAll();
    // Heard from n3 during the round that is still running: not yet.
    expect(c.node("n1").canQuiesce()).toBe(false);
    // The round under way heard from n3; the whole next one (electionTicks) does not: a laggard now.
    c.tickAll(20);
    expect(c.node("n1").status().role).toBe("leader");
    expect(c.node("n1").laggards()).toEqual(["n3"]);
    expect(c.node("n1").quiesce()).toBe(true);
    c.deliverAll();
    expect([c.node("n1").quiescent, c.node("n2").quiescent, c.node("n3").quiescent]).toEqual([true, true, false]);
  });

  it("does not go quiet with fewer than a quorum caught up", () => {
    const c = new Cluster(["n1", "n2", "n3"], { electionTicks: 10, checkQuorum: false });
    c.elect("n1");
    c.deliverAll();
    c.isolated.add("n2");
    c.isolated.add("n3");
    c.node("n1").propose("x");
    c.tickAll(20);
    expect(c.node("n1").canQuiesce()).toBe(false);
  });

  it("a laggard that gets the quiesce heartbeat commits nothing it lacks, stays awake and wakes the leader, which catches it up", () => {
    const c = settled();
    c.isolated.add("n3");
    c.node("n1").propose("x");
    c.deliverAll();
    c.tickAll(20);
    const n3Commit = c.node("n3").status().commit;
    expect(c.node("n1").quiesce()).toBe(true);
    // n3 is back as the quiesce heartbeat leaves: the heartbeat says commit = the leader's last index.
    c.isolated.delete("n3");
    const [toN3] = c.take((m) => m.type === "heartbeat" && m.to === "n3");
    expect(toN3.quiesce).toBe(true);
    c.node("n3").step(toN3);
    expect(c.node("n3").status().commit).toBe(n3Commit);
    expect(c.node("n3").quiescent).toBe(false);
    const answers = c.take((m) => m.from === "n3");
    expect(answers.map((m) => m.type)).toEqual(["wake"]);
    for (const m of answers) c.node("n1").step(m);
    expect(c.node("n1").quiescent).toBe(false);
    c.deliverAll();
    c.tickAll(2);
    expect(c.appliedData("n3")).toEqual(["x"]);
  });
});
