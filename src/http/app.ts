/**
 * The Worker's router: etcd's v2 client API for the default cluster at the
 * root and for named clusters under /clusters/<name>, the discovery service,
 * and (when DEBUG_FAULTS is on) the fault-injection API.
 */
import { Hono } from "hono";
import { discoveryRoutes } from "../discovery/routes.ts";
import { SHARD_PREFIX } from "../discovery/token.ts";
import { clusterClient } from "./cluster-client.ts";
import { debugRoutes } from "./debug-routes.ts";
import { etcdRoutes, type ClusterRef } from "./etcd-routes.ts";
import { goHTTP, notFound } from "./go-http.ts";

export interface Env {
  REPLICA: DurableObjectNamespace;
  /** Replicas in a new cluster (default 3). */
  CLUSTER_SIZE?: string;
  /** Applied entries between snapshots (default 10,000); tests lower it. */
  SNAPSHOT_EVERY?: string;
  /** Watches one Worker instance holds open at most (0: no limit); `npm start` sets it from the open-file limit. */
  MAX_WATCHES?: string;
  /** "true" exposes /_debug/... (crash, partition, heal) for tests. */
  DEBUG_FAULTS?: string;
  /** The discovery service's /new rate limiter, one object per client address. */
  DISCOVERY_LIMITER: DurableObjectNamespace;
  DISCOVERY_BASE_URL?: string;
  DISCOVERY_TOKEN_TTL_SECONDS?: string;
  DISCOVERY_NEW_PER_MINUTE?: string;
}

export const DEFAULT_CLUSTER = "default";
/** Cluster names: lowercase letters, digits and dashes, as in a DNS label. */
const CLUSTER_NAME = "[a-z0-9][a-z0-9-]{0,62}";

export const app = new Hono<{ Bindings: Env }>();

app.use("*", goHTTP);

const defaultCluster = (): ClusterRef => ({ name: DEFAULT_CLUSTER, prefix: "" });
const namedCluster = (name: string): ClusterRef => ({ name, prefix: `/clusters/${name}` });

// The discovery service's shards are clusters too, but only it may reach
// them: through /clusters/<name> anyone could list or change every token.
// Every /clusters route spells the parameter with the same pattern, so that
// Hono's RegExpRouter (one precompiled expression) can serve the whole app;
// a differently spelled parameter makes it fall back to its TrieRouter,
// which allocated about 1 KB per request here.
app.use(`/clusters/:cluster{${CLUSTER_NAME}}/*`, async (c, next) => {
  if (c.req.param("cluster").startsWith(SHARD_PREFIX)) return notFound();
  await next();
});

app.route("/", etcdRoutes(() => defaultCluster()));
app.route(`/clusters/:cluster{${CLUSTER_NAME}}`, etcdRoutes((c) => namedCluster(c.req.param("cluster")!)));
app.route("/", debugRoutes(() => defaultCluster()));
app.route(`/clusters/:cluster{${CLUSTER_NAME}}`, debugRoutes((c) => namedCluster(c.req.param("cluster")!)));
app.route("/", discoveryRoutes(clusterClient));

app.notFound(() => notFound());
app.onError((err) => {
  console.error(err);
  return new Response(JSON.stringify({ message: "Internal Server Error" }), {
    status: 500,
    headers: { "Content-Type": "application/json" },
  });
});
