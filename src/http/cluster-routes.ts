/**
 * Everything beside the keys: /version, /health, /v2/machines, /v2/members,
 * /v2/stats/{self,leader,store}, with etcd 3.4's shapes. Client URLs point
 * back at the address the client used, so client-side endpoint sync
 * (etcdctl, python-etcd, the Go client) keeps talking to this server.
 */
import { Hono, type Context } from "hono";
import type { MemberInfo } from "../replica/replica.ts";
import { goJSON, goJSONLine } from "./go-json.ts";
import { methodNotAllowed, TEXT_PLAIN } from "./go-http.ts";
import type { Env, ReplicaApi } from "./app.ts";

export const ETCD_SERVER_VERSION = "3.4.23";
export const ETCD_CLUSTER_VERSION = "3.4.0";

type StubFor = (env: Env) => ReplicaApi;

const json = (body: string, status = 200, extra: Record<string, string> = {}) =>
  new Response(body, { status, headers: { "Content-Type": "application/json", ...extra } });

/** Non-key errors ({"message": ...}, no newline), as etcd's httptypes.HTTPError writes them. */
const httpError = (status: number, message: string) => json(goJSON({ message }), status);

function clientURL(c: Context): string {
  return new URL(c.req.url).origin;
}

function memberJSON(m: MemberInfo, url: string) {
  return { id: m.id, name: m.name, peerURLs: [url], clientURLs: [url] };
}

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

function only(c: Context, allowed: string[]): Response | null {
  return allowed.includes(c.req.method) ? null : methodNotAllowed(allowed);
}

export function clusterRoutes(stubFor: StubFor): Hono<{ Bindings: Env }> {
  const r = new Hono<{ Bindings: Env }>();

  r.all("/version", (c) =>
    only(c, ["GET"]) ?? json(goJSON({ etcdserver: ETCD_SERVER_VERSION, etcdcluster: ETCD_CLUSTER_VERSION })),
  );

  r.all("/health", async (c) => {
    const denied = only(c, ["GET"]);
    if (denied) return denied;
    // Healthy when the replica answers, as etcd checks that a read of the root goes through.
    try {
      await stubFor(c.env).member();
      return new Response(goJSON({ health: "true" }), { headers: { "Content-Type": TEXT_PLAIN } });
    } catch {
      return new Response(goJSONLine({ health: "false" }), { status: 503, headers: { "Content-Type": TEXT_PLAIN } });
    }
  });

  r.all("/v2/machines", (c) => {
    const denied = only(c, ["GET", "HEAD"]);
    if (denied) return denied;
    return new Response(c.req.method === "HEAD" ? null : clientURL(c), { headers: { "Content-Type": TEXT_PLAIN } });
  });

  const members = async (c: Context<{ Bindings: Env }>) => {
    const denied = only(c, ["GET", "POST", "DELETE", "PUT"]);
    if (denied) return denied;
    const m = await stubFor(c.env).member();
    const cid = { "X-Etcd-Cluster-Id": m.clusterId };
    const sub = c.req.path.replace(/^\/v2\/members\/?/, "");
    if (c.req.method === "GET") {
      if (sub === "") return json(goJSONLine({ members: [memberJSON(m, clientURL(c))] }), 200, cid);
      if (sub === "leader") return json(goJSONLine(memberJSON(m, clientURL(c))), 200, cid);
      return httpError(404, "Not found");
    }
    // A cluster is a single replica for now: membership cannot change yet.
    return httpError(500, "membership changes are not supported: this cluster has a fixed single member");
  };
  r.all("/v2/members", members);
  r.all("/v2/members/*", members);

  r.all("/v2/stats/store", async (c) => only(c, ["GET"]) ?? json(goJSON(await stubFor(c.env).storeStats())));

  r.all("/v2/stats/self", async (c) => {
    const denied = only(c, ["GET"]);
    if (denied) return denied;
    const m = await stubFor(c.env).member();
    const start = new Date(m.startTime).toISOString();
    return json(
      goJSON({
        name: m.name,
        id: m.id,
        state: m.state,
        startTime: start,
        leaderInfo: { leader: m.leaderId, uptime: goDuration(Date.now() - m.startTime), startTime: start },
        recvAppendRequestCnt: 0,
        sendAppendRequestCnt: 0,
      }),
    );
  });

  r.all("/v2/stats/leader", async (c) => {
    const denied = only(c, ["GET"]);
    if (denied) return denied;
    const m = await stubFor(c.env).member();
    if (m.state !== "StateLeader") return httpError(403, "not current leader");
    return json(goJSON({ leader: m.id, followers: {} }));
  });

  return r;
}
