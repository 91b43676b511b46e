/**
 * The v2 store's memory quota (V2_STORE_QUOTA_BYTES, at its lowest, 64 KiB,
 * in the "workers-quota" project): the v2 tree lives whole in a member's
 * 128 MB isolate, so past its quota a write that adds to it is refused
 * before it is proposed, with etcd's error 300 and a cause that says why,
 * while reads, refreshes, deletes and writes that shrink a value go on; a
 * delete makes room again.
 */
import { describe, expect, it } from "vitest";
import { founders, get, localRead, put } from "../workers/cluster-helpers.ts";
import { call } from "../workers/helpers.ts";

const CLUSTER = "v2quota";
const QUOTA = 64 * 1024;
/** About 20 kB of the quota each (two bytes a character, as Store.bytes counts them). */
const VALUE = "x".repeat(10_000);

describe("the v2 store's quota", () => {
  it("refuses writes that add to a full store with error 300, keeps reads, refreshes and deletes, and takes writes again once keys are deleted", async () => {
    let stored = 0;
    let refused: Awaited<ReturnType<typeof put>> | null = null;
    for (let i = 0; i < 10 && !refused; i++) {
      const r = await put(CLUSTER, `big/${i}`, VALUE);
      if (r.status === 201) stored++;
      else refused = r;
    }
    // 64 KiB holds three such keys (and their directory), not four.
    expect(stored).toBe(3);
    expect(refused!.status).toBe(500);
    expect(refused!.body).toEqual({
      errorCode: 300,
      message: "Raft Internal Error",
      cause: `etcdserver: v2 store space exceeded (its tree holds at most ${QUOTA} bytes in memory on a member; delete keys to free space)`,
      index: 0,
    });
    // What still fits goes: the quota bounds the tree, not the write.
    expect((await put(CLUSTER, "small", "1")).status).toBe(201);

    // Reads go on, on every member; so does a TTL refresh, which keeps the value.
    expect((await get(CLUSTER, "big/0")).body.node.value).toBe(VALUE);
    for (const id of founders(CLUSTER)) expect((await localRead(CLUSTER, id, "/big/2", false)).status).toBe(200);
    const refresh = await call(`/clusters/${CLUSTER}/v2/keys/big/1?ttl=600&refresh=true&prevExist=true`, { method: "PUT" });
    expect(refresh.status).toBe(200);

    // A write that shrinks a value goes (it frees space); one that grows it past the quota does not.
    expect((await put(CLUSTER, "big/2", "smaller")).status).toBe(200);
    expect((await put(CLUSTER, "big/2", VALUE + VALUE)).status).toBe(500);

    // A delete goes, and makes room for the next write.
    expect((await call(`/clusters/${CLUSTER}/v2/keys/big/0`, { method: "DELETE" })).status).toBe(200);
    expect((await put(CLUSTER, "big/again", VALUE)).status).toBe(201);
  });
});
