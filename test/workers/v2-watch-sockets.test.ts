/**
 * v2 watches (long polls and stream=true) held as hibernatable WebSockets
 * between the Worker and a replica (src/replica/v2-watch-socket.ts), inside
 * workerd: 1,000 waiting long polls leave their replica with no RPC stream
 * open and no timer pending, only sockets; a client that leaves takes its
 * watcher with it; a watch goes on after its replica dropped it from memory
 * (as an eviction of a hibernating object does), catching up from the v2
 * event history, or ends as etcd ends a closed watcher when that history no
 * longer holds what it missed; a crash ends the client's response.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Replica } from "../../src/replica/replica.ts";
import { EventHistory } from "../../src/v2/history.ts";
import { agreedLeader, clusterCall, founders, put, replica, waitUntil } from "./cluster-helpers.ts";
import { holding, quietWithSockets, stateOf, stubOf } from "./socket-helpers.ts";

/** Runs `fn` inside every member of `cluster`. */
async function onEveryMember(cluster: string, fn: (r: Replica) => void): Promise<void> {
  for (const id of founders(cluster)) await runInDurableObject(stubOf(cluster, id), fn);
}

/** The event line a v2 watch answers for `key` set to `value` at `index` (replacing what it held at `prev`). */
function setEvent(key: string, value: string, index: number, prev?: { value: string; index: number }): string {
  const node = (v: string, i: number) => `{"key":"${key}","value":"${v}","modifiedIndex":${i},"createdIndex":${i}}`;
  return `{"action":"set","node":${node(value, index)}${prev ? `,"prevNode":${node(prev.value, prev.index)}` : ""}}`;
}

describe("v2 watches over hibernatable sockets", { timeout: 60_000 }, () => {
  it("1,000 waiting long polls: only sockets, no RPC stream open and no timer; a client that leaves frees its watcher", async () => {
    const cluster = "socket-v2-watchers";
    await put(cluster, "setup", "x");
    await agreedLeader(cluster, founders(cluster));
    const before = await holding(cluster);
    const leaving = new AbortController();
    const polls = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => clusterCall(cluster, "/v2/keys/waited?wait=true", i < 100 ? { signal: leaving.signal } : {})),
    );
    for (const res of polls) expect(res.status).toBe(200);
    const serving = await quietWithSockets(cluster, 1000, before, "v2-watch-sockets");
    for (const h of serving.values()) {
      expect(h.ticking).toBe(false);
      expect(h.v2Watchers).toBe(h.sockets);
    }

    // 100 clients leave: their sockets close, and the replica drops their watchers.
    leaving.abort();
    await waitUntil(async () => ([...(await holding(cluster)).values()].some((h) => h.sockets === 900 && h.v2Watchers === 900) ? true : undefined), 20_000, "900 sockets and watchers left");

    // Every other poll gets the next write, and its socket closes.
    const { headers } = await put(cluster, "waited", "now");
    const index = Number(headers.get("x-etcd-index"));
    for (const res of polls.slice(100)) expect(await res.text()).toBe(`${setEvent("/waited", "now", index)}\n`);
    await waitUntil(async () => ([...(await holding(cluster)).values()].every((h) => h.sockets === 0 && h.v2Watchers === 0) ? true : undefined), 20_000, "sockets closed, watchers gone");
  });

  it("a watch goes on after its replica forgot it (an eviction): a long poll and a stream get what they missed, then the next write", async () => {
    const cluster = "socket-v2-restart";
    const first = Number((await put(cluster, "k", "v1")).headers.get("x-etcd-index"));
    const poll = await clusterCall(cluster, "/v2/keys/k?wait=true");
    const stream = await clusterCall(cluster, "/v2/keys/k?wait=true&stream=true");
    expect([poll.status, stream.status]).toEqual([200, 200]);
    expect(poll.headers.get("x-etcd-index")).toBe(String(first));
    await waitUntil(async () => ([...(await holding(cluster)).values()].some((h) => h.v2Watchers === 2) ? true : undefined), 10_000, "both watchers registered");

    // Every member loses its watches from memory, as an eviction does, and
    // a write is applied while none holds them; the sockets stay.
    await onEveryMember(cluster, (r) => r.watchSockets.forgetAll());
    expect([...(await holding(cluster)).values()].map((h) => h.v2Watchers)).toEqual([0, 0, 0]);
    const second = Number((await put(cluster, "k", "v2")).headers.get("x-etcd-index"));
    // The watches come back from their sockets' attachments, as in a new object's constructor.
    await onEveryMember(cluster, (r) => void r.watchSockets.revive());
    const third = Number((await put(cluster, "k", "v3")).headers.get("x-etcd-index"));

    const v2 = setEvent("/k", "v2", second, { value: "v1", index: first });
    const v3 = setEvent("/k", "v3", third, { value: "v2", index: second });
    expect(await poll.text()).toBe(`${v2}\n`);
    const reader = stream.body!.getReader();
    let text = "";
    while (text.split("\n").length < 3) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toBe(`${v2}\n${v3}\n`);
    await reader.cancel();
    await waitUntil(async () => ([...(await holding(cluster)).values()].every((h) => h.sockets === 0 && h.v2Watchers === 0) ? true : undefined), 10_000, "sockets closed");
  });

  it("when the history no longer holds what a forgotten watch missed, it ends with an empty body; polling again gets etcd's 401", async () => {
    const cluster = "socket-v2-cleared";
    const first = Number((await put(cluster, "k", "v1")).headers.get("x-etcd-index"));
    const poll = await clusterCall(cluster, "/v2/keys/k?wait=true");
    expect(poll.status).toBe(200);
    await onEveryMember(cluster, (r) => r.watchSockets.forgetAll());
    await put(cluster, "other", "a");
    const last = Number((await put(cluster, "other", "b")).headers.get("x-etcd-index"));
    // As if a thousand events had passed: each member's history keeps the newest alone.
    await onEveryMember(cluster, (r) => {
      const hub = stateOf(r).store.hub as { history: EventHistory };
      hub.history = EventHistory.fromJSON(1, hub.history.toJSON());
    });
    await onEveryMember(cluster, (r) => void r.watchSockets.revive());
    expect(await poll.text()).toBe("");
    const again = await clusterCall(cluster, `/v2/keys/k?wait=true&waitIndex=${first + 1}`);
    expect([again.status, await again.text()]).toEqual([
      400,
      `{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared [${last}/${first + 1}]","index":${last}}\n`,
    ]);
  });

  it("a crash locally closes the watch socket: the client's response breaks off (the client polls again), it does not hang", async () => {
    const cluster = "socket-v2-crash";
    await put(cluster, "k", "v1");
    const poll = await clusterCall(cluster, "/v2/keys/k?wait=true");
    const [serving] = await waitUntil(async () => [...(await holding(cluster))].find(([, h]) => h.sockets === 1), 10_000, "the socket");
    await replica(cluster, serving).crash().catch(() => {});
    await expect(poll.text()).rejects.toThrow();
  });
});
