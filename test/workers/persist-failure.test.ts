/**
 * A storage write that fails inside the Ready loop (on Cloudflare: a row over
 * its size limit, storage unavailable) restarts the replica from what is
 * durable, instead of leaving it wedged: afterwards it serves again, catches
 * up, and no write acknowledged to a client is lost.
 */
import { describe, expect, it } from "vitest";
import { agreedLeader, appliedIndex, founders, localRead, put, quorumPosition, replica, status, waitUntil } from "./cluster-helpers.ts";

describe("a failed storage write in the Ready loop", { timeout: 60_000 }, () => {
  for (const who of ["leader", "follower"] as const) {
    it(`on the ${who}: the replica restarts from storage, serves again, and every acknowledged write is kept`, async () => {
      const cluster = `persist-fail-${who}`;
      const ids = founders(cluster);
      expect((await put(cluster, "before", "0")).status).toBe(201);
      const { leader } = await agreedLeader(cluster, ids);
      const victim = who === "leader" ? leader : ids.find((id) => id !== leader)!;
      const started = (await status(cluster, victim)).startTime;

      await replica(cluster, victim).failNextWrite();
      const acknowledged = new Map<string, string>([["before", "0"]]);
      for (let k = 0; k < 5; k++) {
        const res = await put(cluster, `k${k}`, `v${k}`).catch(() => null);
        if (res && (res.status === 200 || res.status === 201)) acknowledged.set(`k${k}`, `v${k}`);
      }

      // The victim restarted (a new start time), and the cluster agrees on a leader again.
      await waitUntil(async () => ((await status(cluster, victim)).startTime !== started ? true : undefined), 15_000, `${victim} restarted`);
      await agreedLeader(cluster, ids, 20_000);
      expect((await put(cluster, "after", "1")).status).toBe(201);
      acknowledged.set("after", "1");

      const { raftIndex } = await quorumPosition(cluster);
      for (const id of ids) {
        await waitUntil(async () => ((await appliedIndex(cluster, id)) >= raftIndex ? true : undefined), 15_000, `${id} applied ${raftIndex}`);
        for (const [key, value] of acknowledged) {
          const read = await localRead(cluster, id, `/${key}`, false);
          expect(JSON.parse(read.body).node?.value, `${key} on ${id}`).toBe(value);
        }
      }
      // Most writes went through: the failure cost at most the ones in flight.
      expect(acknowledged.size).toBeGreaterThanOrEqual(3);
    });
  }
});
