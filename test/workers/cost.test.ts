/**
 * A cluster's bill, counted inside workerd: Durable Object requests (RPC
 * calls and alarms received), SQLite rows read and written (alarms set count
 * as rows written, as Cloudflare bills them) and time awake (a tick timer
 * running), summed over the three replicas, for the scenarios COST.md
 * prices. Each scenario starts from a quiet cluster and ends when it is
 * quiet again, so the cost of waking and of going quiet is included.
 *
 * Printed as one JSON line per scenario ("cost: {...}"); COST.md is built
 * from these lines. The assertions hold the targets: an idle cluster costs
 * nothing, and at 16 clients a write costs at most 2 requests and 4 rows.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Replica } from "../../src/replica/replica.ts";
import { TICK_MS } from "../../src/replica/replica.ts";
import type { UsageCounts } from "../../src/server/metrics.ts";
import { agreedLeader, bounded, founders, get, put, replica, sleep, waitUntil } from "./cluster-helpers.ts";
import { call, write } from "./helpers.ts";

type Totals = UsageCounts;

async function usage(cluster: string): Promise<Totals> {
  const all = await Promise.all(
    founders(cluster).map((id) =>
      runInDurableObject(replica(cluster, id) as unknown as DurableObjectStub<Replica>, (r: Replica) => r.usage.read(Date.now())),
    ),
  );
  return all.reduce((a, u) => ({
    requests: a.requests + u.requests,
    alarms: a.alarms + u.alarms,
    rowsRead: a.rowsRead + u.rowsRead,
    rowsWritten: a.rowsWritten + u.rowsWritten,
    awakeMs: a.awakeMs + u.awakeMs,
  }));
}

const minus = (a: Totals, b: Totals): Totals => ({
  requests: a.requests - b.requests,
  alarms: a.alarms - b.alarms,
  rowsRead: a.rowsRead - b.rowsRead,
  rowsWritten: a.rowsWritten - b.rowsWritten,
  awakeMs: a.awakeMs - b.awakeMs,
});

async function quiet(cluster: string): Promise<void> {
  await waitUntil(
    async () => {
      const all = await Promise.all(
        founders(cluster).map((id) =>
          runInDurableObject(replica(cluster, id) as unknown as DurableObjectStub<Replica>, (r: Replica) => r.driver.quiescent),
        ),
      );
      return all.every(Boolean) ? true : undefined;
    },
    20_000,
    `every member of ${cluster} is quiet`,
  );
}

/** A quiet cluster with one key written, and its leader. */
async function quietCluster(cluster: string): Promise<string> {
  expect((await put(cluster, "setup", "x")).status).toBe(201);
  const { leader } = await agreedLeader(cluster, founders(cluster));
  await quiet(cluster);
  return leader;
}

/** Runs `work` on a quiet cluster and returns what it cost, until the cluster is quiet again. */
async function measure(cluster: string, work: () => Promise<void>): Promise<Totals> {
  const before = await usage(cluster);
  await work();
  await quiet(cluster);
  return minus(await usage(cluster), before);
}

function report(scenario: string, total: Totals, per = 1): Totals {
  const each = (n: number) => Math.round((n / per) * 100) / 100;
  const line = { scenario, per, requests: each(total.requests + total.alarms), alarms: each(total.alarms), rowsRead: each(total.rowsRead), rowsWritten: each(total.rowsWritten), awakeSeconds: each(total.awakeMs / 1000) };
  console.log(`cost: ${JSON.stringify(line)}`);
  return total;
}

async function writes(cluster: string, count: number, clients: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < count) {
        const k = next++;
        const res = await put(cluster, `w/${k % 100}`, `value-${k}`);
        if (res.status !== 200 && res.status !== 201) throw new Error(`write ${k} answered ${res.status}`);
      }
    }),
  );
}

describe("what a cluster costs", { timeout: 120_000 }, () => {
  it("idle: nothing at all once quiet (no request, no row, no time awake)", async () => {
    const cluster = "cost-idle";
    await quietCluster(cluster);
    const before = await usage(cluster);
    // No timer and no alarm are left, so this holds for any length of time;
    // twenty ticks' worth of waiting shows nothing was left running.
    await sleep(20 * TICK_MS);
    const idle = report("idle (any length of time)", minus(await usage(cluster), before));
    expect(idle).toEqual({ requests: 0, alarms: 0, rowsRead: 0, rowsWritten: 0, awakeMs: 0 });
  });

  it("one write, from quiet to quiet", async () => {
    const cluster = "cost-one";
    await quietCluster(cluster);
    const cost = report("one write", await measure(cluster, () => writes(cluster, 1, 1)));
    expect(cost.rowsWritten).toBeGreaterThan(0);
  });

  for (const clients of [1, 16]) {
    it(`1,000 writes at ${clients} client${clients > 1 ? "s" : ""}`, async () => {
      const cluster = `cost-writes-${clients}`;
      await quietCluster(cluster);
      const cost = report(`1,000 writes at ${clients} clients (per write)`, await measure(cluster, () => writes(cluster, 1000, clients)), 1000);
      // Each replica writes at least its copy of each entry.
      expect(cost.rowsWritten).toBeGreaterThanOrEqual(3 * 1000);
      if (clients === 16) {
        // The budget (issue: a smaller bill per write): at most 2 requests and 4 rows written per write.
        expect(cost.requests + cost.alarms, "requests for 1,000 writes").toBeLessThanOrEqual(2 * 1000);
        expect(cost.rowsWritten, "rows written for 1,000 writes").toBeLessThanOrEqual(4 * 1000);
      }
    });
  }

  it("a TTL key expiring: one alarm on the leader, then quiet again", async () => {
    const cluster = "cost-ttl";
    await quietCluster(cluster);
    const set = await write("PUT", `/clusters/${cluster}/v2/keys/ttl`, "value=v&ttl=3");
    expect(set.status).toBe(201);
    await quiet(cluster);
    const cost = report(
      "a TTL expiry",
      await measure(cluster, async () => {
        await waitUntil(async () => ((await get(cluster, "ttl")).status === 404 ? true : undefined), 20_000, "the key expired");
      }),
    );
    expect(cost.alarms).toBe(1);
  });

  it("1,000 v2 watchers waiting: one request each, and no timer", async () => {
    const cluster = "cost-watch";
    await quietCluster(cluster);
    const controller = new AbortController();
    const before = await usage(cluster);
    const watches = Array.from({ length: 1000 }, () =>
      call(`/clusters/${cluster}/v2/keys/watched?wait=true`, { signal: controller.signal }).catch(() => null),
    );
    await bounded(
      waitUntil(async () => ((await usage(cluster)).requests - before.requests >= 1000 ? true : undefined), 20_000, "every watch reached a replica"),
      25_000,
      "watches",
    );
    await sleep(20 * TICK_MS);
    const cost = report("1,000 v2 watchers waiting", minus(await usage(cluster), before));
    controller.abort();
    await Promise.all(watches);
    // Waiting watchers make no Raft traffic and start no timer: each is a
    // hibernatable socket to its replica, which nothing else holds (see COST.md).
    expect(cost.awakeMs).toBe(0);
    expect(cost.requests).toBeLessThan(1100);
  });
});
