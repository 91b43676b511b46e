/**
 * v3 leases across replicas, inside workerd: a lease and its keys survive a
 * restart of every replica and then expire, their keys deleted at one
 * revision on every member; a lease kept alive across a crash of the leader
 * is not expired by the leader change.
 */
import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { V3Request } from "../../src/server/api.ts";
import { putRequest, rangeRequest } from "../../src/v3/requests.ts";
import { agreedLeader, founders, replica, sleep, waitUntil } from "./cluster-helpers.ts";
import { dumpOf, ok, v3 } from "./v3-helpers.ts";


const putWithLease = (key: string, lease: number): V3Request => ({ method: "put", req: putRequest(key, "v", { lease }) });


describe("v3 leases", () => {
  it("a lease and its keys survive a restart of every replica, then expire: its keys go at one revision on every member", async () => {
    const cluster = "default";
    const ids = founders(cluster);
    const { leader } = await agreedLeader(cluster, ids);
    expect(await ok(v3(cluster, leader, { method: "leaseGrant", req: { id: 4242, ttl: 3 } }))).toMatchObject({ id: 4242, ttl: 3 });
    await ok(v3(cluster, leader, putWithLease("lease/a", 4242)));
    await ok(v3(cluster, leader, putWithLease("lease/b", 4242)));
    await abortAllDurableObjects();
    const after = await agreedLeader(cluster, ids, 20_000);
    expect((await ok(v3(cluster, after.leader, { method: "leaseLeases", req: {} }))).leases).toContain(4242);
    const ttl = await ok(v3(cluster, after.leader, { method: "leaseTimeToLive", req: { id: 4242, keys: true } }));
    expect(ttl).toMatchObject({ id: 4242, grantedTtl: 3, keys: ["lease/a", "lease/b"] });
    // Nobody keeps it alive: it expires, and each member deletes both keys at the same revision.
    const gone = await waitUntil(
      async () => {
        const dumps = await Promise.all(ids.map((id) => dumpOf(cluster, id)));
        return dumps.every((d) => d.leases.every((l) => l.id !== 4242)) ? dumps : undefined;
      },
      15_000,
      "lease 4242 is revoked on every member",
    );
    for (const d of gone) {
      const last = (key: string) => d.versions.filter((kv) => kv.key === key).at(-1)!;
      expect([last("lease/a").version, last("lease/b").version]).toEqual([0, 0]);
      expect(last("lease/a").modRevision).toBe(last("lease/b").modRevision);
      expect(last("lease/a").modRevision).toBe(gone[0].versions.filter((kv) => kv.key === "lease/a").at(-1)!.modRevision);
    }
  }, 60_000);

  it("a lease kept alive while its leader crashes is not expired by the leader change", async () => {
    const cluster = "v3-lease-failover";
    const ids = founders(cluster);
    const first = await agreedLeader(cluster, ids);
    await ok(v3(cluster, first.leader, { method: "leaseGrant", req: { id: 77, ttl: 3 } }));
    await ok(v3(cluster, first.leader, putWithLease("held", 77)));
    const keepAlive = async () => {
      for (const id of ids) {
        const r = await v3(cluster, id, { method: "leaseKeepAlive", req: { id: 77 } }).catch(() => undefined);
        if (r?.ok) return r.response;
      }
      return undefined;
    };
    // Keepalives every second for 8 s (well past the 3 s TTL), with the leader crashed after 2 s.
    const started = Date.now();
    let crashed = false;
    while (Date.now() - started < 8_000) {
      expect(await keepAlive(), "a keepalive is answered").toMatchObject({ id: 77, ttl: 3 });
      if (!crashed && Date.now() - started > 2_000) {
        await replica(cluster, first.leader).crash().catch(() => {});
        crashed = true;
      }
      await sleep(1_000); // the keepalive interval is the point: a client sends them on a period
    }
    const now = await agreedLeader(cluster, ids, 20_000);
    const range = await ok(
      v3(cluster, now.leader, {
        method: "range",
        req: rangeRequest("held"),
      }),
    );
    expect(range.count, "the key attached to the lease is still there").toBe(1);
  }, 60_000);
});
