/** Helpers for the v3 tests inside workerd: a replica's v3() with a bound, its answer or a failure, its whole keyspace. */
import { runInDurableObject } from "cloudflare:test";
import type { Replica } from "../../src/replica/replica.ts";
import type { V3Reply, V3Request } from "../../src/server/api.ts";
import type { ReplicaState } from "../../src/server/state.ts";
import type { MvccDump } from "../../src/v3/backend.ts";
import type { KeyValue } from "../../src/v3/types.ts";
import { bounded, replica } from "./cluster-helpers.ts";

export function v3(cluster: string, id: string, req: V3Request): Promise<V3Reply> {
  return bounded(replica(cluster, id).v3(req), 15_000, `${req.method} on ${id}`);
}

/** The response of a v3 call that must succeed, with the fields the tests look at. */
export async function ok(reply: Promise<V3Reply>): Promise<{ revision: number; kvs?: KeyValue[]; count?: number } & Record<string, unknown>> {
  const r = await reply;
  if (!r.ok) throw new Error(`v3 failed: ${r.error.message}`);
  return r.response as unknown as { revision: number } & Record<string, unknown>;
}

/** A replica's whole v3 keyspace, every version, read inside its Durable Object. */
export function dumpOf(cluster: string, id: string): Promise<MvccDump> {
  return runInDurableObject(replica(cluster, id) as unknown as DurableObjectStub<Replica>, (r: Replica) =>
    (r.driver.state as ReplicaState).mvcc.dump(),
  ) as Promise<MvccDump>;
}
