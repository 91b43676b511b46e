/**
 * /metrics on a running cluster inside workerd: etcd's names per member,
 * counters that move by what a write does (every member applies 5 more
 * proposals and holds 5 more keys after 5 puts; the leader sends its peers
 * bytes), and a scrape that changes nothing it reports.
 */
import { describe, expect, it } from "vitest";
import { waitUntil } from "./cluster-helpers.ts";
import { call } from "./helpers.ts";

const CLUSTER = "/clusters/metrics-test";

/** name{labels} → value, for every sample of a scrape. */
async function scrape(): Promise<Map<string, number>> {
  const res = await call(`${CLUSTER}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("Content-Type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

const perMember = (s: Map<string, number>, name: string) =>
  new Map([...s].filter(([k]) => k.startsWith(`${name}{member="`)).map(([k, v]) => [k.slice(name.length + 9, k.indexOf('"', name.length + 9)), v]));

const put = (key: string) => call(`${CLUSTER}/v3/kv/put`, { method: "POST", body: JSON.stringify({ key: btoa(key), value: btoa("v") }) });

describe("/metrics", () => {
  it("reports each member under etcd's names, and moves by what 5 puts do", async () => {
    expect((await put("warm-up")).status).toBe(200);
    // Settled: every member has applied what the leader committed.
    const before = await waitUntil(
      async () => {
        const s = await scrape();
        const applied = [...perMember(s, "etcd_server_proposals_applied_total").values()];
        const leaders = [...perMember(s, "etcd_server_is_leader").values()].filter((v) => v === 1);
        return applied.length === 3 && new Set(applied).size === 1 && leaders.length === 1 ? s : undefined;
      },
      10_000,
      "three members, one leader, all applied alike",
    );
    expect([...perMember(before, "etcd_server_has_leader").values()]).toEqual([1, 1, 1]);
    expect([...perMember(before, "etcd_workers_member_up").values()]).toEqual([1, 1, 1]);
    expect(before.get('etcd_server_version{server_version="3.4.23"}')).toBe(1);

    // A scrape changes nothing it reports.
    const again = await scrape();
    expect(perMember(again, "etcd_server_proposals_applied_total")).toEqual(perMember(before, "etcd_server_proposals_applied_total"));

    for (let i = 0; i < 5; i++) expect((await put(`k${i}`)).status).toBe(200);
    const after = await waitUntil(
      async () => {
        const s = await scrape();
        const applied = [...perMember(s, "etcd_server_proposals_applied_total").values()];
        return applied.every((v) => v >= [...perMember(before, "etcd_server_proposals_applied_total").values()][0] + 5) ? s : undefined;
      },
      10_000,
      "every member applied the 5 puts",
    );
    for (const [id, applied] of perMember(after, "etcd_server_proposals_applied_total")) {
      expect(applied - perMember(before, "etcd_server_proposals_applied_total").get(id)!, id).toBe(5);
      expect(perMember(after, "etcd_debugging_mvcc_keys_total").get(id)! - perMember(before, "etcd_debugging_mvcc_keys_total").get(id)!, id).toBe(5);
    }
    const leader = [...perMember(after, "etcd_server_is_leader")].find(([, v]) => v === 1)![0];
    const sent = (s: Map<string, number>) =>
      [...s].filter(([k]) => k.startsWith(`etcd_network_peer_sent_bytes_total{member="${leader}"`)).reduce((sum, [, v]) => sum + v, 0);
    // Each put's entry (about 100 bytes of command) goes to both followers.
    expect(sent(after) - sent(before)).toBeGreaterThan(5 * 2 * 100);
    // Each put is at least one timed transaction on every member (more with
    // the commit index written on a tick); a flush is timed once durable.
    const commits = (s: Map<string, number>, id: string) => s.get(`etcd_disk_backend_commit_duration_seconds_count{member="${id}"}`)!;
    const settled = await waitUntil(
      async () => {
        const s = await scrape();
        return [...perMember(after, "etcd_server_is_leader").keys()].every((id) => commits(s, id) - commits(before, id) >= 5) ? s : undefined;
      },
      10_000,
      "every member timed the 5 puts' transactions",
    );
    for (const id of perMember(after, "etcd_server_is_leader").keys()) {
      expect(settled.get(`etcd_disk_backend_commit_duration_seconds_bucket{member="${id}",le="+Inf"}`), id).toBe(commits(settled, id));
    }
  });
});
