/**
 * v3 watches held as hibernatable WebSockets between the Worker and a
 * replica (src/replica/watch-sockets.ts), inside workerd: 1,000 waiting
 * watch streams leave their replica with no RPC stream open and no timer
 * pending (what keeps an object awake and billed), only sockets; a watch
 * goes on after its replica dropped it from memory, as an eviction of a
 * hibernating object does (workerd closes an aborted object's sockets, so
 * `crash()` cannot show this locally: it ends the client's stream, which
 * is checked too), and sees every write once, in order.
 */
import { runInDurableObject } from "cloudflare:test";
import { holding, quietWithSockets } from "./socket-helpers.ts";
import { describe, expect, it } from "vitest";
import type { Replica } from "../../src/replica/replica.ts";
import { agreedLeader, founders, replica, waitUntil } from "./cluster-helpers.ts";
import { call } from "./helpers.ts";

const b64 = (s: string) => btoa(s);

async function put(cluster: string, key: string, value: string): Promise<number> {
  const res = await call(`/clusters/${cluster}/v3/kv/put`, { method: "POST", body: JSON.stringify({ key: b64(key), value: b64(value) }) });
  expect(res.status).toBe(200);
  return Number(((await res.json()) as { header: { revision: string } }).header.revision);
}

/** A watch stream's responses, line by line, as they come. */
function responses(res: Response): () => Promise<{ result: { created?: boolean; canceled?: boolean; events?: { kv: { value: string; mod_revision: string } }[] } }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  return async () => {
    for (;;) {
      const end = text.indexOf("\n");
      if (end >= 0) {
        const line = text.slice(0, end);
        text = text.slice(end + 1);
        return JSON.parse(line);
      }
      const { done, value } = await reader.read();
      if (done) throw new Error("the watch stream ended");
      text += decoder.decode(value, { stream: true });
    }
  };
}

describe("watches over hibernatable sockets", { timeout: 60_000 }, () => {
  it("1,000 waiting watch streams: only sockets, no RPC stream open and no timer on their replica", async () => {
    const cluster = "socket-watchers";
    await put(cluster, "setup", "x");
    await agreedLeader(cluster, founders(cluster));
    const before = await holding(cluster);
    const clients = new AbortController();
    const streams = await Promise.all(
      Array.from({ length: 1000 }, () =>
        call(`/clusters/${cluster}/v3/watch`, { method: "POST", body: `${JSON.stringify({ create_request: { key: b64("waited") } })}\n`, signal: clients.signal }),
      ),
    );
    const next = streams.map((res) => responses(res));
    for (const read of next) expect((await read()).result.created).toBe(true);
    const serving = await quietWithSockets(cluster, 1000, before, "watch-sockets");
    for (const h of serving.values()) expect(h.ticking).toBe(false);
    // Every stream still gets the next write.
    const revision = await put(cluster, "waited", "now");
    for (const read of next) expect(Number((await read()).result.events![0].kv.mod_revision)).toBe(revision);
    clients.abort();
    // Clients gone: the Worker closes the sockets and the replica frees the watchers.
    await waitUntil(async () => ([...(await holding(cluster)).values()].every((h) => h.sockets === 0) ? true : undefined), 20_000, "sockets closed");
  });

  it("a watch goes on after its replica forgot it (an eviction): what it missed from history, then the next write, each once, in order", async () => {
    const cluster = "socket-restart";
    const first = await put(cluster, "k", "v1");
    const res = await call(`/clusters/${cluster}/v3/watch`, { method: "POST", body: `${JSON.stringify({ create_request: { key: b64("k"), start_revision: String(first) } })}\n` });
    const read = responses(res);
    expect((await read()).result.created).toBe(true);
    expect((await read()).result.events!.map((e) => atob(e.kv.value))).toEqual(["v1"]);
    const second = await put(cluster, "k", "v2");
    expect(Number((await read()).result.events![0].kv.mod_revision)).toBe(second);

    // The serving replica loses every watch from memory, as an eviction
    // does, and a write is applied while it holds none; its socket stays.
    const [serving] = [...(await holding(cluster))].find(([, h]) => h.sockets === 1)!;
    const stub = replica(cluster, serving) as unknown as DurableObjectStub<Replica>;
    await runInDurableObject(stub, (r: Replica) => r.watchSockets.forgetAll());
    const third = await put(cluster, "k", "v3");
    // The watch comes back from its socket's attachment and SQLite, as in a new object's constructor.
    await runInDurableObject(stub, (r: Replica) => void r.watchSockets.revive());
    const fourth = await put(cluster, "k", "v4");
    const seen: number[] = [];
    while (seen.length < 2) for (const e of (await read()).result.events ?? []) seen.push(Number(e.kv.mod_revision));
    expect(seen).toEqual([third, fourth]);
    await res.body!.cancel().catch(() => {});
  });

  it("a crash locally closes the watch socket: the client's stream ends (the client resumes), it does not hang", async () => {
    const cluster = "socket-crash";
    await put(cluster, "k", "v1");
    const res = await call(`/clusters/${cluster}/v3/watch`, { method: "POST", body: `${JSON.stringify({ create_request: { key: b64("k") } })}\n` });
    const read = responses(res);
    expect((await read()).result.created).toBe(true);
    const [serving] = await waitUntil(async () => [...(await holding(cluster))].find(([, h]) => h.sockets === 1), 10_000, "the socket");
    await replica(cluster, serving).crash().catch(() => {});
    await expect(read()).rejects.toThrow();
  });
});
