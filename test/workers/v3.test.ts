/**
 * The v3 keyspace replicated through Raft, inside workerd: writes through any
 * member, linearizable and serializable reads, a restart of every replica that
 * keeps data, revisions and history, and a member cut off while the log was
 * compacted that catches up from a snapshot holding the whole keyspace.
 */
import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { putRequest, rangeRequest } from "../../src/v3/requests.ts";
import { MAX_V3_BODY_BYTES } from "../../src/server/limits.ts";
import { agreedLeader, bounded, debug, founders, replica, SNAPSHOT_EVERY, waitUntil } from "./cluster-helpers.ts";
import { call } from "./helpers.ts";
import { dumpOf, ok, v3 } from "./v3-helpers.ts";

const rangeOf = rangeRequest;
const putOf = (key: string, value: string) => ({ method: "put" as const, req: putRequest(key, value) });


describe("the v3 keyspace across replicas", () => {
  it("takes writes through any member, serves linearizable and serializable reads, and every member holds the same versions", async () => {
    const cluster = "v3-basic";
    const ids = founders(cluster);
    const { leader } = await agreedLeader(cluster, ids);
    const follower = ids.find((id) => id !== leader)!;
    expect(await ok(v3(cluster, follower, putOf("a", "1")))).toEqual({ revision: 2 });
    expect(await ok(v3(cluster, leader, putOf("a", "2")))).toEqual({ revision: 3 });
    // Linearizable, asked of a follower: forwarded, and sees the last write.
    const read = await ok(v3(cluster, follower, { method: "range", req: rangeOf("a") }));
    expect(read.kvs).toEqual([{ key: "a", value: "2", createRevision: 2, modRevision: 3, version: 2, lease: 0 }]);
    // A failing request changes nothing anywhere.
    const refused = await v3(cluster, follower, { method: "range", req: rangeOf("a", { revision: 9 }) });
    expect(refused).toMatchObject({ ok: false, error: { code: 11, message: "etcdserver: mvcc: required revision is a future revision" } });
    const dumps = await waitUntil(
      async () => {
        const all = await Promise.all(ids.map((id) => dumpOf(cluster, id)));
        return all.every((d) => d.revision === 3) ? all : undefined;
      },
      10_000,
      "every member has applied revision 3",
    );
    for (const d of dumps) expect(d).toEqual(dumps[0]);
    // Serializable: served by the member asked, from what it has applied.
    const local = await ok(v3(cluster, follower, { method: "range", req: rangeOf("a", { serializable: true }) }));
    expect(local.kvs?.[0].value).toBe("2");
  });

  it("keeps data, revisions and history across a restart of every replica", async () => {
    const cluster = "default";
    const ids = founders(cluster);
    const { leader } = await agreedLeader(cluster, ids);
    const first = await ok(v3(cluster, leader, putOf("restart/k", "before")));
    const second = await ok(v3(cluster, leader, putOf("restart/k", "again")));
    const before = await waitUntil(
      async () => {
        const all = await Promise.all(ids.map((id) => dumpOf(cluster, id)));
        return all.every((d) => d.revision === second.revision) ? all : undefined;
      },
      10_000,
      `every member has applied revision ${second.revision}`,
    );
    await abortAllDurableObjects();
    const after = await agreedLeader(cluster, ids, 20_000);
    const past = await ok(v3(cluster, after.leader, { method: "range", req: rangeOf("restart/k", { revision: first.revision }) }));
    expect(past.kvs?.map((kv) => [kv.value, kv.modRevision, kv.version])).toEqual([["before", first.revision, 1]]);
    const now = await ok(v3(cluster, after.leader, { method: "range", req: rangeOf("restart/k") }));
    expect(now.kvs?.map((kv) => [kv.value, kv.modRevision, kv.version])).toEqual([["again", second.revision, 2]]);
    // Nothing was lost or applied twice: each member holds what it held.
    for (const [k, id] of ids.entries()) expect(await dumpOf(cluster, id)).toEqual(before[k]);
  });

  it("a member cut off while the log was compacted catches up from a snapshot that carries the keyspace", async () => {
    const cluster = "v3-snapshot";
    const ids = founders(cluster);
    const { leader } = await agreedLeader(cluster, ids);
    const [lagger, other] = ids.filter((id) => id !== leader);
    expect((await debug(cluster, "partition", { groups: [[leader, other], [lagger]] })).status).toBe(200);
    // More entries than one snapshot interval: the leader compacts past what the lagger has.
    for (let i = 0; i < SNAPSHOT_EVERY + 20; i++) await ok(v3(cluster, leader, putOf(`s/${i % 7}`, `${i}\u0000\u00ff`)));
    await ok(v3(cluster, leader, { method: "compact", req: { revision: 50, physical: false } }));
    expect((await debug(cluster, "heal")).status).toBe(200);
    const want = await dumpOf(cluster, leader);
    const got = await waitUntil(
      async () => {
        const d = await dumpOf(cluster, lagger);
        return d.revision === want.revision ? d : undefined;
      },
      20_000,
      `${lagger} has caught up to revision ${want.revision}`,
    );
    expect(got).toEqual(want);
    // maintenance/hash: every member's hash of the keyspace at the same revision is the same.
    const statuses = await Promise.all(ids.map((id) => bounded(replica(cluster, id).v3Status(true), 5000, `v3Status of ${id}`)));
    expect(statuses.map((s) => s.revision)).toEqual(ids.map(() => want.revision));
    expect(new Set(statuses.map((s) => s.hash)).size).toBe(1);
    expect(statuses[0].hash).not.toBe(0);
    const read = await ok(v3(cluster, lagger, { method: "range", req: rangeOf("s/", { rangeEnd: "s0", serializable: true, countOnly: true }) }));
    expect(read.count).toBe(7);
  }, 60_000);
});

describe("the v3 gateway's request limit", () => {
  it("refuses a body over MAX_V3_BODY_BYTES with etcd's error, and stores nothing", async () => {
    const value = btoa("x".repeat(1_600_000)); // 2.13 MB of base64
    const body = JSON.stringify({ key: btoa("big"), value });
    expect(body.length).toBeGreaterThan(MAX_V3_BODY_BYTES);
    const res = await call("/v3/kv/put", { method: "POST", body });
    expect(res.status).toBe(400);
    expect(await res.text()).toBe('{"error":"etcdserver: request is too large","message":"etcdserver: request is too large","code":3}');
    const read = await call("/v3/kv/range", { method: "POST", body: JSON.stringify({ key: btoa("big") }) });
    expect(await read.json()).not.toHaveProperty("kvs");
    // A value of 1.2 MB (1.6 MB of base64) is stored whole.
    const fits = btoa("y".repeat(1_200_000));
    expect((await call("/v3/kv/put", { method: "POST", body: JSON.stringify({ key: btoa("big"), value: fits }) })).status).toBe(200);
    const got = (await (await call("/v3/kv/range", { method: "POST", body: JSON.stringify({ key: btoa("big") }) })).json()) as { kvs: { value: string }[] };
    expect(got.kvs[0].value).toBe(fits);
  });
});
