/**
 * Log compaction: with SNAPSHOT_EVERY=200 (vitest.config.ts) every replica
 * folds its applied log into a snapshot, so the log stays short however many
 * writes there were, and a restart rebuilds the store from snapshot + log.
 */
import { abortAllDurableObjects } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import type { ReplicaStub } from "../../src/server/api.ts";
import { foundingMembers, replicaName } from "../../src/server/members.ts";
import { call, position, write } from "./helpers.ts";

const SNAPSHOT_EVERY = Number((env as unknown as { SNAPSHOT_EVERY: string }).SNAPSHOT_EVERY);
const replicas = () =>
  foundingMembers("default", 3).map(
    (m) => (env as unknown as { REPLICA: DurableObjectNamespace }).REPLICA.getByName(replicaName("default", m.id)) as unknown as ReplicaStub,
  );

it("keeps every replica's log under two snapshot intervals after 2.5 intervals of writes, and restarts from snapshot + log", async () => {
  expect(SNAPSHOT_EVERY).toBe(200);
  const total = SNAPSHOT_EVERY * 2 + SNAPSHOT_EVERY / 2;
  for (let i = 0; i < total; i += 25) {
    await Promise.all(
      Array.from({ length: 25 }, (_, k) => write("PUT", `/v2/keys/compact/k${(i + k) % 20}`, `value=v${i + k}`)),
    );
  }
  const { index } = await position();
  const lengths = await Promise.all(replicas().map((r) => r.logLength()));
  for (const n of lengths) expect(n).toBeLessThan(2 * SNAPSHOT_EVERY);
  const listing = await (await call("/v2/keys/compact?recursive=true&sorted=true")).text();
  expect(JSON.parse(listing).node.nodes).toHaveLength(20);

  await abortAllDurableObjects();

  expect((await position()).index).toBe(index);
  expect(await (await call("/v2/keys/compact?recursive=true&sorted=true")).text()).toBe(listing);
  // The last write of each key survived: key k holds the last value written to it.
  const k0 = await (await call("/v2/keys/compact/k0")).json<{ node: { value: string } }>();
  expect(k0.node.value).toBe(`v${total - 20}`);
}, 60_000);
