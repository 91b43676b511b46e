/**
 * Quiescence in the runtime: an idle cluster goes quiet (no timer, no alarm,
 * no Raft messages), the next write wakes it and is acknowledged, a TTL
 * leaves exactly one alarm on the leader, and a cluster that restarts while
 * quiet comes back quiet, knowing its leader, without an election; a member
 * cut off is left behind, the rest going quiet with the leader's one alarm
 * set to retry it, and it catches up once it is back; going quiet takes a
 * snapshot early, so that a reload after an eviction replays little log.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Replica } from "../../src/replica/replica.ts";
import { TICK_MS } from "../../src/replica/replica.ts";
import type { MemberMetrics } from "../../src/server/metrics.ts";
import { SNAPSHOT_EVERY, agreedLeader, bounded, debug, founders, get, localRead, put, replica, sleep, status, waitUntil } from "./cluster-helpers.ts";
import { write } from "./helpers.ts";

/** What a replica holds that could run code with no request: its tick timer and its alarm. */
async function timers(cluster: string, id: string): Promise<{ ticking: boolean; alarm: number | null }> {
  const stub = replica(cluster, id) as unknown as DurableObjectStub<Replica>;
  return runInDurableObject(stub, async (instance: Replica, ctx) => ({
    ticking: instance.time.ticking,
    alarm: await ctx.storage.getAlarm(),
  }));
}

const metrics = (cluster: string, id: string) => bounded(replica(cluster, id).metrics(), 5000, `metrics() of ${id}`);

/** Every message a replica has sent or received, in bytes: it moves with any Raft traffic. */
const traffic = (m: MemberMetrics) =>
  Object.values(m.peerSentBytes).reduce((a, b) => a + b, 0) + Object.values(m.peerReceivedBytes).reduce((a, b) => a + b, 0);

async function allQuiet(cluster: string, ids: string[]): Promise<MemberMetrics[]> {
  return waitUntil(
    async () => {
      const all = await Promise.all(ids.map((id) => metrics(cluster, id)));
      return all.every((m) => m.quiescent) ? all : undefined;
    },
    15_000,
    `every member of ${cluster} is quiet`,
  );
}

