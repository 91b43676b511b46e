/**
 * Who founds a cluster. The cluster served at the root and the discovery
 * service's shards found themselves: their founding members bootstrap on
 * first use. A named cluster (/clusters/<name>) is founded only when the
 * router creates it (src/http/cluster-creation.ts), which on a deployment
 * with an admin token takes that token; until then its founding members
 * hold nothing and do nothing, so asking whether it exists creates nothing.
 */
import { SHARD_PREFIX } from "../discovery/token.ts";
import { foundingMembers } from "./members.ts";

/** The cluster served at the root (/v2/..., /v3/..., /version). */
export const DEFAULT_CLUSTER = "default";

/**
 * Whether the member `id` of `cluster` waits for the router to create its
 * cluster before it bootstraps: a founding member of a named cluster. (A
 * member added later starts empty anyway and learns everything from its
 * leader.)
 */
export function waitsForCreation(cluster: string, id: string, clusterSize: number): boolean {
  if (cluster === DEFAULT_CLUSTER || cluster.startsWith(SHARD_PREFIX)) return false;
  return foundingMembers(cluster, clusterSize).some((m) => m.id === id);
}
