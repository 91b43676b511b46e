/**
 * etcd's client API for one cluster: /v2/keys, /version, /health,
 * /v2/machines, /v2/members, /v2/stats/{self,leader,store}, with etcd 3.4's
 * shapes. Client URLs point back at the address (and cluster prefix) the
 * client used, so client-side endpoint sync (etcdctl, python-etcd, the Go
 * client) keeps talking to this server.
 */
import { Hono, type Context } from "hono";
import type { FollowerStats, ReplicaStatus } from "../server/api.ts";
import { clusterId } from "../server/identity.ts";
import type { Member } from "../server/members.ts";
import { config, type Env } from "../env.ts";
import { clusterClient, type ClusterApi } from "./cluster-client.ts";
import { goJSON, goJSONLine } from "../go/json.ts";
import { goTime } from "../v2/time.ts";
import { httpError, json, methodNotAllowed, requestURL, TEXT_PLAIN } from "./go-http.ts";
import { keysRequest, type KeysRequest } from "../v2/request.ts";
import { handleKeys } from "./keys-routes.ts";
import { membersWrite } from "./members-routes.ts";
import { isAdmin, membersChangeRefused, V3_MEMBER_CHANGES, v3AdminRequired } from "./admin-access.ts";
import { handleV2Auth } from "./v2-auth-routes.ts";
import { renderMetrics } from "../server/metrics.ts";
import { handleV3 } from "./v3-routes.ts";
import { v3Identity } from "./client-identity.ts";
import { identifiedApi } from "./identified-api.ts";
import { needsV3Root, v3RootRefusal } from "./v3-admin-check.ts";
import { ETCD_CLUSTER_VERSION, ETCD_SERVER_VERSION } from "../server/version.ts";


/** Which cluster a request is for, and the path prefix its URLs carry. */
export interface ClusterRef {
  name: string;
  prefix: string;
}

type C = Context<{ Bindings: Env }>;

