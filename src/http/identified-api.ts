/**
 * The cluster as one client sees it: every v3 request it makes (its own,
 * and those the lock and election services make for it, as etcd's do
 * with the caller's credentials) carries its identity, and its watches
 * are checked as etcd checks them (src/http/v3-watch-auth.ts).
 */
import type { V3Identity } from "../server/api.ts";
import type { ClusterApi } from "./cluster-client.ts";
import { authorizedWatch } from "./v3-watch-auth.ts";

export function identifiedApi(api: ClusterApi, identity: V3Identity, cluster: string): ClusterApi {
  return {
    ...api,
    v3: (req) => api.v3({ ...req, ...identity }),
    v3Watch: (requests, ...rest) => authorizedWatch(requests, identity, cluster, api, (passed) => api.v3Watch(passed, ...rest)),
  };
}
