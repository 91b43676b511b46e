// Which of OUR clusters the suite runs against. The server serves the cluster
// "default" at the root (/v2/..., /version, ...) and any named cluster under
// /clusters/<name>/... (created on first use). Every sequence and every client
// test runs against both: etcd (which has no prefix) on one side, and ours at
// its cluster's base path on the other. Only our side's URLs get the prefix;
// the client URLs a named cluster reports carry it, so "<self>" stands for
// <origin>/clusters/<name> there.
//
//   COMPAT_CLUSTERS=default | named | default,named (the default)
//
// With COMPAT_TARGET=etcd, "ours" is a second etcd, which has only the root.
import { inject } from "vitest";
import { foundingMembers, type Member } from "../../../src/server/members.ts";

export interface OursCluster {
  /** Shown in test names: "[default]" or "[named]". */
  label: "default" | "named";
  /** The cluster's name on the server (member ids are derived from it). */
  name: string;
  /** Base path on our server: "" or "/clusters/<name>". */
  root: string;
}

export const DEFAULT_CLUSTER: OursCluster = { label: "default", name: "default", root: "" };
export const NAMED_CLUSTER: OursCluster = { label: "named", name: "compat-named", root: "/clusters/compat-named" };

/** Members of a new cluster: CLUSTER_SIZE in wrangler.jsonc. */
export const CLUSTER_SIZE = 3;

export function oursClusters(): OursCluster[] {
  if (inject("compatOursKind") !== "worker") return [DEFAULT_CLUSTER];
  const wanted = (process.env.COMPAT_CLUSTERS ?? "default,named").split(",").map((s: string) => s.trim());
  const all = [DEFAULT_CLUSTER, NAMED_CLUSTER].filter((c) => wanted.includes(c.label));
  if (all.length === 0) throw new Error(`COMPAT_CLUSTERS=${process.env.COMPAT_CLUSTERS}: expected default, named or both`);
  return all;
}

/**
 * The configured members of one of our clusters, in the order etcd lists
 * members (by id as a number: etcd sorts MembersByID).
 */
export function configuredMembers(cluster: string): Member[] {
  return foundingMembers(cluster, CLUSTER_SIZE).sort((a, b) => {
    const x = BigInt(`0x${a.id}`);
    const y = BigInt(`0x${b.id}`);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}
