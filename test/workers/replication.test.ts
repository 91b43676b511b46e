/**
 * Replication inside workerd: a named cluster of three replica Durable
 * Objects elects one leader, every replica applies every write, and quorum
 * reads see the latest write. Each test uses its own named cluster.
 */
import { describe, expect, it } from "vitest";
import { write } from "./helpers.ts";
import { v2WatchOverSocket } from "../../src/http/watch-socket.ts";
import {
  agreedLeader,
  bounded,
  keysRequest,
  replica,
  waitUntil,
  appliedUpTo,
  clusterCall,
  founders,
  get,
  localRead,
  put,
  quorumPosition,
  raftStatus,
  status,
} from "./cluster-helpers.ts";

describe("a 3-replica cluster", { timeout: 60_000 }, () => {
  it("elects exactly one leader that every replica agrees on, and replicates every write to every replica", async () => {
    const cluster = "rep-elect";
    const ids = founders(cluster);
    expect(ids).toHaveLength(3);

    // The first request creates the cluster.
    const first = await put(cluster, "a", "1");
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ action: "set", node: { key: "/a", value: "1", modifiedIndex: 1, createdIndex: 1 } });

    const { leader, term } = await agreedLeader(cluster, ids);
    expect(ids).toContain(leader);
    expect(term).toBeGreaterThanOrEqual(1);

    for (let i = 2; i <= 10; i++) {
      const w = await put(cluster, `k${i}`, `v${i}`);
      expect(w.status).toBe(201);
      expect(w.body.node.modifiedIndex).toBe(i);
    }
    const q = await quorumPosition(cluster);
    expect(q.etcdIndex).toBe(10);
    expect(q.term).toBe(term);

    // Every replica applies up to the leader's commit and then holds the same store.
    const leaderStatus = await status(cluster, leader);
    const commit = leaderStatus.raft.index;
    expect(commit).toBeGreaterThanOrEqual(q.raftIndex);
    const want = await localRead(cluster, leader, "/");
    expect(want.status).toBe(200);
    expect(want.etcdIndex).toBe(10);
    const nodes = JSON.parse(want.body).node.nodes as { key: string; value: string }[];
    expect(nodes.map((n) => `${n.key}=${n.value}`)).toEqual([
      "/a=1", "/k10=v10", "/k2=v2", "/k3=v3", "/k4=v4", "/k5=v5", "/k6=v6", "/k7=v7", "/k8=v8", "/k9=v9",
    ]);
    for (const id of ids) {
      await appliedUpTo(cluster, id, commit);
      const mine = await localRead(cluster, id, "/");
      expect({ id, status: mine.status, etcdIndex: mine.etcdIndex, body: mine.body }).toEqual({
        id,
        status: 200,
        etcdIndex: 10,
        body: want.body,
      });
      const s = await status(cluster, id);
      expect({ id, leader: s.leader, term: s.raft.term, state: s.state }).toEqual({
        id,
        leader,
        term,
        state: id === leader ? "StateLeader" : "StateFollower",
      });
      expect(s.members.map((m) => m.id).sort()).toEqual([...ids].sort());
      const raft = await raftStatus(cluster, id);
      expect(raft.config.voters.slice().sort()).toEqual([...ids].sort());
      expect(raft.config.learners).toEqual([]);
    }
  });

  it("a quorum read (GET ?quorum=true) served by the leader after ReadIndex returns the latest write", async () => {
    const cluster = "rep-quorum";
    const ids = founders(cluster);
    expect((await put(cluster, "q", "0")).status).toBe(201);
    const { leader, term } = await agreedLeader(cluster, ids);
    for (let i = 1; i <= 5; i++) {
      const w = await put(cluster, "q", `v${i}`);
      expect(w.status).toBe(200);
      const r = await get(cluster, "q?quorum=true");
      expect(r.status).toBe(200);
      // A set replaces the node, so createdIndex moves too (as in etcd).
      expect(r.body).toEqual({ action: "get", node: { key: "/q", value: `v${i}`, modifiedIndex: i + 1, createdIndex: i + 1 } });
      expect(r.headers.get("x-etcd-index")).toBe(String(i + 1));
      expect(r.headers.get("x-raft-term")).toBe(String(term));
      expect(Number(r.headers.get("x-raft-index"))).toBe((await status(cluster, leader)).raft.index);
    }
    // Concurrent writes and quorum reads: each read started after a write was
    // acknowledged sees that write or a later one.
    const acks: number[] = [];
    const writers = Array.from({ length: 10 }, async (_, k) => {
      const w = await put(cluster, "c", `${k}`);
      expect(w.status === 200 || w.status === 201).toBe(true);
      acks.push(w.body.node.modifiedIndex);
      const after = await get(cluster, "c?quorum=true");
      expect(after.status).toBe(200);
      expect(after.body.node.modifiedIndex).toBeGreaterThanOrEqual(w.body.node.modifiedIndex);
    });
    await Promise.all(writers);
    const last = Math.max(...acks);
    const final = await get(cluster, "c?quorum=true");
    expect(final.body.node.modifiedIndex).toBe(last);
    // A quorum read through the router is served by the leader: the router learned it.
    const stats = await clusterCall(cluster, "/v2/stats/self");
    expect((await stats.json<{ id: string; state: string }>())).toMatchObject({ id: leader, state: "StateLeader" });
  });

  it("TTL expiry is replicated: every replica removes the key at the same index with the same expire event", async () => {
    const cluster = "rep-ttl";
    const ids = founders(cluster);
    const set = await write("PUT", `/clusters/${cluster}/v2/keys/t`, "value=v&ttl=1");
    expect(set.status).toBe(201);
    const created = (await set.json<{ node: { modifiedIndex: number; expiration: string } }>()).node;
    const { leader } = await agreedLeader(cluster, ids);
    const gone = await waitUntil(
      async () => {
        const r = await get(cluster, "t?quorum=true");
        return r.status === 404 ? r : undefined;
      },
      10_000,
      "the ttl=1 key has expired",
    );
    const expiredAt = created.modifiedIndex + 1;
    expect(gone.body).toEqual({ errorCode: 100, message: "Key not found", cause: "/t", index: expiredAt });
    const commit = (await status(cluster, leader)).raft.index;
    const event =
      `{"action":"expire","node":{"key":"/t","modifiedIndex":${expiredAt},"createdIndex":${created.modifiedIndex}},` +
      `"prevNode":{"key":"/t","value":"v","expiration":"${created.expiration}","modifiedIndex":${created.modifiedIndex},"createdIndex":${created.modifiedIndex}}}\n`;
    for (const id of ids) {
      await appliedUpTo(cluster, id, commit);
      const mine = await localRead(cluster, id, "/t");
      expect({ id, status: mine.status, etcdIndex: mine.etcdIndex }).toEqual({ id, status: 404, etcdIndex: expiredAt });
      // The same event in every replica's history.
      const watch = await bounded(
        v2WatchOverSocket(replica(cluster, id), keysRequest("GET", "/t", { wait: true, waitIndex: expiredAt, forwarded: true })),
        5000,
        `a history watch on ${id}`,
      );
      expect(watch.status).toBe(200);
      expect(await bounded(new Response(watch.stream).text(), 5000, `the history event on ${id}`)).toBe(event);
    }
    expect((await replica(cluster, leader).storeStats()).expireCount).toBe(1);
  });

  it("a watch held by a follower sees writes committed through the leader", async () => {
    const cluster = "rep-follower-watch";
    const ids = founders(cluster);
    expect((await put(cluster, "start", "x")).status).toBe(201);
    const { leader } = await agreedLeader(cluster, ids);
    const follower = ids.find((id) => id !== leader)!;
    const watch = await bounded(
      v2WatchOverSocket(replica(cluster, follower), keysRequest("GET", "/fw", { wait: true, forwarded: true })),
      5000,
      "a watch on the follower",
    );
    expect(watch.status).toBe(200);
    const w = await put(cluster, "fw", "hello");
    expect(w.status).toBe(201);
    expect(await bounded(new Response(watch.stream).text(), 5000, "the follower's watch to fire")).toBe(
      `{"action":"set","node":{"key":"/fw","value":"hello","modifiedIndex":2,"createdIndex":2}}\n`,
    );
  });
});
