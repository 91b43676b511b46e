/**
 * The Worker's router: etcd's v2 client API for the default cluster at the
 * root and for named clusters under /clusters/<name>, the discovery service,
 * (when DEBUG_FAULTS is on) the fault-injection API, and (when DASHBOARD is
 * on) the web dashboard.
 */
import { Hono } from "hono";
import { dashboardRoutes } from "./dashboard/routes.ts";
import { discoveryRoutes } from "./discovery/routes.ts";
import { SHARD_PREFIX } from "./discovery/token.ts";
import { clusterClient } from "./http/cluster-client.ts";
import { createClusterRoute, namedClusterGate } from "./http/cluster-creation.ts";
import { debugRoutes } from "./http/debug-routes.ts";
import { etcdRoutes, type ClusterRef } from "./http/etcd-routes.ts";
import { goHTTP, notFound } from "./http/go-http.ts";
import { ConfigError, type Env } from "./env.ts";
import { DEFAULT_CLUSTER } from "./server/founding.ts";

export { DEFAULT_CLUSTER };
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
  const name = c.req.param("cluster");
  if (name.startsWith(SHARD_PREFIX)) return notFound();
  // A named cluster is served once it exists (see src/http/cluster-creation.ts);
  // /clusters/<name> itself is where it is created.
  const missing = c.req.path === `/clusters/${name}` ? null : await namedClusterGate(c.env, name);
  if (missing) return missing;
  await next();
});
app.put(`/clusters/:cluster{${CLUSTER_NAME}}`, (c) => createClusterRoute(c.req.raw, c.env, c.req.param("cluster")));

app.route("/", etcdRoutes(() => defaultCluster()));
app.route(`/clusters/:cluster{${CLUSTER_NAME}}`, etcdRoutes((c) => namedCluster(c.req.param("cluster")!)));
app.route("/", debugRoutes(() => defaultCluster()));
app.route(`/clusters/:cluster{${CLUSTER_NAME}}`, debugRoutes((c) => namedCluster(c.req.param("cluster")!)));
// Before the discovery routes, whose catch-all answers every other root path.
app.route("/", dashboardRoutes(() => defaultCluster()));
app.route(`/clusters/:cluster{${CLUSTER_NAME}}`, dashboardRoutes((c) => namedCluster(c.req.param("cluster")!)));
app.route("/", discoveryRoutes(clusterClient));

app.notFound(() => notFound());
app.onError((err) => {
  console.error(err);
  if (err instanceof ConfigError) {
    return new Response(JSON.stringify({ message: `the server is misconfigured: ${err.message}` }), {
      status: 500,
      headers: { "Content-Type": "application/json" },
    });
  }
  return new Response(JSON.stringify({ message: "Internal Server Error" }), {
    status: 500,
    headers: { "Content-Type": "application/json" },
  });
});
