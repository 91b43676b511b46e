/**
 * Micro-benchmark: committed proposals per second through the pure core on
 * an in-memory network (no serialization, no disk), for 3 and 5 members,
 * one proposal per round trip versus batches.
 *
 * Under `npm test` it runs a quick version; RAFT_BENCH=1 runs the full one.
 * It asserts only that everything proposed was applied everywhere.
 */
import { describe, expect, it } from "vitest";
import type { Message } from "../../src/raft";
import { Cluster, drain } from "./helpers";

const FULL = process.env.RAFT_BENCH === "1";

interface Result {
  members: number;
  batch: number;
  proposals: number;
  seconds: number;
  perSecond: number;
}

function bench(members: number, batch: number, proposals: number): Result {
  const ids = Array.from({ length: members }, (_, k) => `n${k + 1}`);
  const c = new Cluster(ids);
  c.elect("n1");
  const leader = c.node("n1");
  const queue: Message[] = [];
  const pump = () => {
    for (const m of c.members.values()) queue.push(...drain(m));
    while (queue.length > 0) {
      const msg = queue.shift() as Message;
      const to = c.get(msg.to);
      to.node.step(msg);
      queue.push(...drain(to));
    }
  };
  const payload = "x".repeat(64);
  const began = performance.now();
  for (let sent = 0; sent < proposals; sent += batch) {
    const n = Math.min(batch, proposals - sent);
    const result = batch === 1 ? leader.propose(payload) : leader.proposeBatch(Array(n).fill(payload));
    if (!result.ok) throw new Error(result.message);
    // Wait for the batch to commit before proposing the next: one round trip each.
    pump();
  }
  const seconds = (performance.now() - began) / 1000;
  for (const id of ids) {
    expect(c.get(id).applied.filter((e) => e.data === payload)).toHaveLength(proposals);
  }
  return { members, batch, proposals, seconds, perSecond: Math.round(proposals / seconds) };
}

describe("raft throughput", () => {
  it(
    "commits every proposal with 3 and 5 members, with and without batching",
    () => {
      const unbatched = FULL ? 20_000 : 2_000;
      const batched = FULL ? 200_000 : 20_000;
      const results = [bench(3, 1, unbatched), bench(3, 256, batched), bench(5, 1, unbatched), bench(5, 256, batched)];
      console.log(
        ["members batch proposals seconds proposals/s"]
          .concat(results.map((r) => `${r.members} ${r.batch} ${r.proposals} ${r.seconds.toFixed(3)} ${r.perSecond}`))
          .join("\n"),
      );
    },
    600_000,
  );
});
