/**
 * The Worker's router: etcd's v2 client API (keys, members, machines, stats,
 * version, health) in front of the cluster's Durable Objects.
 */
import { Hono } from "hono";
import type { KeysReply, MemberInfo } from "../replica/replica.ts";
import type { KeysRequest } from "./keys-request.ts";
import type { StoreStats } from "../store/stats.ts";
import { clusterId } from "../replica/identity.ts";
import { CORS_HEADERS, cleanURLPath, notFound, redirectToClean } from "./go-http.ts";
import { handleKeys } from "./keys-routes.ts";
import { clusterRoutes } from "./cluster-routes.ts";
import { discoveryRoutes } from "../discovery/routes.ts";

export interface Env {
  REPLICA: DurableObjectNamespace;
  /** The discovery service's /new rate limiter, one object per client address. */
  DISCOVERY_LIMITER: DurableObjectNamespace;
  DISCOVERY_BASE_URL?: string;
  DISCOVERY_TOKEN_TTL_SECONDS?: string;
  DISCOVERY_NEW_PER_MINUTE?: string;
}

/** What the router calls on a replica over Durable Object RPC. */
export interface ReplicaApi {
  keys(req: KeysRequest): Promise<KeysReply>;
  cancelWatch(id: number): Promise<void>;
  member(): Promise<MemberInfo>;
  storeStats(): Promise<StoreStats>;
}

export const DEFAULT_CLUSTER = "default";

export function replicaStub(env: Env, cluster: string): ReplicaApi {
  // Typed by hand: the generated RPC stub type is too deep for the compiler here.
  return env.REPLICA.getByName(cluster) as unknown as ReplicaApi;
}

export const app = new Hono<{ Bindings: Env }>();

// etcd 3.4 sends its CORS headers on every answer and answers any OPTIONS with a bare 200.
app.use("*", async (c, next) => {
  if (c.req.method === "OPTIONS") return new Response(null, { status: 200, headers: CORS_HEADERS });
  const url = new URL(c.req.url);
  const cleaned = cleanURLPath(decodePathLoosely(url.pathname));
  if (cleaned !== decodePathLoosely(url.pathname)) {
    c.res = redirectToClean(c.req.method, cleaned, url.search);
  } else {
    await next();
  }
  const res = new Response(c.res.body, c.res);
  for (const [k, v] of Object.entries(CORS_HEADERS)) res.headers.set(k, v);
  c.res = res;
});

app.all("/v2/keys/*", (c) => keysFor(c.req.raw, c.env));
app.all("/v2/keys", (c) => keysFor(c.req.raw, c.env));

function keysFor(request: Request, env: Env): Promise<Response> {
  const rawKeyPath = new URL(request.url).pathname.slice("/v2/keys".length);
  const stub = replicaStub(env, DEFAULT_CLUSTER);
  return handleKeys(request, rawKeyPath, { clusterId: clusterId(DEFAULT_CLUSTER), keys: (req) => stub.keys(req),
    cancelWatch: (id) => stub.cancelWatch(id),
  });
}

app.route("/", clusterRoutes((env) => replicaStub(env, DEFAULT_CLUSTER)));

app.route("/", discoveryRoutes(replicaStub));

app.notFound(() => notFound());
app.onError((err) => {
  console.error(err);
  return new Response(JSON.stringify({ message: "Internal Server Error" }), {
    status: 500,
    headers: { "Content-Type": "application/json" },
  });
});

/** Percent-decodes for path comparison only; a malformed escape is left as is. */
function decodePathLoosely(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

