/**
 * Admission limits inside workerd (src/server/limits.ts): a body at the
 * request limit whose escapes expand past what a log entry may hold is
 * refused before it is proposed, with each API's error, and every member
 * keeps serving; a body over the limit is refused as it streams in, without
 * being read whole; watchers past a member's bound are refused with a clear
 * error.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Replica } from "../../src/replica/replica.ts";
import { MAX_REQUEST_BYTES, MAX_V3_BODY_BYTES } from "../../src/server/limits.ts";
import type { ReplicaState } from "../../src/server/state.ts";
import { agreedLeader, appliedUpTo, clusterCall, founders, localRead, put, quorumPosition, replica } from "./cluster-helpers.ts";
import { FORM } from "./helpers.ts";

const b64 = (s: string) => btoa(s);
const POST_TOO_LARGE = '{"errorCode":210,"message":"Invalid POST form","cause":"http: POST too large","index":0}\n';
const REQUEST_TOO_LARGE = '{"error":"etcdserver: request is too large","message":"etcdserver: request is too large","code":3}';

/** A form body of exactly MAX_REQUEST_BYTES whose value is one percent-escape repeated. */
function escapedBody(escape: string): string {
  const body = "value=" + escape.repeat(Math.floor((MAX_REQUEST_BYTES - 6) / 3));
  return body + "x".repeat(MAX_REQUEST_BYTES - body.length);
}

/** A body that streams `chunk`-byte pieces up to `total` bytes, counting what was read of it. */
function countedStream(total: number, chunk = 64 * 1024, byte = 0x61) {
  const read = { bytes: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (read.bytes >= total) return controller.close();
      read.bytes += chunk;
      controller.enqueue(new Uint8Array(chunk).fill(byte));
    },
  });
  return { stream, read };
}

describe("entries too large once encoded", () => {
  const cluster = "admission";

  it.each([["%01"], ["%80"]])("a v2 body of %s escapes at the request limit is refused as etcd refuses a body too large; every member keeps serving", async (escape) => {
    const ids = founders(cluster);
    await put(cluster, "before", "1");
    const before = await quorumPosition(cluster);
    const body = escapedBody(escape);
    expect(body.length).toBe(MAX_REQUEST_BYTES);
    const res = await clusterCall(cluster, "/v2/keys/huge", { method: "PUT", body, headers: FORM });
    expect([res.status, res.headers.get("x-etcd-index"), await res.text()]).toEqual([400, "0", POST_TOO_LARGE]);
    expect((await quorumPosition(cluster)).etcdIndex).toBe(before.etcdIndex);

    // A normal write then succeeds and reads back on every member.
    const after = await put(cluster, "after", escape);
    expect([200, 201]).toContain(after.status);
    const { raftIndex } = await quorumPosition(cluster);
    for (const id of ids) {
      await appliedUpTo(cluster, id, raftIndex);
      const read = await localRead(cluster, id, "/after", false);
      expect(JSON.parse(read.body).node.value, `/after on ${id}`).toBe(escape);
    }
  }, 60_000);

  it("a v3 put whose log entry would be too large is refused with etcd's error and changes nothing; one just under is stored", async () => {
    await put(cluster, "warm", "1");
    const { leader } = await agreedLeader(cluster, founders(cluster));
    const before = (await replica(cluster, leader).v3Status(false)).revision;
    // 1.5 MB of value: its JSON (base64) is within the v3 body limit, its log entry is not.
    const body = JSON.stringify({ key: b64("big"), value: b64("v".repeat(1_500_000)) });
    expect(body.length).toBeLessThan(MAX_V3_BODY_BYTES);
    const res = await clusterCall(cluster, "/v3/kv/put", { method: "POST", body });
    expect([res.status, await res.text()]).toEqual([400, REQUEST_TOO_LARGE]);
    expect((await replica(cluster, leader).v3Status(false)).revision).toBe(before);

    const fits = b64("w".repeat(1_450_000));
    const stored = await clusterCall(cluster, "/v3/kv/put", { method: "POST", body: JSON.stringify({ key: b64("big"), value: fits }) });
    expect(stored.status).toBe(200);
    await stored.text();
    const read = await clusterCall(cluster, "/v3/kv/range", { method: "POST", body: JSON.stringify({ key: b64("big") }) });
    expect(((await read.json()) as { kvs: { value: string }[] }).kvs[0].value).toBe(fits);
  }, 30_000);
});

