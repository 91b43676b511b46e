/** v2 watches through the real Worker and Durable Object (over watch sockets): one-shot, history, recursive, stream, client abort. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, headersOf, okHeaders, position, storeStats, write } from "./helpers.ts";
import { waitUntil } from "./cluster-helpers.ts";
import { openStreams } from "../../src/http/open-streams.ts";

/** Waits until /v2/stats/store counts `n` watchers. */
function watchersAre(n: number, what: string, ms = 5000): Promise<number> {
  return waitUntil(async () => ((await storeStats()).watchers === n ? n : undefined), ms, `${what}: /v2/stats/store counts ${n} watchers`);
}

/** Reads newline-terminated lines from a streaming body until `n` arrived. */
async function readLines(body: ReadableStream<Uint8Array>, n: number): Promise<string[]> {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  while (buf.split("\n").length - 1 < n) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
  }
  await reader.cancel();
  return buf.split("\n").slice(0, n);
}

describe("watch", () => {
  it("answers with headers first (index at registration), then the next event, then ends", async () => {
    const { index: b, raft: r } = await position();
    const res = await call("/v2/keys/w1/foo?wait=true");
    // the headers arrived before any write happened
    expect(res.status).toBe(200);
    expect(headersOf(res)).toEqual(okHeaders(b, r));
    await write("PUT", "/v2/keys/w1/other", "value=x"); // b+1, not watched
    await write("PUT", "/v2/keys/w1/foo", "value=bar"); // b+2
    expect(await res.text()).toBe(
      `{"action":"set","node":{"key":"/w1/foo","value":"bar","modifiedIndex":${b + 2},"createdIndex":${b + 2}}}\n`,
    );
  });

  it("answers from history for a past waitIndex; recursive watches see children", async () => {
    const { index: b } = await position();
    await write("PUT", "/v2/keys/w2/a/x", "value=1"); // b+1
    await write("PUT", "/v2/keys/w2/b", "value=2"); // b+2
    let res = await call(`/v2/keys/w2/b?wait=true&waitIndex=${b + 1}`);
    expect(res.headers.get("x-etcd-index")).toBe(String(b + 2));
    expect(await res.text()).toBe(
      `{"action":"set","node":{"key":"/w2/b","value":"2","modifiedIndex":${b + 2},"createdIndex":${b + 2}}}\n`,
    );
    res = await call(`/v2/keys/w2?wait=true&recursive=true&waitIndex=${b + 1}`);
    expect(JSON.parse(await res.text()).node.key).toBe("/w2/a/x");
    // live, recursive, hidden children filtered
    res = await call("/v2/keys/w2?wait=true&recursive=true");
    await write("PUT", "/v2/keys/w2/_hidden", "value=h"); // b+3
    await (await call("/v2/keys/w2/a?recursive=true", { method: "DELETE" })).text(); // b+4
    expect(await res.text()).toBe(
      `{"action":"delete","node":{"key":"/w2/a","dir":true,"modifiedIndex":${b + 4},"createdIndex":${b + 1}},` +
        `"prevNode":{"key":"/w2/a","dir":true,"modifiedIndex":${b + 1},"createdIndex":${b + 1}}}\n`,
    );
  });

  it("a watcher on a child gets the event of its deleted directory", async () => {
    await write("PUT", "/v2/keys/w3/dir/key", "value=v");
    const { index: b } = await position();
    const res = await call("/v2/keys/w3/dir/key?wait=true");
    await call("/v2/keys/w3/dir?recursive=true", { method: "DELETE" });
    const ev = JSON.parse(await res.text());
    expect(ev.action).toBe("delete");
    expect(ev.node).toEqual({ key: "/w3/dir", dir: true, modifiedIndex: b + 1, createdIndex: b });
  });

  it("stream=true delivers each event as its own line", async () => {
    const { index: b } = await position();
    const res = await call("/v2/keys/w4/s?wait=true&stream=true");
    expect(res.status).toBe(200);
    await write("PUT", "/v2/keys/w4/s", "value=1");
    await write("PUT", "/v2/keys/w4/s", "value=2");
    const lines = await readLines(res.body!, 2);
    expect(lines).toEqual([
      `{"action":"set","node":{"key":"/w4/s","value":"1","modifiedIndex":${b + 1},"createdIndex":${b + 1}}}`,
      `{"action":"set","node":{"key":"/w4/s","value":"2","modifiedIndex":${b + 2},"createdIndex":${b + 2}},` +
        `"prevNode":{"key":"/w4/s","value":"1","modifiedIndex":${b + 1},"createdIndex":${b + 1}}}`,
    ]);
  });

  it("counts registered watchers in /v2/stats/store and drops a one-shot watcher after its event", async () => {
    const w0 = (await storeStats()).watchers;
    const res = await call("/v2/keys/w5/k?wait=true");
    expect((await storeStats()).watchers).toBe(w0 + 1);
    await write("PUT", "/v2/keys/w5/k", "value=v");
    await res.text();
    expect((await storeStats()).watchers).toBe(w0);
  });
});

