/**
 * The v3 calls that take a root user while v3 auth is enabled, as etcd 3.4
 * checks them: members changes (refused with "etcdserver: permission
 * denied"), and the maintenance calls etcd wraps in its auth check (hash,
 * defragment, and the snapshot, HashKV and MoveLeader calls not served
 * here), which pass the auth store's own error on unconverted: gRPC
 * Unknown, "auth: permission denied". Status, alarms and the member list
 * are open to all, as in etcd.
 */
import type { V3Identity } from "../server/api.ts";
import { GrpcCode, type V3ErrorBody } from "../v3/errors.ts";
import type { ClusterApi } from "./cluster-client.ts";
import { V3_MEMBER_CHANGES } from "./admin-access.ts";
import { errorResponse } from "./v3-routes.ts";

const ROOT_MAINTENANCE = new Set(["maintenance/hash", "maintenance/defragment"]);

/** Whether `path` (after /v3/) takes the root check. */
export function needsV3Root(path: string): boolean {
  return V3_MEMBER_CHANGES.has(path) || ROOT_MAINTENANCE.has(path);
}

/** The refusal of a call that needs root, or null when `identity` may make it. */
export async function v3RootRefusal(path: string, api: ClusterApi, identity: V3Identity): Promise<Response | null> {
  const reply = await api.v3({ method: "adminCheck", req: {}, ...identity });
  if (reply.ok) return null;
  return errorResponse(ROOT_MAINTENANCE.has(path) ? unconverted(reply.error) : reply.error);
}

/** An auth error as etcd's auth package words it, before its server converts it. */
function unconverted(error: V3ErrorBody): V3ErrorBody {
  if (error.code === GrpcCode.Unavailable) return error;
  return { code: GrpcCode.Unknown, message: error.message.replace(/^etcdserver: /, "auth: ") };
}
