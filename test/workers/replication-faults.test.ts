/**
 * Replication under faults, driven through the fault-injection API
 * (/clusters/<name>/_debug/...): a leader crash in the middle of writes, a
 * follower that was cut off catching up from the log and from a snapshot, and
 * a partitioned leader that cannot commit while the majority goes on.
 */
import { describe, expect, it } from "vitest";
import { write } from "./helpers.ts";
import {
  agreedLeader,
  appliedIndex,
  appliedUpTo,
  bounded,
  debug,
  founders,
  get,
  keysRequest,
  localRead,
  put,
  raftStatus,
  replica,
  sleep,
  SNAPSHOT_EVERY,
  status,
  waitUntil,
  type Answer,
} from "./cluster-helpers.ts";

/** An etcd-style Raft error: status 500, errorCode 300, "Raft Internal Error". */
function expectRaftError(a: Answer, what: string): void {
  expect({ what, status: a.status, errorCode: a.body?.errorCode, message: a.body?.message }).toEqual({
    what,
    status: 500,
    errorCode: 300,
    message: "Raft Internal Error",
  });
}

const ok = (a: Answer) => a.status === 200 || a.status === 201;

describe("replication under faults", { timeout: 90_000 }, () => {
  it("a leader crash in the middle of concurrent writes: a new term's leader, no acknowledged write lost, every in-flight write answered", async () => {
    const cluster = "rep-crash";
    const ids = founders(cluster);
    expect((await put(cluster, "start", "x")).status).toBe(201);
    const before = await agreedLeader(cluster, ids);
    const crashedAt = Date.now();

    const WRITERS = 4;
    let stop = false;
    /** Set once the crash has been answered: the old leader is gone by then. */
    let crashed = false;
    /** Per writer: the highest value acknowledged with 2xx, and every answer (and whether it was sent after the crash). */
    const acked = Array.from({ length: WRITERS }, () => 0);
    const answers: { writer: number; n: number; a: Answer | Error; ms: number; afterCrash: boolean }[] = [];
    const acknowledged = (x: { a: Answer | Error }) => !(x.a instanceof Error) && ok(x.a);
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      for (let n = 1; !stop; n++) {
        // Each write must be answered: the router's 12 s per member plus a forward, never a hang.
        const t = Date.now();
        const afterCrash = crashed;
        const a = await put(cluster, `w${w}`, String(n), 40_000).catch((err: Error) => err);
        answers.push({ writer: w, n, a, ms: Date.now() - t, afterCrash });
        if (!(a instanceof Error) && ok(a)) acked[w] = Math.max(acked[w], n);
        // Not a wait for anything: it paces a writer's retries after a failure.
        if (a instanceof Error || !ok(a)) await sleep(50);
      }
    });

    // Crash the leader once every writer has had a write acknowledged.
    await waitUntil(async () => (acked.every((n) => n >= 1) ? true : undefined), 15_000, "every writer has a write acknowledged before the crash");
    const ackedBefore = [...acked];
    const crash = await debug(cluster, `members/${before.leader}/crash`);
    crashed = true;
    expect(crash.status).toBe(200);
    expect(crash.body).toEqual({ crashed: before.leader });
    // Go on until every writer has had a write acknowledged that it sent after the crash.
    const firstAfter = (w: number) => answers.find((x) => x.writer === w && x.afterCrash && acknowledged(x));
    await waitUntil(
      async () => (Array.from({ length: WRITERS }, (_, w) => firstAfter(w)).every(Boolean) ? true : undefined),
      30_000,
      "every writer has a write, sent after the crash, acknowledged",
    );
    stop = true;
    await bounded(Promise.all(writers), 60_000, "the writers to finish their last request");

    const after = await agreedLeader(cluster, ids, 20_000);
    expect(after.term).toBeGreaterThan(before.term);
    // The crash really restarted the old leader: a new instance, started after the crash.
    expect((await status(cluster, before.leader)).startTime).toBeGreaterThanOrEqual(crashedAt);

    // Every answer is a success or etcd's Raft error; nothing threw or hung.
    for (const { writer, n, a } of answers) {
      expect(a, `writer ${writer} write ${n}`).not.toBeInstanceOf(Error);
      const answer = a as Answer;
      if (!ok(answer)) expectRaftError(answer, `writer ${writer} write ${n}`);
      else expect(answer.body.node.value).toBe(String(n));
    }
    // Writes succeeded before and after the crash.
    for (let w = 0; w < WRITERS; w++) {
      expect(ackedBefore[w], `writer ${w}: writes acknowledged before the crash`).toBeGreaterThanOrEqual(1);
      expect(firstAfter(w)?.n, `writer ${w}: a write sent after the crash acknowledged`).toBeGreaterThan(ackedBefore[w]);
      expect(acked[w], `writer ${w} acknowledged writes`).toBeGreaterThan(1);
    }
    const failures = answers.filter(({ a }) => !(a as Answer).status || !ok(a as Answer)).length;
    const slowest = Math.max(...answers.map((x) => x.ms));
    console.log(`leader crash: ${answers.length} writes, ${failures} answered with error 300, slowest ${slowest} ms`);
    // Within the router's bounds (5 s to commit, a forward, another member): no write hung.
    expect(slowest).toBeLessThan(20_000);

    // No acknowledged write is lost: each key holds its last acknowledged value or a later one.
    for (let w = 0; w < WRITERS; w++) {
      const r = await get(cluster, `w${w}?quorum=true`);
      expect(r.status).toBe(200);
      expect(Number(r.body.node.value), `w${w}`).toBeGreaterThanOrEqual(acked[w]);
      // ... and no value that was never written.
      expect(answers.some((x) => x.writer === w && String(x.n) === r.body.node.value)).toBe(true);
    }
    // The last write each writer had acknowledged before the crash, and its
    // first one sent and acknowledged after it, are both in the cluster's
    // history afterwards: the event at the index each was acknowledged with is
    // that very write.
    for (let w = 0; w < WRITERS; w++) {
      const last = answers.find((x) => x.writer === w && x.n === ackedBefore[w] && acknowledged(x))!;
      for (const [when, x] of [["before", last], ["after", firstAfter(w)!]] as const) {
        const ack = x.a as Answer;
        const index = ack.body.node.modifiedIndex as number;
        const event = await get(cluster, `w${w}?wait=true&waitIndex=${index}`);
        expect({ status: event.status, body: event.body }, `writer ${w} write ${x.n}, acknowledged ${when} the crash at index ${index}`).toEqual({
          status: 200,
          body: ack.body,
        });
      }
    }
    // Every replica converges on the same store.
    const commit = (await status(cluster, after.leader)).raft.index;
    const want = await localRead(cluster, after.leader, "/");
    for (const id of ids) {
      await appliedUpTo(cluster, id, commit);
      expect((await localRead(cluster, id, "/")).body, `store of ${id}`).toBe(want.body);
    }
  });

  it("in-order POSTs across repeated leader crashes: every acknowledged one exactly once, none twice, nothing never sent", async () => {
    const cluster = "rep-crash-post";
    const ids = founders(cluster);
    expect((await put(cluster, "start", "x")).status).toBe(201);
    await agreedLeader(cluster, ids);
    let stop = false;
    /** How many crashes had been answered when each POST was sent. */
    let crashes = 0;
    const results: { value: string; a: Answer; sentAfter: number }[] = [];
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let n = 0; !stop; n++) {
        const value = `w${w}n${n}`;
        const sentAfter = crashes;
        const res = await bounded(
          write("POST", `/clusters/${cluster}/v2/keys/queue`, `value=${value}`),
          20_000,
          `POST ${value} to be answered`,
        );
        const text = await res.text();
        results.push({ value, a: { status: res.status, body: JSON.parse(text), headers: res.headers }, sentAfter });
      }
    });
    /** Waits until `n` POSTs sent since the last crash (or the start) have been acknowledged. */
    const acknowledgedSinceCrash = (n: number, what: string) =>
      waitUntil(
        async () => (results.filter((r) => r.sentAfter === crashes && r.a.status === 201).length >= n ? true : undefined),
        20_000,
        `${n} POSTs sent ${what} acknowledged`,
      );
    // Each crash, and the end, comes once the cluster is taking POSTs again:
    // 8 sent since the last crash acknowledged (4 x 8 > the 20 checked below).
    const crashed: string[] = [];
    for (let c = 0; c < 3; c++) {
      await acknowledgedSinceCrash(8, c === 0 ? "before the first crash" : `since crash ${c}`);
      const { leader } = await agreedLeader(cluster, ids, 20_000);
      expect((await debug(cluster, `members/${leader}/crash`)).status).toBe(200);
      crashes++;
      crashed.push(leader);
    }
    await acknowledgedSinceCrash(8, "since the last crash");
    stop = true;
    await bounded(Promise.all(writers), 30_000, "the writers to finish");

    await agreedLeader(cluster, ids, 20_000);
    const list = await get(cluster, "queue?recursive=true&sorted=true&quorum=true");
    expect(list.status).toBe(200);
    const queued = (list.body.node.nodes as { key: string; value: string }[]).map((n) => n.value);
    const count = new Map<string, number>();
    for (const v of queued) count.set(v, (count.get(v) ?? 0) + 1);
    expect([...count].filter(([, n]) => n > 1), "values queued twice").toEqual([]);
    const sent = new Set(results.map((r) => r.value));
    expect(queued.filter((v) => !sent.has(v)), "values never sent").toEqual([]);
    for (const { value, a } of results) {
      if (a.status === 201) {
        expect(count.get(value), `acknowledged ${value}`).toBe(1);
        expect(a.body.node.value).toBe(value);
      } else {
        expectRaftError(a, `POST ${value}`);
      }
    }
    expect(results.filter((r) => r.a.status === 201).length).toBeGreaterThan(20);
  });

  it("a follower that was cut off catches up from the log", async () => {
    const cluster = "rep-catchup-log";
    const ids = founders(cluster);
    expect((await put(cluster, "start", "x")).status).toBe(201);
    const { leader } = await agreedLeader(cluster, ids);
    const [lagger, other] = ids.filter((id) => id !== leader);
    const part = await debug(cluster, "partition", { groups: [[leader, other], [lagger]] });
    expect(part.status).toBe(200);
    expect(part.body).toEqual({ groups: [[leader, other], [lagger]] });
    const appliedBefore = await appliedIndex(cluster, lagger);

    for (let i = 1; i <= 20; i++) {
      const w = await put(cluster, `log/k${i}`, `v${i}`);
      expect(w.status, `write ${i}`).toBe(201);
    }
    const commit = (await status(cluster, leader)).raft.index;
    expect(commit).toBeGreaterThanOrEqual(appliedBefore + 20);
    // The lagging follower has none of it.
    expect(await appliedIndex(cluster, lagger)).toBe(appliedBefore);
    expect((await localRead(cluster, lagger, "/log/k1")).status).toBe(404);
    // Its log still reaches back past what it missed: no snapshot needed.
    expect((await raftStatus(cluster, leader)).firstIndex).toBeLessThanOrEqual(appliedBefore + 1);

    expect((await debug(cluster, "heal")).status).toBe(200);
    await appliedUpTo(cluster, lagger, commit);
    expect((await localRead(cluster, lagger, "/log")).body).toBe((await localRead(cluster, leader, "/log")).body);
    const listing = JSON.parse((await localRead(cluster, lagger, "/log")).body).node.nodes as { key: string; value: string }[];
    expect(listing).toHaveLength(20);
    expect(listing.find((n) => n.key === "/log/k20")?.value).toBe("v20");
    // The leader did not change: the follower's pre-votes while cut off did not disturb it.
    expect((await agreedLeader(cluster, ids)).leader).toBe(leader);
  });

  it("a follower that was cut off while the leader compacted its log catches up from a snapshot", async () => {
    expect(SNAPSHOT_EVERY).toBe(200);
    const cluster = "rep-catchup-snap";
    const ids = founders(cluster);
    expect((await put(cluster, "start", "x")).status).toBe(201);
    const { leader } = await agreedLeader(cluster, ids);
    const [lagger, other] = ids.filter((id) => id !== leader);
    expect((await debug(cluster, "partition", { groups: [[leader, other], [lagger]] })).status).toBe(200);
    const laggerLast = (await raftStatus(cluster, lagger)).lastIndex;

    const total = SNAPSHOT_EVERY + SNAPSHOT_EVERY / 2;
    for (let i = 0; i < total; i += 25) {
      const batch = await Promise.all(
        Array.from({ length: 25 }, (_, k) => put(cluster, `snap/k${(i + k) % 30}`, `v${i + k}`)),
      );
      for (const w of batch) expect(ok(w)).toBe(true);
    }
    const leaderRaft = await raftStatus(cluster, leader);
    // The entries the follower lacks are gone from the leader's log: only a snapshot can bring it up to date.
    expect(leaderRaft.firstIndex).toBeGreaterThan(laggerLast + 1);
    expect(await replica(cluster, leader).logLength()).toBeLessThan(SNAPSHOT_EVERY);
    expect((await localRead(cluster, lagger, "/snap")).status).toBe(404);

    expect((await debug(cluster, "heal")).status).toBe(200);
    await appliedUpTo(cluster, lagger, leaderRaft.commit, 20_000);
    const laggerRaft = await raftStatus(cluster, lagger);
    expect(laggerRaft.firstIndex).toBeGreaterThan(laggerLast + 1);
    expect(await replica(cluster, lagger).logLength()).toBeLessThan(SNAPSHOT_EVERY);
    const mine = await localRead(cluster, lagger, "/snap");
    expect(mine.body).toBe((await localRead(cluster, leader, "/snap")).body);
    const nodes = JSON.parse(mine.body).node.nodes as { key: string; value: string }[];
    expect(nodes).toHaveLength(30);
    // The last write of each key: k29 was last written by write number total - 1.
    expect(nodes.find((n) => n.key === "/snap/k29")?.value).toBe(`v${total - 1}`);
    expect(mine.etcdIndex).toBe(1 + total);
    // It keeps following after the snapshot.
    expect((await put(cluster, "snap/after", "1")).status).toBe(201);
    const commit = (await status(cluster, leader)).raft.index;
    await appliedUpTo(cluster, lagger, commit);
    expect(JSON.parse((await localRead(cluster, lagger, "/snap/after", false)).body).node.value).toBe("1");
  });

  it("a leader partitioned into a minority cannot commit; the majority elects a new leader and goes on", async () => {
    const cluster = "rep-minority";
    const ids = founders(cluster);
    expect((await put(cluster, "start", "x")).status).toBe(201);
    const before = await agreedLeader(cluster, ids);
    const majority = ids.filter((id) => id !== before.leader);
    expect((await debug(cluster, "partition", { groups: [[before.leader], majority] })).status).toBe(200);

    // The majority elects a new leader in a later term.
    const after = await agreedLeader(cluster, majority, 15_000);
    expect(after.term).toBeGreaterThan(before.term);
    expect(majority).toContain(after.leader);
    // ... and commits: a write sent to either majority member (a follower forwards it).
    for (const [i, id] of majority.entries()) {
      const r = await bounded(replica(cluster, id).keys(keysRequest("PUT", "/maj", { value: String(i + 1) })), 10_000, `a write on ${id}`);
      expect({ id, status: r.status }).toEqual({ id, status: i === 0 ? 201 : 200 });
      expect(JSON.parse(r.body).node.value).toBe(String(i + 1));
    }

    // The isolated old leader itself, asked directly over RPC: a write fails
    // with error 300 within the request timeout and is never committed.
    const isolated = replica(cluster, before.leader);
    const started = Date.now();
    const reply = await bounded(
      isolated.keys(keysRequest("PUT", "/minority", { value: "lost" })),
      12_000,
      "the isolated replica to answer a write",
    );
    const elapsed = Date.now() - started;
    expect(reply.status).toBe(500);
    expect(JSON.parse(reply.body)).toMatchObject({ errorCode: 300, message: "Raft Internal Error", index: 0 });
    expect(elapsed).toBeLessThan(10_000);
    // A quorum read there fails too (it cannot confirm it leads); a plain read is served locally, stale.
    const qr = await bounded(isolated.keys(keysRequest("GET", "/maj", { quorum: true })), 12_000, "quorum read on the isolated replica");
    expect(qr.status).toBe(500);
    expect(JSON.parse(qr.body)).toMatchObject({ errorCode: 300 });
    expect((await isolated.keys(keysRequest("GET", "/maj"))).status).toBe(404);
    expect((await status(cluster, before.leader)).state).not.toBe("StateLeader");

    // After healing, the old leader follows the new one, and the minority write never appears anywhere.
    expect((await debug(cluster, "heal")).status).toBe(200);
    const healed = await agreedLeader(cluster, ids, 20_000);
    expect(healed.term).toBeGreaterThanOrEqual(after.term);
    expect((await put(cluster, "maj", "3")).status).toBe(200);
    const commit = (await status(cluster, healed.leader)).raft.index;
    for (const id of ids) {
      await appliedUpTo(cluster, id, commit);
      expect((await localRead(cluster, id, "/minority")).status, `/minority on ${id}`).toBe(404);
      expect(JSON.parse((await localRead(cluster, id, "/maj")).body).node.value).toBe("3");
    }
    expect((await get(cluster, "minority?quorum=true")).status).toBe(404);
  });

  // The router's leader hint points at the old leader, which now knows no
  // leader and answers error 300 "no leader": the router must move on to the
  // majority's members instead of returning that answer every time.
  it("through the router, writes succeed in the majority once it has a new leader (the router moves off the isolated one)", async () => {
    const cluster = "rep-minority-router";
    const ids = founders(cluster);
    expect((await put(cluster, "start", "x")).status).toBe(201);
    const before = await agreedLeader(cluster, ids);
    const majority = ids.filter((id) => id !== before.leader);
    expect((await debug(cluster, "partition", { groups: [[before.leader], majority] })).status).toBe(200);
    const w = await waitUntil(
      async () => {
        const a = await put(cluster, "maj", "1", 20_000);
        if (ok(a)) return a;
        expectRaftError(a, "a write during the election");
        return undefined;
      },
      15_000,
      "a write through the router succeeds in the majority",
    );
    expect(w.body.node.value).toBe("1");
    expect(majority).toContain((await agreedLeader(cluster, majority)).leader);
  });
});