describe("request bodies over the limit", () => {
  const cluster = "admission-bodies";
  const cases: [string, string, RequestInit, number, string][] = [
    ["v2 keys", "/v2/keys/streamed", { method: "PUT", headers: FORM }, 400, POST_TOO_LARGE],
    ["v3 put", "/v3/kv/put", { method: "POST" }, 400, REQUEST_TOO_LARGE],
    ["v2 members", "/v2/members", { method: "POST", headers: { "Content-Type": "application/json" } }, 400, '{"message":"http: request body too large"}'],
  ];

  it.each(cases)("%s: a streamed body is refused once past the limit, the rest never read", async (_name, path, init, status, answer) => {
    const total = 16 * 1024 * 1024;
    const { stream, read } = countedStream(total);
    const res = await clusterCall(cluster, path, { ...init, body: stream, duplex: "half" } as RequestInit);
    expect([res.status, await res.text()]).toEqual([status, answer]);
    // Read up to the limit and a little beyond (what the runtime buffers ahead), not the whole.
    expect(read.bytes).toBeGreaterThan(MAX_REQUEST_BYTES);
    expect(read.bytes).toBeLessThan(4 * 1024 * 1024);
  });

  it("a body that announces more than the limit is refused before any of it is read", async () => {
    const { stream, read } = countedStream(8 * 1024 * 1024);
    const headers = { ...FORM, "Content-Length": String(8 * 1024 * 1024) };
    const res = await clusterCall(cluster, "/v2/keys/announced", { method: "PUT", body: stream, headers, duplex: "half" } as RequestInit);
    expect([res.status, await res.text()]).toEqual([400, POST_TOO_LARGE]);
    expect(read.bytes).toBeLessThan(MAX_REQUEST_BYTES);
  });
});

describe("watchers per member", () => {
  const cluster = "admission-watchers";

  /** Sets every member's bound on watchers (ReplicaState.maxWatchers); returns the old one. */
  async function setMaxWatchers(max: number): Promise<number> {
    let old = 0;
    for (const id of founders(cluster)) {
      const stub = replica(cluster, id) as unknown as DurableObjectStub<Replica>;
      old = await runInDurableObject(stub, (r: Replica) => {
        const state = r.driver.state as ReplicaState;
        const was = state.maxWatchers;
        state.maxWatchers = max;
        return was;
      });
    }
    return old;
  }

  it("past the bound, a v3 watch is refused in-band and a v2 watch with 503, as etcd would word it", async () => {
    await put(cluster, "w", "0");
    await agreedLeader(cluster, founders(cluster));
    const old = await setMaxWatchers(1);
    try {
      const creates = [{ key: b64("a") }, { key: b64("b") }].map((c) => JSON.stringify({ create_request: c })).join("\n");
      const res = await clusterCall(cluster, "/v3/watch", { method: "POST", body: `${creates}\n` });
      const reader = res.body!.getReader();
      let text = "";
      const lines = () => text.split("\n").filter((l) => l !== "");
      while (lines().length < 2) text += new TextDecoder().decode((await reader.read()).value);
      const [first, second] = lines().map((l) => JSON.parse(l).result);
      expect(first).toMatchObject({ created: true });
      expect([first.watch_id, first.canceled]).toEqual([undefined, undefined]); // watch 0, not canceled
      expect(second).toMatchObject({ watch_id: "-1", created: true, canceled: true, cancel_reason: "etcdserver: too many watchers on this member (at most 1)" });

      await reader.cancel();

      // Whichever member takes the v2 watch, none may hold one.
      await setMaxWatchers(0);
      const v2 = await clusterCall(cluster, "/v2/keys/w?wait=true", {}, 5000);
      expect([v2.status, await v2.text()]).toEqual([
        503,
        '{"errorCode":300,"message":"Raft Internal Error","cause":"etcdserver: too many watchers on this member (at most 0)","index":0}\n',
      ]);
    } finally {
      await setMaxWatchers(old);
    }
  }, 30_000);
});
