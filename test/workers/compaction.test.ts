/**
 * Log compaction: after SNAPSHOT_EVERY logged commands the log is folded into
 * a snapshot, and a restart rebuilds the same store (data, index, history)
 * from snapshot plus the short log. Runs in its own file so that sequence
 * numbers start from an empty replica and every count is exact.
 */
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { parseKeysRequest } from "../../src/http/keys-request.ts";
import type { Replica } from "../../src/replica/replica.ts";
import { SNAPSHOT_EVERY } from "../../src/replica/storage.ts";
import { call, position, write } from "./helpers.ts";

const stub = () => (env as unknown as { REPLICA: DurableObjectNamespace }).REPLICA.getByName("default");

const sql = <T>(query: string) =>
  runInDurableObject(stub(), (_i, ctx) => ctx.storage.sql.exec(query).toArray() as T[]);

it("folds the log into a snapshot and restores everything after a restart", { timeout: 60_000 }, async () => {
  expect(SNAPSHOT_EVERY).toBe(10_000);
  // 5 writes over HTTP
  await write("PUT", "/v2/keys/c/dir", "dir=true");
  await write("PUT", "/v2/keys/c/dir", "ttl=600&dir=true&prevExist=true");
  await write("PUT", "/v2/keys/c/ttl", "value=t&ttl=600");
  await write("PUT", "/v2/keys/c/_hidden", "value=h");
  await write("POST", "/v2/keys/c/queue", "value=q");
  expect(await position()).toEqual({ index: 5, raft: 5 });

  // the bulk applied directly on the replica (same code path as HTTP, minus the router)
  const bulk = SNAPSHOT_EVERY - 5;
  await runInDurableObject(stub() as DurableObjectStub<Replica>, async (instance: Replica) => {
    for (let i = 0; i < bulk; i++) {
      const r = await instance.keys(parseKeysRequest("PUT", `/c/k/${i % 200}`, new Map([["value", [`v${i}`]]])));
      if (r.status !== 201 && r.status !== 200) throw new Error(`write ${i}: ${r.status} ${r.body}`);
    }
  });
  // 15 more over HTTP, crossing the snapshot point
  for (let i = 0; i < 15; i++) {
    const res = await write("PUT", `/v2/keys/c/tail/${i}`, `value=${i}`);
    expect(res.status).toBe(201);
    await res.text();
  }
  const total = SNAPSHOT_EVERY + 15;
  expect(await position()).toEqual({ index: total, raft: total });

  expect(await sql<{ n: number }>("SELECT COUNT(*) AS n FROM command_log")).toEqual([{ n: 15 }]);
  expect(await sql<{ lo: number; hi: number }>("SELECT MIN(seq) AS lo, MAX(seq) AS hi FROM command_log")).toEqual([
    { lo: SNAPSHOT_EVERY + 1, hi: total },
  ]);
  expect(await sql("SELECT value FROM replica_meta WHERE key = 'snapshot_seq'")).toEqual([{ value: String(SNAPSHOT_EVERY) }]);
  expect((await sql<{ n: number }>("SELECT COUNT(*) AS n FROM store_snapshot"))[0].n).toBeGreaterThanOrEqual(1);

  const listing = async () => {
    const res = await call("/v2/keys/c?recursive=true&sorted=true");
    return JSON.parse(await res.text(), (k, v) => (k === "ttl" ? undefined : v));
  };
  const before = await listing();
  expect(before.node.nodes.map((n: { key: string }) => n.key)).toEqual(["/c/dir", "/c/k", "/c/queue", "/c/tail", "/c/ttl"]);
  const oldest = total - 999;
  const historyBefore = await (await call(`/v2/keys/c?wait=true&recursive=true&waitIndex=${oldest}`)).text();

  await abortAllDurableObjects();

  expect(await position()).toEqual({ index: total, raft: total });
  expect(await listing()).toEqual(before);
  expect(await (await call("/v2/keys/c/_hidden")).json()).toEqual({
    action: "get",
    node: { key: "/c/_hidden", value: "h", modifiedIndex: 4, createdIndex: 4 },
  });
  // history survived: the oldest retained event still answers, one older is cleared
  const historyAfter = await (await call(`/v2/keys/c?wait=true&recursive=true&waitIndex=${oldest}`)).text();
  expect(historyAfter).toBe(historyBefore);
  expect(JSON.parse(historyAfter).node.modifiedIndex).toBe(oldest);
  const cleared = await call(`/v2/keys/c?wait=true&recursive=true&waitIndex=${oldest - 1}`);
  expect(cleared.status).toBe(400);
  expect(await cleared.text()).toBe(
    `{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared [${oldest}/${oldest - 1}]","index":${total}}\n`,
  );
  // in-order names continue from the restored index
  const res = await write("POST", "/v2/keys/c/queue", "value=after");
  expect(JSON.parse(await res.text()).node.key).toBe(`/c/queue/${String(total + 1).padStart(20, "0")}`);
  expect(await sql<{ n: number }>("SELECT COUNT(*) AS n FROM command_log")).toEqual([{ n: 16 }]);
});
