// Quiescence on a running server, started as `npm start` serves it, seen
// from outside the way an operator sees it: once idle, /metrics shows every
// member quiet (etcd_workers_quiescent 1) and /v2/stats/self says
// "quiescent": true; each follower's received-bytes counters then stay put
// while the cluster idles, move again with the next write, and the cluster
// goes quiet once more. The idle stretch is a fixed wait on purpose: that
// nothing moves over time is what it shows.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { send } from "./harness/http";
import { startOurs, type Server } from "./harness/processes";

/** Twenty Raft ticks: a quiet cluster sends nothing in any stretch of time. */
const IDLE_MS = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Scrape {
  quiescent: Map<string, number>;
  leader: string;
  /** etcd_network_peer_received_bytes_total summed per receiving member. */
  received: Map<string, number>;
}

/** The samples of one family: labels as text, value. */
function samples(text: string, family: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split("\n")) {
    const m = new RegExp(`^${family}\\{([^}]*)\\} (\\S+)$`).exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}

describe.skipIf(inject("compatOursKind") !== "worker")("quiescence on a running server", () => {
  let server: Server;

  beforeAll(async () => {
    server = await startOurs();
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
  });

  async function scrape(): Promise<Scrape> {
    const res = await send(server.url, { method: "GET", path: "/metrics" });
    expect(res.status).toBe(200);
    const text = res.body;
    const quiescent = new Map(samples(text, "etcd_workers_quiescent").map((s) => [s.labels.member, s.value]));
    const leader = samples(text, "etcd_server_is_leader").find((s) => s.value === 1)?.labels.member ?? "";
    const received = new Map<string, number>();
    for (const s of samples(text, "etcd_network_peer_received_bytes_total")) received.set(s.labels.member, (received.get(s.labels.member) ?? 0) + s.value);
    return { quiescent, leader, received };
  }

  const allQuiet = () =>
    expect
      .poll(async () => [...(await scrape()).quiescent.values()], { timeout: 30_000, interval: 200 })
      .toEqual([1, 1, 1]);

  const put = async (value: string) => {
    const res = await send(server.url, { method: "PUT", path: "/v2/keys/quiet", body: `value=${value}`, contentType: "application/x-www-form-urlencoded" });
    expect([200, 201]).toContain(res.status);
  };

  it("idle: every member quiet, the followers' counters still; a write moves them, then all go quiet again", async () => {
    await put("1");
    await allQuiet();
    const self = JSON.parse((await send(server.url, { method: "GET", path: "/v2/stats/self" })).body) as { quiescent?: boolean };
    expect(self.quiescent).toBe(true);

    const before = await scrape();
    expect(before.leader).not.toBe("");
    const followers = [...before.received.keys()].filter((id) => id !== before.leader);
    expect(followers).toHaveLength(2);
    await sleep(IDLE_MS);
    const idle = await scrape();
    for (const id of followers) expect(idle.received.get(id), `bytes ${id} received while idle`).toBe(before.received.get(id));
    expect([...idle.quiescent.values()]).toEqual([1, 1, 1]);

    await put("2");
    const after = await scrape();
    for (const id of followers) expect(after.received.get(id)!, `bytes ${id} received for the write`).toBeGreaterThan(before.received.get(id)!);
    await allQuiet();
  });
});
