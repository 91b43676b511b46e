/**
 * Membership through Raft, inside workerd: growing a named cluster to five
 * voters with POST /v2/members, adding and removing members (the leader
 * included) while writes continue, and a restart of every replica that keeps
 * data, index and membership.
 */
import { abortAllDurableObjects, listDurableObjectIds } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { memberId } from "../../src/server/identity.ts";
import {
  addMember,
  agreedLeader,
  appliedUpTo,
  bounded,
  debug,
  founders,
  get,
  localRead,
  members,
  put,
  quorumPosition,
  raftStatus,
  removeMember,
  replica,
  sleep,
  SNAPSHOT_EVERY,
  status,
  waitUntil,
  type Answer,
} from "./cluster-helpers.ts";

const ok = (a: Answer) => a.status === 200 || a.status === 201;
const sorted = (ids: string[]) => [...ids].sort();

/** The member JSON etcd answers for a member added at `peerURL` (client URL: this cluster's prefix). */
function memberJSON(cluster: string, n: number, peerURL: string) {
  return {
    id: memberId(cluster, `member-${n}`),
    name: `member-${n}`,
    peerURLs: [peerURL],
    clientURLs: [`http://127.0.0.1/clusters/${cluster}`],
  };
}

/** Waits until `id`'s Raft config has exactly `voters` as voters and no learners. */
function configIs(cluster: string, id: string, voters: string[], ms = 20_000) {
  return waitUntil(
    async () => {
      const s = await raftStatus(cluster, id, 2000);
      return sorted(s.config.voters).join() === sorted(voters).join() && s.config.learners.length === 0 ? s : undefined;
    },
    ms,
    `${id}'s Raft config is exactly the voters ${sorted(voters).join(", ")} and no learners`,
  );
}

/** Waits until every one of `ids` has applied the leader's commit, then checks they hold the same store. */
async function sameStores(cluster: string, ids: string[], leader: string): Promise<string> {
  const commit = (await status(cluster, leader)).raft.index;
  const want = (await localRead(cluster, leader, "/")).body;
  for (const id of ids) {
    await appliedUpTo(cluster, id, commit);
    expect((await localRead(cluster, id, "/")).body, `store of ${id}`).toBe(want);
  }
  return want;
}

