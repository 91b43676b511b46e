/** TTL expiry driven by the Durable Object alarm, and restarts that lose memory but keep SQLite. */
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, position, sleep, storeStats, write } from "./helpers.ts";
import { agreedLeader, bounded, founders, localRead, waitUntil } from "./cluster-helpers.ts";

import { foundingMembers, replicaName } from "../../src/server/members.ts";
import { TICK_MS, type Replica } from "../../src/replica/replica.ts";

const replicas = () =>
  foundingMembers("default", 3).map((m) =>
    (env as unknown as { REPLICA: DurableObjectNamespace }).REPLICA.getByName(replicaName("default", m.id)),
  );

/** The commit index a replica has written to SQLite (the Raft hard state), read inside the object. */
const savedCommit = (r: DurableObjectStub) =>
  runInDurableObject(r, (_i, ctx) => {
    const row = ctx.storage.sql.exec<{ value: string }>(`SELECT value FROM raft_meta WHERE key = 'hard_state'`).one();
    return (JSON.parse(row.value) as { commit: number }).commit;
  });


describe("TTL expiry with no request", { timeout: 20_000 }, () => {
  it("the alarm removes a ttl=1 key and wakes its watcher with the exact expire event", async () => {
    const { index: b } = await position();
    const set = await (await write("PUT", "/v2/keys/exp/a", "value=v&ttl=1")).json<{ node: { expiration: string } }>();
    const watch = await call("/v2/keys/exp/a?wait=true");
    const body = await bounded(watch.text(), 4000, "the watcher of /exp/a to receive its expire event");
    expect(body).toBe(
      `{"action":"expire","node":{"key":"/exp/a","modifiedIndex":${b + 2},"createdIndex":${b + 1}},` +
        `"prevNode":{"key":"/exp/a","value":"v","expiration":"${set.node.expiration}","modifiedIndex":${b + 1},"createdIndex":${b + 1}}}\n`,
    );
    const res = await call("/v2/keys/exp/a");
    expect(res.status).toBe(404);
    expect(await res.text()).toBe(`{"errorCode":100,"message":"Key not found","cause":"/exp/a","index":${b + 2}}\n`);
    expect((await storeStats()).expireCount).toBeGreaterThanOrEqual(1);
  });

  it("after an eviction, the watchdog alarm restarts ticking and re-arms itself; a TTL key then expires with no request", async () => {
    const ids = founders("default");
    const stubs = replicas() as unknown as DurableObjectStub<Replica>[]; // in the order of ids
    // Writes need a leader, and with no replica ticking no election could find one.
    const { leader } = await agreedLeader("default", ids);

    // What an eviction leaves: no timer, but the alarm still pending. The
    // alarm is put far off so that only runDurableObjectAlarm below runs it.
    const pending = Date.now() + 10 * 60_000;
    for (const [k, stub] of stubs.entries()) {
      const had = await runInDurableObject(stub, async (instance: Replica, ctx) => {
        const ticking = instance.time.ticking;
        instance.time.stopTicking();
        await ctx.storage.setAlarm(pending);
        return ticking;
      });
      expect(had, `${ids[k]} was ticking`).toBe(true);
    }

    // A write needs no tick: the leader's appends and their answers commit it.
    const set = await write("PUT", "/v2/keys/exp/b", "value=v&ttl=1");
    expect(set.status).toBe(201);
    const { node } = await set.json<{ node: { modifiedIndex: number; expiration: string } }>();
    const b = node.modifiedIndex;
    // With nothing ticking, nothing expires the key: wait out its TTL and three
    // ticks more (a ticking leader proposes an expiry at its next tick). This
    // wait is the point: it shows that the expiry below is the alarm's doing.
    await sleep(Math.max(0, Date.parse(node.expiration) + 3 * TICK_MS - Date.now()));
    expect((await localRead("default", leader, "/exp/b", false)).status, "exp/b on the leader while nothing ticks").toBe(200);

    // The alarm: each replica ticks again and sets its next alarm.
    for (const [k, stub] of stubs.entries()) {
      expect(await runDurableObjectAlarm(stub), `an alarm was pending on ${ids[k]}`).toBe(true);
      const after = await runInDurableObject(stub, async (instance: Replica, ctx) => ({
        ticking: instance.time.ticking,
        alarm: await ctx.storage.getAlarm(),
        now: Date.now(),
      }));
      expect(after.ticking, `${ids[k]} ticks again`).toBe(true);
      // runDurableObjectAlarm deleted the pending alarm before running alarm(): this one is new.
      expect(after.alarm, `${ids[k]} set a new alarm`).not.toBeNull();
      expect(after.alarm!).toBeGreaterThan(after.now);
      expect(after.alarm!).toBeLessThan(pending);
    }

    // Ticking again, the leader expires the key (only its tick proposes
    // expiries), and every replica applies the expiry at the same index.
    for (const id of ids) {
      const gone = await waitUntil(
        async () => {
          const r = await localRead("default", id, "/exp/b", false);
          return r.status === 404 ? r : undefined;
        },
        10_000,
        `/exp/b has expired on ${id}`,
      );
      expect(gone.body, `/exp/b on ${id}`).toBe(`{"errorCode":100,"message":"Key not found","cause":"/exp/b","index":${b + 1}}\n`);
    }
    // Every replica's own tick runs: with no entries after the expiry to carry
    // its commit index to storage, only a tick of that replica writes it.
    for (const [k, stub] of stubs.entries()) {
      const commit = await runInDurableObject(stub, (instance: Replica) => instance.driver.status().commit);
      await waitUntil(
        async () => ((await savedCommit(stub)) >= commit ? true : undefined),
        5000,
        `${ids[k]}'s tick writes its commit index ${commit} to storage`,
      );
    }

    const res = await call("/v2/keys/exp/b");
    expect(res.status).toBe(404);
    expect(await res.text()).toBe(`{"errorCode":100,"message":"Key not found","cause":"/exp/b","index":${b + 1}}\n`);
  });
});

