/**
 * A member removed from its cluster keeps its storage but hears from nobody:
 * its store is frozen at the removal. It must refuse every request (so the
 * router moves on) instead of serving that frozen store, also after a
 * restart, while the rest of the cluster serves on.
 */
import { describe, expect, it } from "vitest";
import type { KeysRequest } from "../../src/v2/request.ts";
import { v2WatchOverSocket } from "../../src/http/watch-socket.ts";
import { agreedLeader, bounded, founders, get, keysRequest, put, removeMember, replica, waitUntil } from "./cluster-helpers.ts";

const REFUSAL = {
  errorCode: 300,
  message: "Raft Internal Error",
  cause: "etcdserver: the member has been permanently removed from the cluster",
  index: 0,
};

describe("a removed member", () => {
  it("refuses reads, quorum reads, watches, writes and members changes, even after a restart; the cluster serves on", async () => {
    const cluster = "removed-member";
    expect((await put(cluster, "k", "before")).status).toBe(201);
    const { leader } = await agreedLeader(cluster, founders(cluster));
    const victim = founders(cluster).find((id) => id !== leader)!;
    expect((await removeMember(cluster, victim)).status).toBe(204);

    const ask = (req: KeysRequest) =>
      bounded(req.wait ? v2WatchOverSocket(replica(cluster, victim), req) : replica(cluster, victim).keys(req), 10_000, `${req.method} ${req.path} on ${victim}`);
    // Nobody replicates to it any more: it learns of its removal when a peer
    // refuses its messages (its election timer makes it send some).
    await waitUntil(async () => ((await ask(keysRequest("GET", "/k"))).status === 500 ? true : undefined), 20_000, `${victim} refuses a default read`);

    const refusesAll = async () => {
      for (const req of [
        keysRequest("GET", "/k"),
        keysRequest("GET", "/k", { quorum: true }),
        keysRequest("GET", "/k", { wait: true }),
        keysRequest("PUT", "/k", { value: "from the removed member" }),
      ]) {
        const reply = await ask(req);
        expect({ status: reply.status, retryable: reply.retryable, body: JSON.parse(reply.body) }).toEqual({
          status: 500,
          retryable: true,
          body: REFUSAL,
        });
        expect(reply.stream).toBeUndefined();
      }
      expect(await bounded(replica(cluster, victim).addMember(["http://10.0.0.9:2380"]), 10_000, "addMember on the removed member")).toEqual({
        ok: false,
        status: 500,
        message: REFUSAL.cause,
        retryable: true,
      });
    };
    await refusesAll();

    // What it learned survives a restart: it refuses at once, before it has
    // sent anything to anyone.
    await replica(cluster, victim).crash().catch(() => {});
    await refusesAll();

    // The two remaining members serve on, through the router.
    expect((await put(cluster, "k", "after")).status).toBe(200);
    expect((await get(cluster, "k?quorum=true")).body.node.value).toBe("after");
  }, 60_000);
});
