/** TTL expiry driven by the Durable Object alarm, and restarts that lose memory but keep SQLite. */
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, position, sleep, storeStats, write } from "./helpers.ts";

import { foundingMembers, replicaName } from "../../src/server/members.ts";

const replicas = () =>
  foundingMembers("default", 3).map((m) =>
    (env as unknown as { REPLICA: DurableObjectNamespace }).REPLICA.getByName(replicaName("default", m.id)),
  );

describe("TTL expiry with no request", { timeout: 20_000 }, () => {
  it("the alarm removes a ttl=1 key and wakes its watcher with the exact expire event", async () => {
    const { index: b } = await position();
    const set = await (await write("PUT", "/v2/keys/exp/a", "value=v&ttl=1")).json<{ node: { expiration: string } }>();
    const watch = await call("/v2/keys/exp/a?wait=true");
    const body = await Promise.race([watch.text(), sleep(4000).then(() => "timeout")]);
    expect(body).toBe(
      `{"action":"expire","node":{"key":"/exp/a","modifiedIndex":${b + 2},"createdIndex":${b + 1}},` +
        `"prevNode":{"key":"/exp/a","value":"v","expiration":"${set.node.expiration}","modifiedIndex":${b + 1},"createdIndex":${b + 1}}}\n`,
    );
    const res = await call("/v2/keys/exp/a");
    expect(res.status).toBe(404);
    expect(await res.text()).toBe(`{"errorCode":100,"message":"Key not found","cause":"/exp/a","index":${b + 2}}\n`);
    expect((await storeStats()).expireCount).toBeGreaterThanOrEqual(1);
  });

  it("after every replica restarts, the alarm brings the cluster back and the key expires with no request", async () => {
    await write("PUT", "/v2/keys/exp/b", "value=v&ttl=2");
    const { index: b } = await position();
    await abortAllDurableObjects();
    // No request now: only the replicas' alarms (re-armed every few seconds) can wake them.
    for (const r of replicas()) expect(await runInDurableObject(r, (_i, ctx) => ctx.storage.getAlarm())).not.toBeNull();
    await abortAllDurableObjects();
    await sleep(9000);
    const res = await call("/v2/keys/exp/b");
    expect(res.status).toBe(404);
    expect(await res.text()).toBe(`{"errorCode":100,"message":"Key not found","cause":"/exp/b","index":${b + 1}}\n`);
  }, 20_000);
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
    // the new instance re-arms the alarm: the TTL key expires without any request touching it
    await sleep(2000);
    const soon = await call("/v2/keys/dur/soon");
    expect(soon.status).toBe(404);
    await soon.text();
    expect((await position()).index).toBe(b + 1);
    // writes continue from the restored index
    const res = await write("PUT", "/v2/keys/dur/next", "value=n");
    expect(JSON.parse(await res.text()).node.modifiedIndex).toBe(b + 2);
  });
});

describe("the commit index is written lazily", () => {
  const savedCommit = (r: DurableObjectStub) =>
    runInDurableObject(r, (_i, ctx) => {
      const row = ctx.storage.sql.exec<{ value: string }>(`SELECT value FROM raft_meta WHERE key = 'hard_state'`).one();
      return (JSON.parse(row.value) as { commit: number }).commit;
    });

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
    await sleep(500);
    const saved = await Promise.all(replicas().map(savedCommit));
    expect(Math.max(...saved)).toBeGreaterThanOrEqual(raftIndex);
  });
});