describe("restart (abortAllDurableObjects: memory lost, storage kept)", () => {
  it("keeps data, index, TTLs and history", async () => {
    await write("PUT", "/v2/keys/dur/file", "value=one");
    await write("PUT", "/v2/keys/dur/dir/x", "value=two");
    await write("PUT", "/v2/keys/dur/dir", "ttl=100&dir=true&prevExist=true");
    await write("POST", "/v2/keys/dur/queue", "value=job");
    await write("PUT", "/v2/keys/dur/file?prevValue=one", "value=three");
    await call("/v2/keys/dur/dir/x", { method: "DELETE" });
    await write("PUT", "/v2/keys/dur/_hidden", "value=h");
    await write("PUT", "/v2/keys/dur/soon", "value=s&ttl=1");
    const { index: b } = await position();
    const listingBefore = await (await call("/v2/keys/dur?recursive=true&sorted=true")).json<{ node: unknown }>();
    const historyBefore = await (await call(`/v2/keys/dur?wait=true&recursive=true&waitIndex=${b - 7}`)).text();

    await abortAllDurableObjects();

    expect((await position()).index).toBe(b);
    const listingAfter = await (await call("/v2/keys/dur?recursive=true&sorted=true")).json<{ node: { nodes: { ttl?: number }[] } }>();
    // remaining TTLs may tick down by a second across the restart
    const strip = (x: unknown) => JSON.parse(JSON.stringify(x, (k, v) => (k === "ttl" ? undefined : v)));
    expect(strip(listingAfter)).toEqual(strip(listingBefore));
    const historyAfter = await (await call(`/v2/keys/dur?wait=true&recursive=true&waitIndex=${b - 7}`)).text();
    expect(historyAfter).toBe(historyBefore);
    expect(JSON.parse(historyAfter).node.key).toBe("/dur/file");
    const hidden = await (await call(`/v2/keys/dur/_hidden?wait=true&waitIndex=${b - 1}`)).json();
    expect(hidden).toEqual({
      action: "set",
      node: { key: "/dur/_hidden", value: "h", modifiedIndex: b - 1, createdIndex: b - 1 },
    });
    // the restarted replicas tick again: the TTL key expires without any request
    // touching it (a read never expires a key; only the leader's tick does)
    const soon = await waitUntil(
      async () => {
        const r = await call("/v2/keys/dur/soon");
        const text = await r.text();
        return r.status === 404 && (await position()).index >= b + 1 ? { status: r.status, text } : undefined;
      },
      10_000,
      "/dur/soon (ttl=1) has expired and the expiry is in the store's index",
    );
    expect(soon.status).toBe(404);
    expect((await position()).index).toBe(b + 1);
    // writes continue from the restored index
    const res = await write("PUT", "/v2/keys/dur/next", "value=n");
    expect(JSON.parse(await res.text()).node.modifiedIndex).toBe(b + 2);
  });
});

describe("the commit index is written lazily", () => {
  it("a write answered just before every replica restarts survives, though no replica had written its commit index", async () => {
    await write("PUT", "/v2/keys/lazy/warm", "value=w");
    // The commit that covers the last write stays in memory only until the
    // next entries or a tick (every 100 ms on each replica) write it; a tick
    // can fall between the write and the look at storage, so try again until
    // the look sees the state this test is about.
    let raftIndex = 0;
    let value = "";
    let savedMax = Infinity;
    for (let attempt = 0; attempt < 10 && savedMax >= raftIndex; attempt++) {
      value = `answered-${attempt}`;
      const res = await write("PUT", "/v2/keys/lazy/k", `value=${value}`);
      raftIndex = Number(res.headers.get("x-raft-index"));
      await res.text();
      savedMax = Math.max(...(await Promise.all(replicas().map(savedCommit))));
    }
    expect(savedMax).toBeLessThan(raftIndex);

    await abortAllDurableObjects();

    // A default read, served by whichever replica the router asks: each
    // restarted replica catches up before it answers from its own store.
    const after = await call("/v2/keys/lazy/k");
    expect(after.status).toBe(200);
    expect(JSON.parse(await after.text()).node.value).toBe(value);
    expect(Number(after.headers.get("x-raft-index"))).toBeGreaterThanOrEqual(raftIndex);
  });

  it("a tick writes a commit index that no entries carried", async () => {
    const res = await write("PUT", "/v2/keys/lazy/t", "value=t");
    const raftIndex = Number(res.headers.get("x-raft-index"));
    await res.text();
    // No entries follow the write to carry its commit index: only a tick writes it.
    const saved = await waitUntil(
      async () => {
        const all = await Promise.all(replicas().map(savedCommit));
        return Math.max(...all) >= raftIndex ? all : undefined;
      },
      5000,
      `a replica's tick writes the commit index ${raftIndex} to storage`,
    );
    expect(Math.max(...saved)).toBeGreaterThanOrEqual(raftIndex);
  });
});

