/**
 * etcd's storage quota (--quota-backend-bytes) on a real cluster inside
 * workerd, with QUOTA_BACKEND_BYTES at its lowest (1 MiB, see the
 * "workers-quota" project in vitest.config.ts): past it a write that adds
 * data is refused with NOSPACE and the alarm is raised through Raft, so every
 * member lists it and refuses alike; reads, deletes, compaction and v2
 * writes go on; once compaction has given the space back and the alarm is
 * disarmed, writes succeed again. Each answer is etcd 3.4's (checked against
 * etcd in test/compat/v3-quota.test.ts).
 */
import { describe, expect, it } from "vitest";
import { agreedLeader, clusterCall, debug, founders, replica, waitUntil } from "../workers/cluster-helpers.ts";

const CLUSTER = "quota";
const QUOTA = 1024 * 1024;
const NOSPACE = '{"error":"etcdserver: mvcc: database space exceeded","message":"etcdserver: mvcc: database space exceeded","code":8}';
const b64 = (s: string) => btoa(s);
const decimal = (hex: string) => BigInt(`0x${hex}`).toString();

async function v3(path: string, body: unknown): Promise<{ status: number; text: string; json: any }> {
  const res = await clusterCall(CLUSTER, `/v3/${path}`, { method: "POST", body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) };
}

const putValue = (key: string, value: string) => v3("kv/put", { key: b64(key), value: b64(value) });
const revisions = () => Promise.all(founders(CLUSTER).map(async (id) => (await replica(CLUSTER, id).v3Status(false)).revision));

describe("the storage quota", () => {
  it("refuses writes that add data with NOSPACE on every member, keeps reads and deletes, and recovers after compaction and disarm", async () => {
    const ids = founders(CLUSTER);
    expect((await putValue("q/first", "1")).status).toBe(200);
    const { leader } = await agreedLeader(CLUSTER, ids);

    // Fill: each put of 150 kB adds its log entry and its row. The first
    // refusal is NOSPACE, with etcd's status and body.
    const big = "x".repeat(150_000);
    let stored = 1;
    let refused: Awaited<ReturnType<typeof v3>> | null = null;
    for (let i = 0; i < 20 && !refused; i++) {
      const r = await putValue(`q/${i}`, big);
      if (r.status === 200) stored++;
      else refused = r;
    }
    expect(refused, "a put was refused before 20 of 150 kB").not.toBeNull();
    expect([refused!.status, refused!.text]).toEqual([429, NOSPACE]);
    expect((await replica(CLUSTER, leader).v3Status(false)).dbSize).toBeGreaterThan(QUOTA - 400_000);

    // The alarm, raised by the leader (which checked its own storage), as every member lists it.
    const alarmList = `{"alarms":[{"memberID":"${decimal(leader)}","alarm":"NOSPACE"}]}`;
    expect((await v3("maintenance/alarm", {})).text).toBe(alarmList);
    for (const id of ids) {
      // A follower learns that the alarm committed with the next message from the leader (a tick at most).
      const r = await waitUntil(
        async () => {
          const a = await replica(CLUSTER, id).v3({ method: "alarm", req: { action: "GET", memberId: "0", alarm: "NONE" } });
          return a.ok && (a.response as { alarms: unknown[] }).alarms.length > 0 ? a : undefined;
        },
        5000,
        `${id} lists the alarm`,
      );
      expect(r.ok && r.response, `alarms on ${id}`).toMatchObject({ alarms: [{ memberId: leader, alarm: "NOSPACE" }] });
    }
    const status = await v3("maintenance/status", {});
    expect(status.json.errors).toEqual([`memberID:${decimal(leader)} alarm:NOSPACE `]);

    // Whatever adds data is refused: a small put, a transaction with a put, a lease.
    expect((await putValue("q/small", "s")).text).toBe(NOSPACE);
    const txnPut = { success: [{ request_put: { key: b64("q/t"), value: b64("t") } }] };
    expect((await v3("kv/txn", txnPut)).text).toBe(NOSPACE);
    expect((await v3("lease/grant", { TTL: "30" })).text).toBe(NOSPACE);
    // Reads and v2 writes go on (etcd's v2 store is outside its quota too).
    const count = await v3("kv/range", { key: b64("q/"), range_end: b64("q0"), count_only: true });
    expect(count.json.count).toBe(String(stored));
    const v2 = await clusterCall(CLUSTER, "/v2/keys/v2-under-nospace", { method: "PUT", body: "value=ok", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expect(v2.status).toBe(201);
    await v2.text();

    // The alarm survives a restart: rebuilt from the snapshot and the log.
    const follower = ids.find((id) => id !== leader)!;
    expect((await debug(CLUSTER, `members/${follower}/crash`)).status).toBe(200);
    await waitUntil(
      async () => {
        const r = await replica(CLUSTER, follower).v3Status(false);
        return r.alarms.length === 1 && r.alarms[0].memberId === leader ? r : undefined;
      },
      15_000,
      `${follower} lists the alarm after its restart`,
    );

    // Deletes and compaction give the space back; defragment has nothing to do.
    const deleted = await v3("kv/deleterange", { key: b64("q/"), range_end: b64("q0") });
    expect(deleted.json.deleted).toBe(String(stored));
    expect((await v3("kv/compaction", { revision: deleted.json.header.revision })).status).toBe(200);
    expect((await v3("maintenance/defragment", {})).text).toBe("{}");
    // The log's share goes at the next Raft snapshot (every 20 entries
    // here): deletes of nothing are entries too.
    let filler = 0;
    await waitUntil(
      async () => {
        const size = (await replica(CLUSTER, leader).v3Status(false)).dbSize;
        if (size < QUOTA / 2) return size;
        await v3("kv/deleterange", { key: b64(`nothing/${filler++}`) });
        return undefined;
      },
      30_000,
      `the leader's storage is back under half the quota`,
    );

    // Under the quota again, but the alarm still stands: the put is proposed
    // and every member refuses it where it is applied, changing nothing.
    const agreed = () => waitUntil(async () => ((rs) => (rs.every((r) => r === rs[0]) ? rs[0] : undefined))(await revisions()), 5000, "every member at one revision");
    const before = await agreed();
    expect((await putValue("q/small", "s")).text).toBe(NOSPACE);
    expect(await agreed()).toBe(before);

    // Disarmed as etcdctl does it: the answer lists what was deactivated.
    const disarm = await v3("maintenance/alarm", { action: "DEACTIVATE", memberID: decimal(leader), alarm: "NOSPACE" });
    expect(disarm.text).toBe(alarmList);
    expect((await v3("maintenance/alarm", { action: "GET" })).text).toBe("{}");
    expect((await v3("maintenance/status", {})).json.errors).toBeUndefined();
    expect((await putValue("q/after", "back")).status).toBe(200);
    const read = await v3("kv/range", { key: b64("q/after") });
    expect(atob(read.json.kvs[0].value)).toBe("back");
  }, 120_000);
});
