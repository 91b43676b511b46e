/**
 * Fault injection for testing a running server, only when the configuration
 * variable DEBUG_FAULTS is "true" (on for `npm start`, off in production):
 *
 *   POST /_debug/members/<id>/crash   restart that replica: memory lost, storage kept
 *   POST /_debug/partition            {"groups": [["<id>"], ["<id>", "<id>"]]}: replicas
 *                                     in different groups (or in none) cannot reach each other
 *   POST /_debug/heal                 every replica reaches every other again
 *
 * On a deployment with an admin token, each needs that token (src/http/admin-access.ts).
 */
import { Hono, type Context } from "hono";
import { config, type Env } from "../env.ts";
import { clusterClient } from "./cluster-client.ts";
import { adminRequired, isAdmin } from "./admin-access.ts";
import type { ClusterRef } from "./etcd-routes.ts";
import { goJSON } from "../go/json.ts";
import { httpError, json, notFound } from "./go-http.ts";
import { readCappedText } from "./capped-body.ts";

type C = Context<{ Bindings: Env }>;

export function debugRoutes(clusterOf: (c: C) => ClusterRef): Hono<{ Bindings: Env }> {
  const r = new Hono<{ Bindings: Env }>();
  r.use("/_debug/*", async (c, next) => {
    if (!config(c.env).debugFaults) return notFound();
    if (!(await isAdmin(c.req.raw, config(c.env).adminToken))) return adminRequired();
    if (c.req.method !== "POST") return httpError(405, "use POST");
    await next();
  });

  r.post("/_debug/members/:id/crash", async (c) => {
    const api = clusterClient(c.env, clusterOf(c).name);
    const id = c.req.param("id");
    const { members } = await api.status();
    if (!members.some((m) => m.id === id)) return httpError(404, `No such member: ${id}`);
    // The replica aborts itself, so the call itself fails: that is the success case.
    await api.member(id).crash().catch(() => {});
    return json(goJSON({ crashed: id }));
  });

  r.post("/_debug/partition", async (c) => {
    const api = clusterClient(c.env, clusterOf(c).name);
    const groups = await readGroups(c);
    if (typeof groups === "string") return httpError(400, groups);
    const { members } = await api.status();
    const ids = members.map((m) => m.id);
    const unknown = groups.flat().filter((id) => !ids.includes(id));
    if (unknown.length) return httpError(400, `not members of this cluster: ${unknown.join(", ")}`);
    const groupOf = (id: string) => groups.findIndex((g) => g.includes(id));
    await Promise.all(
      ids.map((id) => {
        const g = groupOf(id);
        const cut = ids.filter((other) => other !== id && (g < 0 || groupOf(other) !== g));
        return api.member(id).isolateFrom(cut);
      }),
    );
    return json(goJSON({ groups }));
  });

  r.post("/_debug/heal", async (c) => {
    const api = clusterClient(c.env, clusterOf(c).name);
    const { members } = await api.status();
    await Promise.all(members.map((m) => api.member(m.id).isolateFrom([])));
    return json(goJSON({ healed: members.map((m) => m.id) }));
  });

  return r;
}

async function readGroups(c: C): Promise<string[][] | string> {
  let body: unknown;
  try {
    body = JSON.parse(await readCappedText(c.req.raw));
  } catch {
    return 'the body must be JSON: {"groups": [["<member id>", ...], ...]}';
  }
  const groups = (body as { groups?: unknown })?.groups;
  if (!Array.isArray(groups) || !groups.every((g) => Array.isArray(g) && g.every((id) => typeof id === "string"))) {
    return 'the body must be JSON: {"groups": [["<member id>", ...], ...]}';
  }
  return groups as string[][];
}
