/**
 * The web dashboard of one cluster, served only when DASHBOARD is "true"
 * (on for `npm start`, off in wrangler.jsonc): otherwise every /_dashboard
 * path is the 404 of any unknown path, so a deployment does not show it.
 *
 *   GET /_dashboard                 the page
 *   GET /_dashboard/assets/<file>   its stylesheet and scripts (assets.ts)
 *   GET /_dashboard/api/cluster     every member at once (cluster-view.ts)
 *
 * Everything else the page shows it reads from the etcd API itself (v2 keys,
 * v3 gateway, watches, discovery), as any client would, with the
 * credentials the user signs in with when auth is on (browser/auth.ts):
 * etcd's APIs enforce auth, so the page shows only what the user may read.
 * None of these routes takes credentials: the page and its scripts hold no
 * data, and the members view shows only the members' status, which etcd
 * too gives anyone (/v2/stats, /metrics, maintenance status).
 */
import { Hono, type Context, type Next } from "hono";
import { config, type Env } from "../env.ts";
import { clusterClient } from "../http/cluster-client.ts";
import type { ClusterRef } from "../http/etcd-routes.ts";
import { json, methodNotAllowed, notFound } from "../http/go-http.ts";
import { ASSETS } from "./assets.ts";
import { memberLocation } from "../placement.ts";
import { clusterView } from "./cluster-view.ts";
import { dashboardPage } from "./page.ts";

type C = Context<{ Bindings: Env }>;

/**
 * The page runs only its own scripts and styles and talks only to this
 * Worker: a key or value shown on it can never run as code.
 */
const PAGE_HEADERS = {
  "Content-Type": "text/html; charset=utf-8",
  "Content-Security-Policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "Cache-Control": "no-cache",
};

export function dashboardRoutes(clusterOf: (c: C) => ClusterRef): Hono<{ Bindings: Env }> {
  const r = new Hono<{ Bindings: Env }>();
  r.use("/_dashboard", enabledOnly);
  r.use("/_dashboard/*", enabledOnly);

  const page = (c: C) => {
    const { name, prefix } = clusterOf(c);
    return new Response(dashboardPage(name, prefix), { headers: PAGE_HEADERS });
  };
  r.get("/_dashboard", page);
  r.get("/_dashboard/", page);

  for (const [file, asset] of Object.entries(ASSETS)) {
    // Assets change only with a deployment; revalidating them costs little next to their size.
    r.get(`/_dashboard/assets/${file}`, () => new Response(asset.body, { headers: { "Content-Type": asset.contentType, "Cache-Control": "no-cache" } }));
  }

  r.get("/_dashboard/api/cluster", async (c) => {
    const { name } = clusterOf(c);
    const { placement, clusterSize } = config(c.env);
    const view = await clusterView(clusterClient(c.env, name), name, (id) => memberLocation(placement.locations, name, id, clusterSize) ?? "");
    return json(JSON.stringify(view), 200, { "Cache-Control": "no-store" });
  });

  r.all("/_dashboard", () => methodNotAllowed(["GET"]));
  r.all("/_dashboard/*", () => notFound());
  return r;
}

/** Off unless configured. */
async function enabledOnly(c: C, next: Next) {
  if (!config(c.env).dashboard) return notFound();
  await next();
}
