/**
 * Where a cluster's replicas live, and the one way to reach a replica.
 *
 * Cloudflare creates a Durable Object near the request that first reaches
 * it, unless it is given a location hint, and honours the hint only then,
 * at creation. So every place that reaches a replica (the router, the
 * cluster's creation, a peer) asks here, whichever of them happens to
 * create it, and all of them give the same hint.
 *
 * MEMBER_LOCATIONS spreads each cluster over regions: founding member k at
 * the k-th location, round robin, so that with "enam,weur,apac" a cluster
 * of three keeps a quorum when a region is lost. A member added later goes
 * to the location its id picks. Every commit then waits for a round trip
 * between regions (see README, "Replicas in regions").
 *
 * JURISDICTION keeps every replica inside one jurisdiction ("eu", ...).
 * A jurisdiction is part of an object's identity: setting or changing it
 * on a deployment that already has clusters reaches new, empty replicas,
 * and the old ones are left where they were.
 */
import type { Env } from "./env.ts";
import { config } from "./env.ts";
import type { ReplicaStub } from "./server/api.ts";
import { foundingMembers, replicaName } from "./server/members.ts";

/** The stub of replica `id` of `cluster`, placed as configured. */
export function replicaStub(env: Env, cluster: string, id: string): ReplicaStub {
  const { placement, clusterSize } = config(env);
  const namespace = placement.jurisdiction ? env.REPLICA.jurisdiction(placement.jurisdiction) : env.REPLICA;
  const locationHint = memberLocation(placement.locations, cluster, id, clusterSize);
  return namespace.getByName(replicaName(cluster, id), locationHint ? { locationHint } : undefined);
}

/** The location hint of a member: a founder's by its number, anyone else's by its id; none when no locations are set. */
export function memberLocation<T extends string>(locations: readonly T[], cluster: string, id: string, clusterSize: number): T | undefined {
  if (locations.length === 0) return undefined;
  const k = foundingMembers(cluster, clusterSize).findIndex((m) => m.id === id);
  if (k >= 0) return locations[k % locations.length];
  // Member ids are hex; their low bits pick a location.
  return locations[parseInt(id.slice(-6), 16) % locations.length];
}
