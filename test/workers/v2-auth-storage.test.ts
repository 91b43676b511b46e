/**
 * v2 auth state is replicated through Raft like the rest of the v2 store
 * (and stays out of reach of /v2/keys):
 * it survives every member restarting at once, from a snapshot and the log
 * after it. Passwords are hashed before they are proposed: no row of any
 * member's storage (log entries, snapshot chunks, anything else) ever holds
 * one in plain text.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Replica } from "../../src/replica/replica.ts";
import { bounded, clusterCall, founders, put, replica, SNAPSHOT_EVERY, waitUntil } from "./cluster-helpers.ts";

const cluster = "v2-auth-storage";
const ROOT_PASSWORD = `root-${crypto.randomUUID()}`;
const USER_PASSWORD = `user-${crypto.randomUUID()}`;
const NEW_PASSWORD = `changed-${crypto.randomUUID()}`;

const basic = (user: string, password: string) => ({ Authorization: `Basic ${btoa(`${user}:${password}`)}` });

async function auth(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<number> {
  const res = await clusterCall(cluster, `/v2/auth${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body), headers });
  await res.text();
  return res.status;
}

async function getAs(headers: Record<string, string>, key = "k"): Promise<number> {
  const res = await clusterCall(cluster, `/v2/keys/${key}`, { headers });
  await res.text();
  return res.status;
}

/** Every row of every table, and every key-value entry, of one member's storage, as text. */
function everythingStored(id: string): Promise<string> {
  const stub = replica(cluster, id) as unknown as DurableObjectStub<Replica>;
  return runInDurableObject(stub, async (_r: Replica, state) => {
    const sql = state.storage.sql;
    const names = sql.exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'`).toArray();
    const rows = names.map(({ name }) => JSON.stringify(sql.exec(`SELECT * FROM "${name}"`).toArray()));
    const kv = JSON.stringify([...state.storage.kv.list()]);
    return rows.join("\n") + kv;
  });
}

/** Every member's storage holds the password hashes, and none of the passwords. */
async function noPasswordStored(when: string): Promise<void> {
  for (const id of founders(cluster)) {
    const stored = await bounded(everythingStored(id), 10_000, `the storage of ${id}`);
    // The scan sees the auth records (their hashes), so it would see a password too.
    expect(stored, `${id} holds the hashes ${when}`).toContain("pbkdf2-sha256$100000$");
    for (const password of [ROOT_PASSWORD, USER_PASSWORD, NEW_PASSWORD]) {
      expect(stored.includes(password), `${id} holds a password in plain text ${when}`).toBe(false);
    }
  }
}

describe("v2 auth in storage", () => {
  it("survives every member restarting from a snapshot, and no stored row holds a password", async () => {
    expect(await auth("PUT", "/users/root", { user: "root", password: ROOT_PASSWORD })).toBe(201);
    expect(await auth("PUT", "/roles/reader", { role: "reader", permissions: { kv: { read: ["/k*"], write: [] } } })).toBe(201);
    expect(await auth("PUT", "/users/u", { user: "u", password: USER_PASSWORD, roles: ["reader"] })).toBe(200);
    expect((await put(cluster, "k", "v")).status).toBe(201);
    // The records live outside the keys: the whole tree is the one key.
    const tree = (await (await clusterCall(cluster, "/v2/keys/?recursive=true")).json()) as { node: { nodes: { key: string }[] } };
    expect(tree.node.nodes.map((n) => n.key)).toEqual(["/k"]);
    expect(await auth("PUT", "/enable")).toBe(200);
    expect(await auth("DELETE", "/roles/guest", undefined, basic("root", ROOT_PASSWORD))).toBe(200);
    expect(await auth("PUT", "/users/u", { user: "u", password: NEW_PASSWORD }, basic("root", ROOT_PASSWORD))).toBe(200);
    // While the log still holds the auth changes.
    await noPasswordStored("in the log");

    // Enough writes for every member to take a snapshot and compact its log past the auth changes.
    const root = basic("root", ROOT_PASSWORD);
    for (let i = 0; i < SNAPSHOT_EVERY; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, (_, k) =>
          clusterCall(cluster, `/v2/keys/fill/${i + k}`, { method: "PUT", body: "value=x", headers: { ...root, "Content-Type": "application/x-www-form-urlencoded" } }).then((r) => r.text()),
        ),
      );
    }
    await waitUntil(
      async () => ((await Promise.all(founders(cluster).map((id) => replica(cluster, id).logLength()))).every((n) => n < SNAPSHOT_EVERY) ? true : undefined),
      30_000,
      "every member has compacted its log",
    );

    for (const id of founders(cluster)) await replica(cluster, id).crash().catch(() => {});

    await waitUntil(async () => ((await getAs(basic("u", NEW_PASSWORD))) === 200 ? true : undefined), 30_000, "the user reads again after the restarts");
    const enabled = await clusterCall(cluster, "/v2/auth/enable");
    expect(await enabled.json()).toEqual({ enabled: true });
    expect(await getAs({}), "anonymous: no guest role").toBe(401);
    expect(await getAs(basic("u", USER_PASSWORD)), "the old password").toBe(401);
    expect(await getAs(basic("u", NEW_PASSWORD), "other"), "outside the user's patterns").toBe(401);
    expect(await getAs(basic("root", ROOT_PASSWORD), "other")).toBe(404);

    await noPasswordStored("after the snapshot and the restarts");
    expect(await auth("DELETE", "/enable", undefined, root)).toBe(200);
  });
});
