/**
 * Linearizable reads through ReadIndex (thesis §6.4): the leader confirms it
 * still leads with a heartbeat round before answering; followers forward.
 */
import { describe, expect, it } from "vitest";
import { Cluster } from "./helpers";

describe("ReadIndex", () => {
  it("the leader answers only after a quorum acknowledged a heartbeat round tagged with the request", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.elect("n1");
    expect(c.node("n1").readIndex("r1")).toBe(true);
    const heartbeats = c.take((m) => m.type === "heartbeat");
    expect(heartbeats.map((m) => [m.to, m.context, m.commit])).toEqual([
      ["n2", "r1", 2],
      ["n3", "r1", 2],
    ]);
    expect(c.get("n1").readStates).toEqual([]);
    // One follower plus the leader is a quorum of three.
    c.node("n2").step(heartbeats[0]);
    c.deliverAll((m) => m.to === "n1");
    expect(c.get("n1").readStates).toEqual([{ context: "r1", index: 2 }]);
  });

  it("a follower forwards the request and receives the leader's commit index", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.elect("n1");
    c.node("n1").propose("a");
    c.deliverAll();
    expect(c.node("n3").readIndex("r2")).toBe(true);
    c.deliverAll();
    expect(c.get("n3").readStates).toEqual([{ context: "r2", index: 3 }]);
    expect(c.get("n1").readStates).toEqual([]);
  });

  it("a new leader defers reads until it has committed an entry of its own term", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.node("n1").campaign();
    c.deliverAll((m) => m.type !== "append" && m.type !== "appendResp");
    expect(c.node("n1").status()).toMatchObject({ role: "leader", commit: 1 });
    c.node("n1").readIndex("r3");
    c.tick("n1");
    c.deliverAll((m) => m.type !== "append" && m.type !== "appendResp");
    expect(c.get("n1").readStates).toEqual([]);
    // Once the no-op (index 2) commits, the read is confirmed at index 2, not 1.
    c.tick("n1");
    c.deliverAll();
    expect(c.get("n1").readStates).toEqual([{ context: "r3", index: 2 }]);
  });

  it("a deposed leader that has not noticed yet never answers", () => {
    // Without check-quorum n1 keeps believing it leads; followers grant votes freely.
    const c = new Cluster(["n1", "n2", "n3"], { checkQuorum: false });
    c.elect("n1");
    c.isolated.add("n1");
    c.elect("n2");
    c.node("n2").propose("newer");
    c.deliverAll();
    c.node("n1").readIndex("stale");
    for (let k = 0; k < 5; k++) {
      c.tick("n1");
      c.deliverAll();
    }
    expect(c.node("n1").status()).toMatchObject({ role: "leader", term: 2 });
    expect(c.get("n1").readStates).toEqual([]);
  });

  it("without a known leader the request is refused so the caller can retry elsewhere", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    expect(c.node("n2").readIndex("r")).toBe(false);
  });

  it("a single-voter leader answers at once", () => {
    const c = new Cluster(["solo"]);
    c.elect("solo");
    c.flush();
    c.node("solo").readIndex("r");
    c.flush();
    expect(c.get("solo").readStates).toEqual([{ context: "r", index: 2 }]);
  });
});
