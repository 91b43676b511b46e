// What the v2 auth tests share. Auth is a whole cluster's state and the
// compat run shares one etcd and one server of ours between every file, so
// these tests leave things as they found them: auth disabled, no users, no
// roles. What they cannot undo is etcd's internal auth records (its /2
// directories), created by the first auth write ever; they take store
// indexes, so prepareAuth() creates them up front on every target, and
// sequences compare index offsets from the same starting point on each.
import { DEFAULT_CLUSTER, NAMED_CLUSTER } from "./clusters";
import { targets } from "./compare";
import { send, type RawResponse } from "./http";

export const ROOT_PASSWORD = "root-pw";
export const ROOT = `root:${ROOT_PASSWORD}`;

/** Every cluster the run compares: etcd's, and each of ours (whichever COMPAT_CLUSTERS picks). */
export function authTargets(): string[] {
  const t = targets();
  if (t.oursKind !== "worker") return [t.etcd, t.ours];
  return [t.etcd, ...[DEFAULT_CLUSTER, NAMED_CLUSTER].map((c) => t.ours + c.root)];
}

function call(url: string, method: string, path: string, auth?: string): Promise<RawResponse> {
  const u = new URL(url);
  const headers = auth ? { Authorization: `Basic ${Buffer.from(auth).toString("base64")}` } : undefined;
  return send(u.origin, { method, path: u.pathname.replace(/\/$/, "") + path, headers });
}

/** Creates etcd's internal auth records on every target (a delete of a role that is not there: 404, but the records stay). */
export async function prepareAuth(): Promise<void> {
  for (const url of authTargets()) {
    const r = await call(url, "DELETE", "/v2/auth/roles/compat-no-such-role");
    if (r.status !== 404) throw new Error(`preparing auth on ${url}: ${r.status} ${r.body}`);
  }
}

/** Auth disabled (with the tests' root password), every user and role deleted, on every target. */
export async function resetAuth(): Promise<void> {
  for (const url of authTargets()) {
    await call(url, "DELETE", "/v2/auth/enable", ROOT);
    const users = JSON.parse((await call(url, "GET", "/v2/auth/users")).body) as { users: { user: string }[] | null };
    for (const u of users.users ?? []) await call(url, "DELETE", `/v2/auth/users/${encodeURIComponent(u.user)}`);
    const roles = JSON.parse((await call(url, "GET", "/v2/auth/roles")).body) as { roles: { role: string }[] };
    for (const r of roles.roles) if (r.role !== "root") await call(url, "DELETE", `/v2/auth/roles/${encodeURIComponent(r.role)}`);
    const enabled = await call(url, "GET", "/v2/auth/enable");
    if (!enabled.body.includes('"enabled":false')) throw new Error(`auth is still enabled on ${url}: ${enabled.body}`);
  }
}
