/**
 * v3 auth across a cluster's members: a token issued through one member
 * is known to every member (each resolves it itself, serving a
 * serializable read); auth, users, roles and tokens survive every member
 * restarting from a snapshot; no stored row ever holds a password; and a
 * verified client certificate's common name is the user of a request
 * that carries no token (CLIENT_CERT_AUTH is on in these tests).
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Replica } from "../../src/replica/replica.ts";
import { rangeRequest } from "../../src/v3/requests.ts";
import { bounded, clusterCall, founders, replica, SNAPSHOT_EVERY, waitUntil } from "./cluster-helpers.ts";

const cluster = "v3-auth";
const ROOT_PASSWORD = `root-${crypto.randomUUID()}`;
const USER_PASSWORD = `user-${crypto.randomUUID()}`;
const b64 = (s: string) => btoa(s);

async function v3(path: string, body: unknown, headers: Record<string, string> = {}, cf?: object): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await clusterCall(cluster, `/v3/${path}`, { method: "POST", body: JSON.stringify(body), headers, ...(cf ? { cf } : {}) } as RequestInit);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function token(name: string, password: string): Promise<string> {
  const r = await v3("auth/authenticate", { name, password });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  expect(r.body.token).toMatch(/^[A-Za-z]{16}\.\d+$/);
  return r.body.token as string;
}

function everythingStored(id: string): Promise<string> {
  const stub = replica(cluster, id) as unknown as DurableObjectStub<Replica>;
  return runInDurableObject(stub, async (_r: Replica, state) => {
    const sql = state.storage.sql;
    const names = sql.exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'`).toArray();
    return names.map(({ name }) => JSON.stringify(sql.exec(`SELECT * FROM "${name}"`).toArray())).join("\n") + JSON.stringify([...state.storage.kv.list()]);
  });
}

async function noPasswordStored(when: string): Promise<void> {
  for (const id of founders(cluster)) {
    const stored = await bounded(everythingStored(id), 10_000, `the storage of ${id}`);
    expect(stored, `${id} holds the hashes ${when}`).toContain("pbkdf2-sha256$100000$");
    for (const password of [ROOT_PASSWORD, USER_PASSWORD]) expect(stored.includes(password), `${id} holds a password ${when}`).toBe(false);
  }
}

/** A serializable read of `key` asked of member `id` itself, with `token`. */
async function readOn(id: string, key: string, tokenText: string) {
  return replica(cluster, id).v3({ method: "range", req: rangeRequest(key, { serializable: true }), token: tokenText });
}

const verified = (cn: string) => ({ tlsClientAuth: { certPresented: "1", certVerified: "SUCCESS", certSubjectDNRFC2253: `CN=${cn},O=Example`, certSubjectDN: `CN=${cn},O=Example` } });

describe("v3 auth in a cluster", () => {
  it("tokens work on every member, survive a snapshot and restarts, and no row holds a password", async () => {
    expect((await v3("auth/user/add", { name: "root", password: ROOT_PASSWORD })).status).toBe(200);
    expect((await v3("auth/user/grant", { user: "root", role: "root" })).status).toBe(200);
    expect((await v3("auth/role/add", { name: "app" })).status).toBe(200);
    expect((await v3("auth/role/grant", { name: "app", perm: { permType: "READWRITE", key: b64("app/"), range_end: b64("app0") } })).status).toBe(200);
    expect((await v3("auth/user/add", { name: "carol", password: USER_PASSWORD })).status).toBe(200);
    expect((await v3("auth/user/grant", { user: "carol", role: "app" })).status).toBe(200);
    expect((await v3("auth/enable", {})).status).toBe(200);

    const carol = await token("carol", USER_PASSWORD);
    const root = await token("root", ROOT_PASSWORD);
    expect((await v3("kv/put", { key: b64("app/x"), value: b64("1") }, { Authorization: carol })).status).toBe(200);
    expect((await v3("kv/put", { key: b64("other"), value: b64("1") }, { Authorization: carol })).status).toBe(403);
    await noPasswordStored("in the log");

    // Every member knows the token once it has applied the entry that issued it.
    for (const id of founders(cluster)) {
      const reply = await waitUntil(async () => {
        const r = await readOn(id, "app/x", carol);
        return r.ok ? r : undefined;
      }, 10_000, `member ${id} resolves the token`);
      expect(reply.ok).toBe(true);
      const refused = await readOn(id, "other", carol);
      expect(refused.ok ? null : refused.error, `member ${id} checks the permission`).toEqual({ code: 7, message: "etcdserver: permission denied" });
      const bogus = await readOn(id, "app/x", "abcdefghijklmnop.1");
      expect(bogus.ok ? null : bogus.error).toEqual({ code: 16, message: "etcdserver: invalid auth token" });
    }

    // Past a snapshot on every member, then every member restarts.
    for (let i = 0; i < SNAPSHOT_EVERY; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, k) => v3("kv/put", { key: b64(`fill/${i + k}`), value: b64("x") }, { Authorization: root })));
    }
    await waitUntil(
      async () => ((await Promise.all(founders(cluster).map((id) => replica(cluster, id).logLength()))).every((n) => n < SNAPSHOT_EVERY) ? true : undefined),
      30_000,
      "every member has compacted its log",
    );
    for (const id of founders(cluster)) await replica(cluster, id).crash().catch(() => {});

    await waitUntil(async () => ((await v3("kv/range", { key: b64("app/x") }, { Authorization: carol })).status === 200 ? true : undefined), 30_000, "carol's token works after the restarts");
    expect((await v3("kv/range", { key: b64("other") }, { Authorization: carol })).status).toBe(403);
    expect((await v3("kv/range", { key: b64("app/x") })).body.message).toBe("etcdserver: user name is empty");
    await noPasswordStored("after the snapshot and the restarts");

    // A client certificate's common name is the user when no token is sent.
    expect((await v3("kv/range", { key: b64("app/x") }, {}, verified("carol"))).status).toBe(200);
    expect((await v3("kv/range", { key: b64("other") }, {}, verified("carol"))).status).toBe(403);
    expect((await v3("kv/range", { key: b64("other") }, {}, verified("root"))).status).toBe(200);
    const unverified = { tlsClientAuth: { ...verified("root").tlsClientAuth, certVerified: "FAILED:self signed certificate" } };
    expect((await v3("kv/range", { key: b64("other") }, {}, unverified)).status, "an unverified certificate is nobody").toBe(400);
    expect((await v3("kv/range", { key: b64("other") }, { Authorization: carol }, verified("root"))).status, "a token wins over the certificate").toBe(403);

    expect((await v3("auth/disable", {}, { Authorization: root })).status).toBe(200);
  });
});
