/**
 * Batching of concurrent keys requests into one replica call
 * (src/http/keys-batch.ts): the batcher on its own inside workerd, then many
 * concurrent client requests through the real Worker and cluster, each of
 * which must get its own answer.
 */
import { describe, expect, it } from "vitest";
import { batchedKeys, MAX_BATCH, type BatchTarget } from "../../src/http/keys-batch.ts";
import type { KeysRequest } from "../../src/v2/request.ts";
import type { KeysReply } from "../../src/server/api.ts";
import { systemClock, withTimeout } from "../../src/server/clock.ts";
import { runInDurableObject } from "cloudflare:test";
import { agreedLeader, founders, keysRequest, replica } from "./cluster-helpers.ts";
import { call, position, write } from "./helpers.ts";
import type { Replica } from "../../src/replica/replica.ts";

const keep = () => {};

function get(path: string): KeysRequest {
  return {
    method: "GET", path, value: "", dir: false, prevValue: "", prevIndex: "0", prevExist: null, wait: false,
    waitIndex: 0, recursive: false, sorted: false, quorum: false, stream: false, refresh: null, ttl: null,
    noValueOnSuccess: false,
  };
}

function reply(req: KeysRequest): KeysReply {
  return { status: 200, body: req.path, etcdIndex: 1, raft: null, leader: "" };
}

/** A target that answers each request with its own path, and records the calls it got. */
function echoTarget(calls: string[][]): BatchTarget {
  return {
    name: `echo-${Math.random()}`,
    call: async (reqs) => {
      calls.push(reqs.map((r) => r.path));
      return reqs.map(reply);
    },
  };
}

describe("the batcher", () => {
  it("sends requests of the same turn in one call and gives each its own answer", async () => {
    const calls: string[][] = [];
    const target = echoTarget(calls);
    const paths = Array.from({ length: 20 }, (_, i) => `/k${i}`);
    const outcomes = await Promise.all(paths.map((p) => batchedKeys(target, get(p), 1000, keep)));
    expect(calls).toEqual([paths]);
    expect(outcomes.map((o) => ("body" in o ? o.body : o))).toEqual(paths);
  });

  it("a lone request still makes its own call", async () => {
    const calls: string[][] = [];
    const target = echoTarget(calls);
    expect(await batchedKeys(target, get("/a"), 1000, keep)).toMatchObject({ body: "/a" });
    expect(await batchedKeys(target, get("/b"), 1000, keep)).toMatchObject({ body: "/b" });
    expect(calls).toEqual([["/a"], ["/b"]]);
  });

  it(`splits a turn's requests into calls of at most ${MAX_BATCH}`, async () => {
    const calls: string[][] = [];
    const target = echoTarget(calls);
    const paths = Array.from({ length: 300 }, (_, i) => `/k${i}`);
    const outcomes = await Promise.all(paths.map((p) => batchedKeys(target, get(p), 1000, keep)));
    expect(calls.map((c) => c.length)).toEqual([MAX_BATCH, MAX_BATCH, 300 - 2 * MAX_BATCH]);
    expect(calls.flat()).toEqual(paths);
    expect(outcomes.map((o) => ("body" in o ? o.body : o))).toEqual(paths);
  });

  it("a call that fails or times out fails every request in it, with the reason", async () => {
    const failing: BatchTarget = { name: "failing", call: () => Promise.reject(new Error("replica crashed")) };
    const failed = await Promise.all(["/x", "/y"].map((p) => batchedKeys(failing, get(p), 1000, keep)));
    expect(failed).toEqual([{ failed: "replica crashed" }, { failed: "replica crashed" }]);

    const silent: BatchTarget = { name: "silent", call: () => withTimeout(systemClock, new Promise<never>(() => {}), 50, "no answer") };
    const timedOut = await Promise.all(["/x", "/y", "/z"].map((p) => batchedKeys(silent, get(p), 50, keep)));
    expect(timedOut).toEqual([{ failed: "no answer" }, { failed: "no answer" }, { failed: "no answer" }]);
  });

  it("hands the call to keepAlive, so it outlives the request that made it", async () => {
    const kept: Promise<unknown>[] = [];
    const target = echoTarget([]);
    await Promise.all(["/a", "/b", "/c"].map((p) => batchedKeys(target, get(p), 1000, (w) => kept.push(w))));
    expect(kept).toHaveLength(1);
  });
});

describe("concurrent clients through the Worker", () => {
  it("64 concurrent writes and reads each get their own answer", async () => {
    const { index } = await position();
    const keys = Array.from({ length: 64 }, (_, i) => `/v2/keys/batch/k${i}`);
    const writes = await Promise.all(keys.map((k, i) => write("PUT", k, `value=v${i}`)));
    expect(writes.map((r) => r.status)).toEqual(keys.map(() => 201));
    const written = await Promise.all(writes.map((r) => r.json<{ node: { key: string; value: string; modifiedIndex: number } }>()));
    expect(written.map((w) => [w.node.key, w.node.value])).toEqual(keys.map((k, i) => [k.slice(8), `v${i}`]));
    // Each write took its own store index.
    const indexes = written.map((w) => w.node.modifiedIndex).sort((a, b) => a - b);
    expect(indexes).toEqual(keys.map((_, i) => index + 1 + i));

    for (const quorum of [false, true]) {
      const reads = await Promise.all(keys.map((k) => call(quorum ? `${k}?quorum=true` : k)));
      expect(reads.map((r) => r.status)).toEqual(keys.map(() => 200));
      const bodies = await Promise.all(reads.map((r) => r.json<{ node: { value: string } }>()));
      expect(bodies.map((b) => b.node.value)).toEqual(keys.map((_, i) => `v${i}`));
    }
  });

  it("errors stay per request: a failed compare among successful writes", async () => {
    await write("PUT", "/v2/keys/batch-cas/a", "value=1");
    const [ok, refused, other] = await Promise.all([
      write("PUT", "/v2/keys/batch-cas/a", "value=2&prevValue=1"),
      write("PUT", "/v2/keys/batch-cas/a", "value=3&prevValue=nope"),
      write("PUT", "/v2/keys/batch-cas/b", "value=x"),
    ]);
    expect([ok.status, refused.status, other.status]).toEqual([200, 412, 201]);
    expect((await refused.json<{ errorCode: number }>()).errorCode).toBe(101);
    expect((await call("/v2/keys/batch-cas/a").then((r) => r.json<{ node: { value: string } }>())).node.value).toBe("2");
  });
});

describe("the replica's side of a batch", () => {
  it("quorum reads in one batch share one ReadIndex round, and each gets its answer", async () => {
    await write("PUT", "/v2/keys/batch-read/x", "value=shared");
    const { leader } = await agreedLeader("default", founders("default"));
    const stub = replica("default", leader);
    const readRounds = () =>
      runInDurableObject(stub as unknown as DurableObjectStub<Replica>, (r: Replica) => r.driver.readRounds);
    const before = await readRounds();
    const replies = await stub.keysBatch(Array.from({ length: 32 }, () => keysRequest("GET", "/batch-read/x", { quorum: true })));
    expect(replies.map((r) => ("body" in r ? JSON.parse(r.body).node.value : r))).toEqual(Array(32).fill("shared"));
    expect((await readRounds()) - before).toBe(1);
  });
});