describe("membership through Raft", { timeout: 90_000 }, () => {
  it("grows a cluster to 5 voters with POST /v2/members; it elects and replicates, and 3 of 5 (2 of them new) make a quorum", async () => {
    const cluster = "rep-grow";
    const ids = founders(cluster);
    expect((await put(cluster, "a", "1")).status).toBe(201);
    const { leader } = await agreedLeader(cluster, ids);

    const added: string[] = [];
    for (const n of [3, 4]) {
      const url = `http://10.0.0.${n}:2380`;
      const res = await addMember(cluster, url);
      expect(res.status).toBe(201);
      expect(res.body).toEqual(memberJSON(cluster, n, url));
      added.push(res.body.id);
      // The new member joins as a learner and is promoted to voter once caught up.
      await configIs(cluster, leader, [...ids, ...added]);
      // Meanwhile writes commit.
      expect((await put(cluster, `after${n}`, "x")).status).toBe(201);
    }
    const all = [...ids, ...added];

    // Every member, old and new, agrees on the leader, the members and the voters.
    const five = await agreedLeader(cluster, all);
    expect(five.leader).toBe(leader);
    for (const id of all) {
      const s = await status(cluster, id);
      expect(sorted(s.members.map((m) => m.id)), `members seen by ${id}`).toEqual(sorted(all));
      await configIs(cluster, id, all);
    }
    const list = await members(cluster);
    expect(list.status).toBe(200);
    expect(sorted(list.body.members.map((m: { id: string }) => m.id))).toEqual(sorted(all));
    expect(list.body.members.find((m: { id: string }) => m.id === added[1])).toEqual(memberJSON(cluster, 4, "http://10.0.0.4:2380"));

    for (let i = 0; i < 10; i++) expect((await put(cluster, `five/k${i}`, `v${i}`)).status).toBe(201);
    await sameStores(cluster, all, leader);
    expect(JSON.parse((await localRead(cluster, added[1], "/five")).body).node.nodes).toHaveLength(10);

    // A quorum of 5 is 3: cut the old leader and one founder off, and the
    // other founder with the two new members elects a leader and commits.
    // Were the new members still learners, that group could not elect anyone.
    const [keep] = ids.filter((id) => id !== leader);
    const cutOff = [leader, ids.find((id) => id !== leader && id !== keep)!];
    const majority = [keep, ...added];
    expect((await debug(cluster, "partition", { groups: [cutOff, majority] })).status).toBe(200);
    const next = await agreedLeader(cluster, majority, 20_000);
    expect(next.term).toBeGreaterThan(five.term);
    const w = await waitUntil(
      async () => {
        const a = await put(cluster, "quorum3", "yes", 20_000);
        return ok(a) ? a : undefined;
      },
      25_000,
      "a write commits in the group of 3 of 5",
    );
    expect(w.body.node.value).toBe("yes");
    expect((await status(cluster, leader)).state).not.toBe("StateLeader");
    expect((await debug(cluster, "heal")).status).toBe(200);
    const healed = await agreedLeader(cluster, all, 20_000);
    await sameStores(cluster, all, healed.leader);
  });

  it("adds and removes members, the leader included, while writes continue", async () => {
    const cluster = "rep-churn";
    const ids = founders(cluster);
    expect((await put(cluster, "bg", "0")).status).toBe(201);
    const first = await agreedLeader(cluster, ids);

    // A writer that keeps going for the whole test; every write must succeed.
    let stop = false;
    let acked = 0;
    const failures: string[] = [];
    const writer = (async () => {
      for (let n = 1; !stop; n++) {
        const a = await put(cluster, "bg", String(n), 30_000).catch((err: Error) => err);
        if (a instanceof Error) failures.push(`write ${n}: ${a.message}`);
        else if (!ok(a)) failures.push(`write ${n}: ${a.status} ${JSON.stringify(a.body)}`);
        else acked = n;
        // Not a wait for anything: it paces the writer so the membership changes are not starved.
        await sleep(20);
      }
    })();

    const url = "http://10.0.0.3:2380";
    const add = await addMember(cluster, url);
    expect(add.status).toBe(201);
    expect(add.body).toEqual(memberJSON(cluster, 3, url));
    const added = add.body.id as string;
    await configIs(cluster, first.leader, [...ids, added]);
    // A peer URL already in use: 409, nothing added.
    const taken = await addMember(cluster, url);
    expect({ status: taken.status, body: taken.body }).toEqual({ status: 409, body: { message: "membership: peerURL exists" } });

    // Remove a follower.
    const follower = ids.find((id) => id !== first.leader)!;
    const del = await removeMember(cluster, follower);
    expect(del.status).toBe(204);
    expect(del.body).toBe("");
    let rest = [...ids, added].filter((id) => id !== follower);
    await configIs(cluster, first.leader, rest);
    // Removed for good: 410; an id that never was a member: 404.
    const again = await removeMember(cluster, follower);
    expect({ status: again.status, body: again.body }).toEqual({ status: 410, body: { message: `Member permanently removed: ${follower}` } });
    const unknown = await removeMember(cluster, "abcdef");
    expect({ status: unknown.status, body: unknown.body }).toEqual({ status: 404, body: { message: "No such member: abcdef" } });

    // Remove the leader: it hands leadership over first, then it is removed.
    const leader = (await agreedLeader(cluster, rest)).leader;
    const delLeader = await removeMember(cluster, leader);
    expect(delLeader.status).toBe(204);
    rest = rest.filter((id) => id !== leader);
    const after = await agreedLeader(cluster, rest, 20_000);
    expect(rest).toContain(after.leader);
    for (const id of rest) await configIs(cluster, id, rest);
    const gone = await removeMember(cluster, leader);
    expect({ status: gone.status, body: gone.body }).toEqual({ status: 410, body: { message: `Member permanently removed: ${leader}` } });

    const list = await members(cluster);
    expect(sorted(list.body.members.map((m: { id: string }) => m.id))).toEqual(sorted(rest));
    // A follower applies the second removal once it learns it committed (the next message from the leader).
    for (const id of rest) {
      await waitUntil(async () => ((await status(cluster, id)).removed.length === 2 ? true : undefined), 5000, `${id} applied both removals`);
      expect(sorted((await status(cluster, id)).removed)).toEqual(sorted([follower, leader]));
    }

    // Writes kept going all along, and go on in the 2-member cluster: the
    // write after the one in flight now was sent to the 2-member cluster.
    const mark = acked;
    await waitUntil(
      async () => (acked >= mark + 2 ? acked : undefined),
      20_000,
      `the background writer has write ${mark + 2} acknowledged by the 2-member cluster`,
    );
    stop = true;
    await bounded(writer, 40_000, "the background writer to finish");
    expect(failures).toEqual([]);
    expect(acked).toBeGreaterThan(5);
    const last = await get(cluster, "bg?quorum=true");
    expect(last.body.node.value).toBe(String(acked));
    await sameStores(cluster, rest, after.leader);

    // The removed members, cut out of the config, do not disturb the rest:
    // over more than two election timeouts the leader and term stay put.
    // This wait is the point (nothing must happen in it), so it stays: an
    // election timeout is at most 20 ticks of 100 ms, and two of them are 4 s.
    await sleep(4500);
    expect(await agreedLeader(cluster, rest)).toEqual(after);
    expect((await put(cluster, "bg", "end")).status).toBe(200);
    expect((await status(cluster, leader)).state).not.toBe("StateLeader");
  });

  it("a member added after the log was compacted catches up from a snapshot, members included, and is promoted", async () => {
    expect(SNAPSHOT_EVERY).toBe(200);
    const cluster = "rep-join-snap";
    const ids = founders(cluster);
    expect((await put(cluster, "start", "x")).status).toBe(201);
    const { leader } = await agreedLeader(cluster, ids);
    const total = SNAPSHOT_EVERY + 50;
    for (let i = 0; i < total; i += 25) {
      const batch = await Promise.all(Array.from({ length: 25 }, (_, k) => put(cluster, `s/k${(i + k) % 10}`, `v${i + k}`)));
      for (const w of batch) expect(ok(w)).toBe(true);
    }
    // The leader no longer has the log's start: a new member can only start from a snapshot.
    expect((await raftStatus(cluster, leader)).firstIndex).toBeGreaterThan(2);
    const add = await addMember(cluster, "http://10.0.0.3:2380");
    expect(add.status).toBe(201);
    const joined = add.body.id as string;
    const all = [...ids, joined];
    await configIs(cluster, leader, all);
    await configIs(cluster, joined, all);
    const store = await sameStores(cluster, all, leader);
    expect(JSON.parse(store).node.nodes.find((n: { key: string }) => n.key === "/s").nodes).toHaveLength(10);
    expect((await raftStatus(cluster, joined)).firstIndex).toBeGreaterThan(2);
    expect(await replica(cluster, joined).logLength()).toBeLessThan(SNAPSHOT_EVERY);
    const s = await status(cluster, joined);
    expect(s.members).toEqual((await status(cluster, leader)).members);
    expect(s.name).toBe("member-3");
    expect(s.leader).toBe(leader);
  });

  it("restarts every replica with data, index and membership intact", async () => {
    const cluster = "rep-restart";
    const ids = founders(cluster);
    for (let i = 1; i <= 5; i++) expect((await put(cluster, `r/k${i}`, `v${i}`)).status).toBe(201);
    const { leader } = await agreedLeader(cluster, ids);
    const add = await addMember(cluster, "http://10.0.0.3:2380");
    expect(add.status).toBe(201);
    const all = [...ids, add.body.id as string];
    await configIs(cluster, leader, all);
    expect((await removeMember(cluster, ids[2] === leader ? ids[1] : ids[2])).status).toBe(204);
    const removed = ids[2] === leader ? ids[1] : ids[2];
    const remaining = all.filter((id) => id !== removed);
    await configIs(cluster, leader, remaining);
    expect((await put(cluster, "r/k6", "v6")).status).toBe(201);

    const before = await quorumPosition(cluster);
    const storeBefore = await sameStores(cluster, remaining, leader);
    const membersBefore = await members(cluster);
    const statusBefore = await Promise.all(remaining.map((id) => status(cluster, id)));

    await bounded(abortAllDurableObjects(), 10_000, "abortAllDurableObjects");

    const again = await agreedLeader(cluster, remaining, 20_000);
    const after = await quorumPosition(cluster);
    expect(after.etcdIndex).toBe(before.etcdIndex);
    // The new leader's no-op takes a Raft index; nothing else does.
    expect(after.raftIndex).toBeGreaterThan(before.raftIndex);
    expect(after.term).toBeGreaterThan(before.term);
    expect(await sameStores(cluster, remaining, again.leader)).toBe(storeBefore);
    const membersAfter = await members(cluster);
    expect(membersAfter.body).toEqual(membersBefore.body);
    for (const [k, id] of remaining.entries()) {
      const s = await status(cluster, id);
      expect(s.members).toEqual(statusBefore[k].members);
      expect(s.removed).toEqual([removed]);
      await configIs(cluster, id, remaining);
    }
    const next = await put(cluster, "r/k7", "v7");
    expect(next.status).toBe(201);
    expect(next.body.node.modifiedIndex).toBe(before.etcdIndex + 1);
  });

  // SERVER BUG: a replica that knows no leader passes a members change on to
  // `leaderStub()`, i.e. to the Durable Object named "<cluster>/" (an empty
  // member id), which is created and fails in its constructor ("RaftOptions.id
  // must be a non-empty member id"). The HTTP answer is etcd's 500 either way;
  // the stray object is what shows the bug.
  it("a members change with no leader anywhere: etcd's 500 in bounded time, nothing changes, no replica with an empty member id", async () => {
    const cluster = "rep-members-noleader";
    const ids = founders(cluster);
    expect((await put(cluster, "start", "x")).status).toBe(201);
    const before = await agreedLeader(cluster, ids);
    expect((await debug(cluster, "partition", { groups: ids.map((id) => [id]) })).status).toBe(200);
    await waitUntil(
      async () => {
        const all = await Promise.all(ids.map((id) => status(cluster, id, 2000)));
        return all.every((s) => s.state !== "StateLeader" && s.leader === "") ? all : undefined;
      },
      15_000,
      "no replica leads or knows a leader",
    );

    const internal = { status: 500, body: { message: "Internal Server Error" } };
    const add = await addMember(cluster, "http://10.0.0.3:2380");
    expect({ status: add.status, body: add.body }).toEqual(internal);
    const del = await removeMember(cluster, ids.find((id) => id !== before.leader)!);
    expect({ status: del.status, body: del.body }).toEqual(internal);

    expect((await debug(cluster, "heal")).status).toBe(200);
    const after = await agreedLeader(cluster, ids, 20_000);
    for (const id of ids) await configIs(cluster, id, ids);
    expect(sorted((await members(cluster)).body.members.map((m: { id: string }) => m.id))).toEqual(sorted(ids));
    expect((await status(cluster, after.leader)).removed).toEqual([]);

    const namespace = (env as unknown as { REPLICA: DurableObjectNamespace }).REPLICA;
    const stray = namespace.idFromName(`${cluster}/`).toString();
    const created = (await listDurableObjectIds(namespace)).map((id) => id.toString());
    expect(created).toContain(namespace.idFromName(`${cluster}/${before.leader}`).toString());
    expect(created).not.toContain(stray);
  });
});