describe("quiescence", { timeout: 60_000 }, () => {
  it("an idle cluster goes quiet: no timer, no alarm and no messages; status, metrics and default reads do not wake it", async () => {
    const cluster = "quiet-idle";
    const ids = founders(cluster);
    expect((await put(cluster, "k", "v")).status).toBe(201);
    await agreedLeader(cluster, ids);
    const before = await allQuiet(cluster, ids);
    for (const id of ids) expect(await timers(cluster, id), `${id}'s timer and alarm`).toEqual({ ticking: false, alarm: null });

    // Nothing is left to run code, so nothing can happen until a request
    // comes, for an hour or a year. Twenty ticks' worth of waiting, with
    // reads that must not wake anyone, shows that nothing does.
    for (const id of ids) expect((await localRead(cluster, id, "/k", false)).status).toBe(200);
    expect((await get(cluster, "k")).status).toBe(200);
    await sleep(20 * TICK_MS);
    const after = await Promise.all(ids.map((id) => metrics(cluster, id)));
    for (const [k, id] of ids.entries()) {
      expect(after[k].quiescent, `${id} still quiet`).toBe(true);
      expect(traffic(after[k]), `messages of ${id} while idle`).toBe(traffic(before[k]));
      await status(cluster, id);
      expect(await timers(cluster, id), `${id}'s timer and alarm after reads`).toEqual({ ticking: false, alarm: null });
    }
  });

  it("the first write after quiescence is acknowledged and seen everywhere, and the cluster goes quiet again", async () => {
    const cluster = "quiet-wake";
    const ids = founders(cluster);
    expect((await put(cluster, "a", "1")).status).toBe(201);
    const { term } = await agreedLeader(cluster, ids);
    await allQuiet(cluster, ids);

    const res = await put(cluster, "a", "2");
    expect(res.status).toBe(200);
    const index = res.body.node.modifiedIndex as number;
    await allQuiet(cluster, ids);
    for (const id of ids) {
      const read = await localRead(cluster, id, "/a", false);
      expect(JSON.parse(read.body).node, `/a on ${id}`).toMatchObject({ value: "2", modifiedIndex: index });
    }
    // Waking needed no election.
    expect((await agreedLeader(cluster, ids)).term).toBe(term);
  });

  it("with a TTL key only the leader keeps an alarm, at the expiry; the alarm expires the key and the cluster goes quiet again", async () => {
    const cluster = "quiet-ttl";
    const ids = founders(cluster);
    expect((await put(cluster, "warm", "up")).status).toBe(201);
    const { leader } = await agreedLeader(cluster, ids);
    const set = await write("PUT", `/clusters/${cluster}/v2/keys/ttl`, "value=v&ttl=4");
    expect(set.status).toBe(201);
    const expiration = Date.parse((await set.json<{ node: { expiration: string } }>()).node.expiration);
    await allQuiet(cluster, ids);
    for (const id of ids) {
      const t = await timers(cluster, id);
      expect(t.ticking, `${id} ticking`).toBe(false);
      if (id !== leader) expect(t.alarm, `${id}'s alarm`).toBeNull();
      // The store keeps expiry times to the millisecond; the JSON shows them to the nanosecond.
      else expect(Math.abs((t.alarm ?? 0) - expiration), "the leader's alarm against the key's expiry").toBeLessThan(2);
    }
    await waitUntil(async () => ((await get(cluster, "ttl")).status === 404 ? true : undefined), 15_000, "the TTL key expired");
    await allQuiet(cluster, ids);
    for (const id of ids) expect(await timers(cluster, id), `${id} after the expiry`).toEqual({ ticking: false, alarm: null });
  });

  it("a cluster restarted while quiet comes back quiet, knowing its leader: default reads at once, and a write without an election", async () => {
    const cluster = "quiet-restart";
    const ids = founders(cluster);
    expect((await put(cluster, "r", "1")).status).toBe(201);
    const { leader, term } = await agreedLeader(cluster, ids);
    await allQuiet(cluster, ids);

    // Every replica loses its memory (as an eviction or a deploy does).
    for (const id of ids) await replica(cluster, id).crash().catch(() => {});
    for (const id of ids) {
      const s = await status(cluster, id);
      expect(s.leader, `${id} knows its leader at once`).toBe(leader);
      expect(s.state, `${id}'s role`).toBe(id === leader ? "StateLeader" : "StateFollower");
      const read = await localRead(cluster, id, "/r", false);
      expect(JSON.parse(read.body).node.value, `a default read on ${id}`).toBe("1");
      expect((await metrics(cluster, id)).quiescent, `${id} is still quiet after the read`).toBe(true);
    }
    expect((await put(cluster, "r", "2")).status).toBe(200);
    expect((await agreedLeader(cluster, ids)).term, "the term after the write").toBe(term);
    await allQuiet(cluster, ids);
  });

  it("going quiet takes a snapshot once a tenth of SNAPSHOT_EVERY entries are applied since the last: a reload replays almost no log", async () => {
    const cluster = "quiet-snapshot";
    const ids = founders(cluster);
    const writes = Math.ceil(SNAPSHOT_EVERY / 10) + 5;
    expect(writes).toBeLessThan(SNAPSHOT_EVERY);
    for (let i = 0; i < writes; i++) expect((await put(cluster, `s${i}`, "v")).status).toBe(201);
    await allQuiet(cluster, ids);
    const lengths = await waitUntil(
      async () => {
        const all = await Promise.all(ids.map((id) => replica(cluster, id).logLength()));
        return all.every((n) => n < 5) ? all : undefined;
      },
      10_000,
      "every member's log cut at the snapshot it took going quiet",
    );
    expect(lengths).toHaveLength(3);
    // Restarted (as an eviction would), each member still serves every key.
    for (const id of ids) await replica(cluster, id).crash().catch(() => {});
    for (const id of ids) expect((await localRead(cluster, id, `/s${writes - 1}`, false)).status, `the last key on ${id}`).toBe(200);
  });

  it("a member cut off does not keep the others awake: they go quiet without it, the leader's alarm retries it, and it catches up once back", async () => {
    const cluster = "quiet-laggard";
    const ids = founders(cluster);
    expect((await put(cluster, "l", "1")).status).toBe(201);
    const { leader } = await agreedLeader(cluster, ids);
    const [other, cut] = ids.filter((id) => id !== leader);
    const valueOn = async (id: string) => (JSON.parse((await localRead(cluster, id, "/l", false)).body) as { node?: { value: string } }).node?.value;
    await waitUntil(async () => ((await valueOn(cut)) === "1" ? true : undefined), 5000, "the first write on every member");
    expect((await debug(cluster, "partition", { groups: [[leader, other], [cut]] })).status).toBe(200);
    const written = await put(cluster, "l", "2");
    expect(written.status).toBe(200);

    // After a round without a word from it, the other two go quiet; the
    // leader's one alarm is the retry, a minute on.
    const quietAt = Date.now();
    await waitUntil(
      async () => ((await metrics(cluster, leader)).quiescent && (await metrics(cluster, other)).quiescent ? true : undefined),
      15_000,
      "the leader and the member it reaches are quiet",
    );
    const leaderTimers = await timers(cluster, leader);
    expect(leaderTimers.ticking).toBe(false);
    expect(leaderTimers.alarm! - quietAt, "the retry alarm, a minute after going quiet").toBeGreaterThan(55_000);
    expect(leaderTimers.alarm! - quietAt).toBeLessThan(65_000);
    expect(await timers(cluster, other)).toEqual({ ticking: false, alarm: null });
    expect(await valueOn(cut), "the cut member is behind").toBe("1");
    // A reload (an eviction, then any request) does not push the retry back: it counts from when the spell began.
    await replica(cluster, leader).crash().catch(() => {});
    expect((await metrics(cluster, leader)).quiescent, "the leader resumed quiet").toBe(true);
    expect((await timers(cluster, leader)).alarm, "the retry after a reload").toBe(leaderTimers.alarm);

    // Back, and the retry comes (run now rather than in a minute): it catches up and all three go quiet, no alarm left.
    expect((await debug(cluster, "heal")).status).toBe(200);
    await runDurableObjectAlarm(replica(cluster, leader) as unknown as DurableObjectStub<Replica>);
    await waitUntil(
      async () => ((await valueOn(cut)) === "2" ? true : undefined),
      15_000,
      "the member back from the cut has the write",
    );
    await allQuiet(cluster, ids);
    for (const id of ids) expect(await timers(cluster, id), `${id} once all are back`).toEqual({ ticking: false, alarm: null });
  });
});