describe("client abort", () => {
  it("a cancelled stream watcher is dropped without waiting for an event", async () => {
    const w0 = (await storeStats()).watchers;
    const res = await call("/v2/keys/abort/s?wait=true&stream=true");
    expect((await storeStats()).watchers).toBe(w0 + 1);
    await res.body!.cancel();
    // The Worker closes the watch socket, and the replica drops the watcher.
    await watchersAre(w0, "the cancelled stream watcher is dropped");
    await write("PUT", "/v2/keys/abort/s", "value=v");
    expect((await storeStats()).watchers).toBe(w0);
  });

  it("an aborted watch stops counting in /v2/stats/store watchers (its socket closes, and the replica drops the watcher)", async () => {
    const w0 = (await storeStats()).watchers;
    const ac = new AbortController();
    const res = await call("/v2/keys/abort/k?wait=true", { signal: ac.signal });
    expect(res.status).toBe(200);
    expect((await storeStats()).watchers).toBe(w0 + 1);
    ac.abort();
    await res.body?.cancel().catch(() => {});
    expect(await watchersAre(w0, "the aborted watch is no longer counted")).toBe(w0);
  });
});

describe("MAX_WATCHES", () => {
  it("refuses watches beyond the limit with a clear 503, and takes new ones once others end", async () => {
    const { app } = await import("../../src/app.ts");
    // Streams other tests opened through the runtime may linger (a
    // cancelled loopback body is not passed on): room for two more.
    const max = openStreams() + 2;
    const limited = { ...(env as object), MAX_WATCHES: String(max) } as never;
    const fetchLimited = (path: string) => app.fetch(new Request(`http://127.0.0.1${path}`), limited);
    const a = await fetchLimited("/v2/keys/limit/k?wait=true");
    const b = await fetchLimited("/v2/keys/limit/k?wait=true");
    expect([a.status, b.status]).toEqual([200, 200]);
    const refused = await fetchLimited("/v2/keys/limit/k?wait=true");
    expect(refused.status).toBe(503);
    expect(await refused.text()).toBe(
      `{"errorCode":300,"message":"Raft Internal Error","cause":"too many watches open on this server (${max}); retry later or raise MAX_WATCHES","index":0}\n`,
    );
    // A plain read is not a watch and is not limited.
    expect((await fetchLimited("/v2/keys/limit")).status).toBe(404);
    await write("PUT", "/v2/keys/limit/k", "value=v");
    expect(JSON.parse(await a.text()).node.value).toBe("v");
    expect(JSON.parse(await b.text()).node.value).toBe("v");
    // An ended watch gives its place back once its stream has finished
    // passing through: wait until a new watch is taken, bounded.
    const again = await waitUntil(
      async () => {
        const r = await fetchLimited("/v2/keys/limit/k?wait=true&waitIndex=1");
        if (r.status !== 503) return r;
        await r.text();
        return undefined;
      },
      5000,
      "a new watch is taken once the two open ones have ended",
    );
    expect(again.status).toBe(200);
    expect(JSON.parse(await again.text()).action).toBe("set");
  });
});
