/**
 * Log compaction and InstallSnapshot (§7), with snapshots sent in chunks.
 */
import { describe, expect, it } from "vitest";
import type { Message } from "../../src/raft";
import { Cluster, drain, newMember } from "./helpers";

describe("compaction", () => {
  it("compacts only applied entries and keeps the snapshot's position answerable", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.elect("n1");
    for (let k = 0; k < 5; k++) c.node("n1").propose(`v${k}`);
    c.deliverAll();
    const n1 = c.get("n1");
    expect(n1.node.status()).toMatchObject({ commit: 7, applied: 7 });
    expect(() => n1.node.compact(8, "state")).toThrow(/only 7 is applied/);
    n1.node.compact(5, "state@5");
    drain(n1);
    expect(n1.storage.snapshot()).toEqual({
      meta: { index: 5, term: 2, config: { voters: ["n1", "n2", "n3"], learners: [] } },
      data: "state@5",
    });
    expect([n1.storage.firstIndex(), n1.storage.lastIndex(), n1.storage.term(5)]).toEqual([6, 7, 2]);
    // Below where the log starts (a leader's snapshot may have got there first): nothing to do.
    n1.node.compact(4, "older");
    drain(n1);
    expect([n1.storage.snapshot().meta.index, n1.storage.snapshot().data, n1.storage.firstIndex()]).toEqual([5, "state@5", 6]);
  });
});

describe("InstallSnapshot", () => {
  it("sends a lagging follower the snapshot in chunks; it reassembles, installs and catches up", () => {
    const c = new Cluster(["n1", "n2", "n3"], { snapshotChunkSize: 10 });
    c.elect("n1");
    c.isolated.add("n3");
    for (let k = 0; k < 10; k++) c.node("n1").propose(`v${k}`);
    c.deliverAll();
    const data = "S".repeat(35);
    c.node("n1").compact(12, data);
    c.node("n1").propose("after");
    c.deliverAll();
    c.isolated.delete("n3");

    const chunks: Message[] = [];
    c.tick("n1");
    c.deliverAll((m) => {
      if (m.type === "snapshot") chunks.push(m);
      return true;
    });
    expect(chunks.map((m) => [m.chunk?.offset, m.chunk?.data.length, m.chunk?.total])).toEqual([
      [0, 10, 35],
      [10, 10, 35],
      [20, 10, 35],
      [30, 5, 35],
    ]);
    const n3 = c.get("n3");
    expect(n3.storage.snapshot()).toEqual({ meta: { index: 12, term: 2, config: { voters: ["n1", "n2", "n3"], learners: [] } }, data });
    const installed = n3.readies.filter((rd) => rd.snapshot);
    expect(installed).toHaveLength(1);
    expect(n3.node.status()).toMatchObject({ commit: 13, applied: 13, lastIndex: 13 });
    expect(n3.applied.at(-1)?.data).toBe("after");
    expect(c.node("n1").status().progress?.n3).toMatchObject({ state: "replicate", match: 13, next: 14 });
  });

  it("a lost chunk is resent after the next heartbeat and the transfer resumes where it stopped", () => {
    const c = new Cluster(["n1", "n2", "n3"], { snapshotChunkSize: 4 });
    c.elect("n1");
    c.isolated.add("n3");
    c.node("n1").propose("v");
    c.deliverAll();
    c.node("n1").compact(3, "abcdefghij");
    c.deliverAll();
    c.isolated.delete("n3");
    c.tick("n1");
    let dropped = false;
    const offsets: number[] = [];
    c.deliverAll((m) => {
      if (m.type !== "snapshot") return true;
      if (m.chunk?.offset === 4 && !dropped) {
        dropped = true;
        return false;
      }
      offsets.push(m.chunk?.offset ?? -1);
      return true;
    });
    expect(c.get("n3").storage.snapshot().meta.index).toBe(0);
    c.tick("n1");
    c.deliverAll((m) => {
      if (m.type === "snapshot") offsets.push(m.chunk?.offset ?? -1);
      return true;
    });
    expect(offsets).toEqual([0, 4, 8]);
    expect(c.get("n3").storage.snapshot().data).toBe("abcdefghij");
  });

  it("a follower whose log already holds the snapshot's last entry keeps its log", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.elect("n1");
    c.node("n1").propose("a");
    c.deliverAll();
    c.node("n2").step({
      type: "snapshot",
      from: "n1",
      to: "n2",
      term: 2,
      chunk: { meta: { index: 2, term: 2, config: { voters: ["n1", "n2", "n3"], learners: [] } }, offset: 0, total: 1, data: "x" },
    });
    expect(drain(c.get("n2"))).toEqual([{ type: "appendResp", from: "n2", to: "n1", term: 2, index: 3 }]);
    expect(c.get("n2").storage.snapshot().meta.index).toBe(0);
  });

  it("a restarted member resumes from its snapshot and replays only later entries", () => {
    const c = new Cluster(["n1", "n2", "n3"]);
    c.elect("n1");
    for (let k = 0; k < 4; k++) c.node("n1").propose(`v${k}`);
    c.deliverAll();
    c.node("n2").compact(4, "state@4");
    c.deliverAll();
    const restarted = newMember("n2", c.get("n2").storage);
    expect(restarted.node.status()).toMatchObject({ applied: 4, firstIndex: 5, commit: 6 });
    drain(restarted);
    expect(restarted.applied.map((e) => e.data)).toEqual(["v2", "v3"]);
  });
});
