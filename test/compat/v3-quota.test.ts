// The storage quota side by side with real etcd 3.4: a fresh etcd started
// with --quota-backend-bytes=1048576 and a fresh server of ours with
// QUOTA_BACKEND_BYTES at the same 1 MiB (and snapshots every 20 entries, so
// the log's space comes back soon after compaction), driven through the
// same steps: fill until refused, then NOSPACE for whatever adds data, the
// alarm in Alarm and Status, reads, deletes, v2 writes, compaction and
// defragment, NOSPACE still while the alarm stands, disarm, writes again.
// Answers are compared whole (status and body), but for member ids and
// response headers (cluster ids and revisions differ by nature).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { targets } from "./harness/compare";
import { send } from "./harness/http";
import { startEtcd, startOurs, type Server } from "./harness/processes";

const QUOTA = 1024 * 1024;
const t = targets();
const b64 = (s: string) => Buffer.from(s).toString("base64");

interface Side {
  server: Server;
  /** The member ids it answers with, in decimal, to hide from the comparison. */
  ids: Set<string>;
}

async function v3(url: string, path: string, body: unknown): Promise<{ status: number; body: string }> {
  const r = await send(url, { method: "POST", path: `/v3/${path}`, body: JSON.stringify(body), contentType: "application/json" }, 30_000);
  return { status: r.status, body: r.body };
}

/** A JSON answer without its response header. */
function withoutHeader(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  if (parsed === null || typeof parsed !== "object" || !("header" in parsed)) return body;
  const { header: _, ...rest } = parsed as Record<string, unknown>;
  return JSON.stringify(rest);
}

/** The steps, on one side: a transcript of [step, status, body with member ids as <member>]. */
async function quotaSteps(side: Side): Promise<[string, number, string][]> {
  const url = side.server.url;
  const transcript: [string, number, string][] = [];
  const hide = (body: string) => [...side.ids].reduce((b, id) => b.replaceAll(id, "<member>"), withoutHeader(body));
  const step = async (name: string, path: string, body: unknown) => {
    const r = await v3(url, path, body);
    transcript.push([name, r.status, hide(r.body)]);
    return r;
  };
  const members = JSON.parse((await v3(url, "cluster/member/list", {})).body) as { members: { ID: string }[] };
  for (const m of members.members) side.ids.add(m.ID);

  // Fill with 100 kB values until the first refusal (the count differs: our
  // storage holds the log beside the keyspace).
  let first: { status: number; body: string } | null = null;
  for (let i = 0; i < 60 && !first; i++) {
    const r = await v3(url, "kv/put", { key: b64(`q/${i}`), value: b64("x".repeat(100_000)) });
    if (r.status !== 200) first = r;
  }
  expect(first, "a put was refused before 60 of 100 kB").not.toBeNull();
  transcript.push(["first refusal", first!.status, first!.body]);

  await step("alarm list", "maintenance/alarm", {});
  const status = JSON.parse((await v3(url, "maintenance/status", {})).body) as { errors?: string[] };
  transcript.push(["status errors", 200, hide(JSON.stringify(status.errors))]);
  await step("small put", "kv/put", { key: b64("q/small"), value: b64("s") });
  await step("txn with a put", "kv/txn", { success: [{ request_put: { key: b64("q/t"), value: b64("t") } }] });
  await step("lease grant", "lease/grant", { TTL: "30" });
  const count = JSON.parse((await v3(url, "kv/range", { key: b64("q/"), range_end: b64("q0"), count_only: true })).body) as { count: string };
  transcript.push(["range", 200, Number(count.count) > 0 ? "some keys" : "none"]);
  const v2 = await send(url, { method: "PUT", path: "/v2/keys/quota-v2", body: "value=1", contentType: "application/x-www-form-urlencoded" }, 30_000);
  transcript.push(["v2 put", v2.status, JSON.parse(v2.body).action]);
  const deleted = JSON.parse((await v3(url, "kv/deleterange", { key: b64("q/"), range_end: b64("q0") })).body) as { header: { revision: string } };
  await step("compaction", "kv/compaction", { revision: deleted.header.revision, physical: true });
  await step("defragment", "maintenance/defragment", {});
  // Our log's share of the space goes at the next Raft snapshot; deletes of
  // nothing are entries too. etcd is under the quota already.
  for (let i = 0; i < 200; i++) {
    const size = Number((JSON.parse((await v3(url, "maintenance/status", {})).body) as { dbSize: string }).dbSize);
    if (size < QUOTA / 2) break;
    await v3(url, "kv/deleterange", { key: b64(`nothing/${i}`) });
  }
  await step("put under the quota, alarm standing", "kv/put", { key: b64("q/small"), value: b64("s") });
  const alarms = JSON.parse((await v3(url, "maintenance/alarm", {})).body) as { alarms: { memberID: string; alarm: string }[] };
  for (const a of alarms.alarms) await step("disarm", "maintenance/alarm", { action: "DEACTIVATE", memberID: a.memberID, alarm: a.alarm });
  await step("alarm list after", "maintenance/alarm", { action: "GET" });
  await step("put after", "kv/put", { key: b64("q/after"), value: b64("back") });
  return transcript;
}

describe("the storage quota (NOSPACE)", () => {
  const sides: Side[] = [];
  beforeAll(async () => {
    const [etcd, ours] = await Promise.all([
      startEtcd([`--quota-backend-bytes=${QUOTA}`]),
      t.oursKind === "worker" ? startOurs([`QUOTA_BACKEND_BYTES:${QUOTA}`, "SNAPSHOT_EVERY:20"]) : startEtcd([`--quota-backend-bytes=${QUOTA}`]),
    ]);
    sides.push({ server: etcd, ids: new Set() }, { server: ours, ids: new Set() });
  }, 120_000);
  afterAll(async () => {
    await Promise.all(sides.map((s) => s.server.stop()));
  });

  it("answers as etcd does, from the first refusal to the writes after disarm", async () => {
    const [etcd, ours] = await Promise.all(sides.map(quotaSteps));
    expect(etcd[0]).toEqual(["first refusal", 429, '{"error":"etcdserver: mvcc: database space exceeded","message":"etcdserver: mvcc: database space exceeded","code":8}']);
    expect(ours).toEqual(etcd);
  }, 300_000);
});
