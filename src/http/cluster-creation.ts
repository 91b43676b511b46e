/**
 * Named clusters (/clusters/<name>) exist once created (src/server/founding.ts).
 * `PUT /clusters/<name>` creates one; so does its first use, where the
 * deployment has no admin token (as before there was one: `npm start` and
 * the tests keep that convenience). With an admin token, creating takes it,
 * and a name never created answers 404 on every path under it.
 *
 * Whether a cluster exists is its first founding member's answer: founding
 * members are created last-first, so once the first says yes, all of them
 * exist. A Durable Object asked that question and never created stays
 * empty: it writes nothing and sets no alarm.
 */
import { replicaStub } from "../placement.ts";
import { config, type Env } from "../env.ts";
import { goJSON, goJSONLine } from "../go/json.ts";
import { foundingMembers } from "../server/members.ts";
import { adminRequired, isAdmin } from "./admin-access.ts";
import { json } from "./go-http.ts";

/** Clusters this Worker instance has seen exist: creation is for good, so this never goes stale. */
const existing = new Set<string>();

/** Null when `name` exists (or, without an admin token, has just been created); otherwise the 404 to answer. */
export async function namedClusterGate(env: Env, name: string): Promise<Response | null> {
  if (existing.has(name)) return null;
  const [first] = founders(env, name);
  if (await first.created()) {
    existing.add(name);
    return null;
  }
  if (config(env).adminToken !== null) return json(goJSON({ message: `cluster ${name} does not exist` }), 404);
  await create(env, name);
  return null;
}

/** PUT /clusters/<name>: 201 when it was created now, 200 when it existed. */
export async function createClusterRoute(request: Request, env: Env, name: string): Promise<Response> {
  if (!(await isAdmin(request, config(env).adminToken))) return adminRequired();
  const created = await create(env, name);
  return json(goJSONLine({ cluster: name, created }), created ? 201 : 200);
}

/** Creates every founding member, the first one last; answers whether the cluster is new. */
async function create(env: Env, name: string): Promise<boolean> {
  const [first, ...others] = founders(env, name);
  await Promise.all(others.map((m) => m.create()));
  const created = await first.create();
  existing.add(name);
  return created;
}

function founders(env: Env, name: string) {
  return foundingMembers(name, config(env).clusterSize).map((m) => replicaStub(env, name, m.id));
}