/** Go's time.Duration String() for a span in milliseconds, e.g. "10m59.322s" or "158ms". */
export function goDuration(ms: number): string {
  if (ms <= 0) return "0s";
  if (ms < 1000) return `${trimZeros(ms.toFixed(3))}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = trimZeros(((ms % 60_000) / 1000).toFixed(3));
  return (h ? `${h}h` : "") + (h || m ? `${m}m` : "") + `${s}s`;
}

function trimZeros(fixed: string): string {
  return fixed.includes(".") ? fixed.replace(/\.?0+$/, "") : fixed;
}

/** The request's waitUntil; a no-op when the app is called without an execution context (unit tests). */
function waitUntil(c: C): (work: Promise<unknown>) => void {
  try {
    const ctx = c.executionCtx;
    return (work) => ctx.waitUntil(work);
  } catch {
    return () => {};
  }
}

function only(c: C, allowed: string[]): Response | null {
  return allowed.includes(c.req.method) ? null : methodNotAllowed(allowed);
}

export function etcdRoutes(clusterOf: (c: C) => ClusterRef): Hono<{ Bindings: Env }> {
  const r = new Hono<{ Bindings: Env }>();
  const api = (c: C): ClusterApi => clusterClient(c.env, clusterOf(c).name, waitUntil(c));
  const clientURL = (c: C) => requestURL(c.req.raw).origin + clusterOf(c).prefix;
  const cid = (c: C) => ({ "X-Etcd-Cluster-Id": clusterId(clusterOf(c).name) });
  const memberJSON = (c: C, m: Member) => ({ id: m.id, name: m.name, peerURLs: m.peerURLs, clientURLs: [clientURL(c)] });

  const keys = (c: C) => {
    const { prefix, name } = clusterOf(c);
    const rawKeyPath = requestURL(c.req.raw).pathname.slice(prefix.length + "/v2/keys".length);
    const settings = config(c.env);
    return handleKeys(c.req.raw, rawKeyPath, clusterId(name), api(c), settings.maxWatches, settings.clientCertAuth);
  };
  r.all("/v2/keys", keys);
  r.all("/v2/keys/*", keys);

  r.all("/version", (c) =>
    only(c, ["GET"]) ?? json(goJSON({ etcdserver: ETCD_SERVER_VERSION, etcdcluster: ETCD_CLUSTER_VERSION })),
  );

  r.all("/health", async (c) => {
    const denied = only(c, ["GET"]);
    if (denied) return denied;
    // Healthy when a leader exists and a quorum read of the root goes through, as etcd checks.
    const read = await api(c)
      .keys(healthRead)
      .catch(() => null);
    if (read?.status === 200) return new Response(goJSON({ health: "true" }), { headers: { "Content-Type": TEXT_PLAIN } });
    return new Response(goJSONLine({ health: "false" }), { status: 503, headers: { "Content-Type": TEXT_PLAIN } });
  });

  r.all("/v2/machines", async (c) => {
    const denied = only(c, ["GET", "HEAD"]);
    if (denied) return denied;
    const status = await api(c).status();
    // Every member is served at this same address.
    const urls = status.members.map(() => clientURL(c));
    return new Response([...new Set(urls)].join(", "), { headers: { "Content-Type": TEXT_PLAIN } });
  });

  const members = async (c: C) => {
    const denied = only(c, ["GET", "POST", "DELETE", "PUT"]);
    if (denied) return denied;
    const sub = requestURL(c.req.raw).pathname.slice(clusterOf(c).prefix.length).replace(/^\/v2\/members\/?/, "");
    if (c.req.method !== "GET") {
      const settings = config(c.env);
      const refused = await membersChangeRefused(c.req.raw, settings.adminToken, api(c), settings.clientCertAuth);
      return refused ?? membersWrite(c.req.raw, sub, api(c), cid(c), (m) => memberJSON(c, m));
    }
    const status = await api(c).status();
    if (sub === "") return json(goJSONLine({ members: status.members.map((m) => memberJSON(c, m)) }), 200, cid(c));
    if (sub === "leader") {
      const leader = status.members.find((m) => m.id === status.leader);
      if (!leader) return httpError(503, "During election", cid(c));
      return json(goJSONLine(memberJSON(c, leader)), 200, cid(c));
    }
    return httpError(404, "Not found", cid(c));
  };
  r.all("/v2/members", members);
  r.all("/v2/members/*", members);

  r.all("/v2/auth/*", (c) => {
    const rawSub = requestURL(c.req.raw).pathname.slice(clusterOf(c).prefix.length + "/v2/auth".length);
    return handleV2Auth(c.req.raw, rawSub, api(c), cid(c), config(c.env).clientCertAuth);
  });

  // etcd's v3 gRPC gateway; /v3beta/ is its older name for the same paths.
  const v3 = async (c: C) => {
    const { prefix, name } = clusterOf(c);
    const path = requestURL(c.req.raw).pathname.slice(prefix.length).replace(/^\/v3(beta)?\//, "");
    const settings = config(c.env);
    // Where an admin token is set, it stands in for the root check of members changes (see admin-access.ts).
    const adminTokenCheck = V3_MEMBER_CHANGES.has(path) && settings.adminToken !== null;
    if (adminTokenCheck && !(await isAdmin(c.req.raw, settings.adminToken))) return v3AdminRequired();
    const identity = adminTokenCheck ? {} : v3Identity(c.req.raw, settings.clientCertAuth);
    const refused = needsV3Root(path) && !adminTokenCheck ? await v3RootRefusal(path, api(c), identity) : null;
    return refused ?? handleV3(c.req.raw, path, name, identifiedApi(api(c), identity, name), clientURL(c), settings.maxWatches);
  };
  r.all("/v3/*", v3);
  r.all("/v3beta/*", v3);

  r.all("/metrics", async (c) => {
    const denied = only(c, ["GET"]);
    if (denied) return denied;
    const text = renderMetrics(clusterOf(c).name, await api(c).metrics(), ETCD_SERVER_VERSION);
    return new Response(text, { headers: { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" } });
  });

  r.all("/v2/stats/store", async (c) => only(c, ["GET"]) ?? json(goJSON(await api(c).storeStats())));

  r.all("/v2/stats/self", async (c) => only(c, ["GET"]) ?? json(goJSON(selfStats(await api(c).status()))));

  r.all("/v2/stats/leader", async (c) => {
    const denied = only(c, ["GET"]);
    if (denied) return denied;
    const stats = await api(c).followerStats();
    if (!stats) return httpError(403, "not current leader");
    return json(goJSON(leaderStats(stats.leader, stats.followers)));
  });

  return r;
}

/** The quorum read of the root that /health makes (it counts as a get, as in etcd). */
const healthRead: KeysRequest = { ...keysRequest("GET", "/", { quorum: "true" }), internal: true };

function selfStats(s: ReplicaStatus) {
  const start = goTime(s.startTime);
  return {
    name: s.name,
    id: s.id,
    state: s.state,
    startTime: start,
    leaderInfo: { leader: s.leader, uptime: goDuration(Date.now() - s.leaderSince), startTime: goTime(s.leaderSince) },
    recvAppendRequestCnt: s.recvAppends,
    sendAppendRequestCnt: s.sendAppends,
    // Ours alone (etcd has no quiet state); JSON clients skip fields they do not know.
    quiescent: s.quiescent,
  };
}

/** etcd's leader stats: latencies in milliseconds, followers sorted by id. */
function leaderStats(leader: string, followers: FollowerStats[]) {
  const out: Record<string, unknown> = {};
  for (const f of [...followers].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const l = f.latencies;
    const n = l.length;
    const avg = n ? l.reduce((a, b) => a + b, 0) / n : 0;
    const sd = n ? Math.sqrt(l.reduce((a, b) => a + (b - avg) ** 2, 0) / n) : 0;
    out[f.id] = {
      latency: {
        current: n ? l[n - 1] : 0,
        average: avg,
        standardDeviation: sd,
        // Before the first success etcd reports its initial minimum, 2^63.
        minimum: n ? Math.min(...l) : 9223372036854775807,
        maximum: n ? Math.max(...l) : 0,
      },
      counts: { fail: f.fail, success: f.success },
    };
  }
  return { leader, followers: out };
}
