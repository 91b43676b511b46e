/**
 * Client certificates as identity on the v2 API, as etcd's --client-cert-auth:
 * with auth on and no Authorization header, the common name of the
 * certificate Cloudflare verified (request.cf.tlsClientAuth) names the user,
 * whose roles decide; a basic-auth header still takes precedence. For keys,
 * a name that is no user is the guest; for the auth API and members changes
 * (etcd's hasRootAccess) the user must hold the root role, and a name that
 * is no user is refused. (The workers tests run with CLIENT_CERT_AUTH on.)
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app.ts";
import type { Env } from "../../src/env.ts";
import { clusterCall } from "./cluster-helpers.ts";
import { ORIGIN } from "./helpers.ts";

const cluster = "v2-cert";
const FORM = { "Content-Type": "application/x-www-form-urlencoded" };
const JSON_TYPE = { "Content-Type": "application/json" };
const ROOT = { Authorization: `Basic ${btoa("root:rootpw")}` };
const verified = (cn: string) => ({ tlsClientAuth: { certPresented: "1", certVerified: "SUCCESS", certSubjectDNRFC2253: `CN=${cn},O=Example`, certSubjectDN: `CN=${cn},O=Example` } });

type Init = Omit<RequestInit, "cf"> & { cf?: object };

async function call(path: string, init: Init, on = cluster): Promise<{ status: number; body: string }> {
  const res = await clusterCall(on, path, init as RequestInit, 30_000);
  return { status: res.status, body: await res.text() };
}

const auth = (path: string, body: unknown, headers: Record<string, string> = ROOT, cf?: object, on = cluster) =>
  call(`/v2/auth/${path}`, { method: "PUT", body: JSON.stringify(body), headers: { ...headers, "Content-Type": "application/json" }, cf }, on);

const put = (key: string, cf?: object, headers: Record<string, string> = {}) =>
  call(`/v2/keys/${key}`, { method: "PUT", body: "value=1", headers: { ...FORM, ...headers }, cf });

describe("v2 client certificates", { timeout: 60_000 }, () => {
  it("name the user when no Authorization header is sent; an unknown name is the guest; basic auth comes first", async () => {
    expect((await auth("users/root", { user: "root", password: "rootpw" }, {})).status).toBe(201);
    expect((await call("/v2/auth/enable", { method: "PUT" })).status).toBe(200);
    expect((await auth("roles/guest", { role: "guest", revoke: { kv: { read: ["/*"], write: ["/*"] } } })).status).toBe(200);
    expect((await auth("roles/certs", { role: "certs", permissions: { kv: { read: ["/cert/*"], write: ["/cert/*"] } } })).status).toBe(201);
    expect((await auth("users/alice", { user: "alice", password: "alicepw" })).status).toBe(201);
    expect((await auth("users/alice", { user: "alice", grant: ["certs"] })).status).toBe(200);

    const refused = { status: 401, body: expect.stringContaining('"errorCode":110') };
    expect(await put("cert/x", verified("alice"))).toMatchObject({ status: 201 });
    expect(await put("cert/x"), "no certificate: the guest, who may do nothing now").toMatchObject(refused);
    expect(await put("other", verified("alice")), "outside alice's role").toMatchObject(refused);
    expect(await put("cert/y", verified("nobody")), "a name that is no user: the guest").toMatchObject(refused);
    const unverified = { tlsClientAuth: { ...verified("alice").tlsClientAuth, certVerified: "FAILED:self signed certificate" } };
    expect(await put("cert/z", unverified), "a certificate Cloudflare did not verify").toMatchObject(refused);
    expect(await put("cert/w", verified("alice"), { Authorization: `Basic ${btoa("alice:wrong")}` }), "basic auth comes first").toMatchObject(refused);
    const read = await call("/v2/keys/cert/x", { method: "GET", cf: verified("alice") });
    expect(read.status).toBe(200);
    expect(JSON.parse(read.body).node.value).toBe("1");
  });

  it("name the root user for the auth API and members changes; any other name, or an unverified certificate, is refused", async () => {
    const on = "v2-cert-root";
    const asRoot = verified("root");
    // Set up with basic auth: root, then auth on; from here on the certificate alone is enough.
    expect((await auth("users/root", { user: "root", password: "rootpw" }, {}, undefined, on)).status).toBe(201);
    expect((await call("/v2/auth/enable", { method: "PUT", headers: ROOT }, on)).status).toBe(200);

    const users = await call("/v2/auth/users", { method: "GET", cf: asRoot }, on);
    expect(users.status).toBe(200);
    expect(JSON.parse(users.body).users.map((u: { user: string }) => u.user)).toEqual(["root"]);
    expect((await auth("users/bob", { user: "bob", password: "bobpw" }, {}, asRoot, on)).status).toBe(201);
    const role = { role: "ops", permissions: { kv: { read: ["/ops/*"], write: [] } } };
    expect((await auth("roles/ops", role, {}, asRoot, on)).status).toBe(201);
    expect(await auth("users/bob", { user: "bob", grant: ["ops"] }, {}, asRoot, on)).toEqual({
      status: 200,
      body: '{"user":"bob","roles":["ops"]}\n',
    });
    const added = await call("/v2/members", { method: "POST", body: JSON.stringify({ peerURLs: ["http://10.0.0.9:2380"] }), headers: JSON_TYPE, cf: asRoot }, on);
    expect(added.status, added.body).toBe(201);
    const id = JSON.parse(added.body).id as string;
    expect(await call(`/v2/members/${id}`, { method: "DELETE", cf: asRoot }, on)).toEqual({ status: 204, body: "" });

    // etcd's writeNoAuth: 401 {"message":"Insufficient credentials"}, no newline.
    const refused = { status: 401, body: '{"message":"Insufficient credentials"}' };
    const unverified = { tlsClientAuth: { ...asRoot.tlsClientAuth, certVerified: "FAILED:self signed certificate" } };
    const notPresented = { tlsClientAuth: { ...asRoot.tlsClientAuth, certPresented: "0" } };
    // Cloudflare verifies a revoked certificate too, and says so apart.
    const revoked = { tlsClientAuth: { ...asRoot.tlsClientAuth, certRevoked: "1" } };
    for (const [why, cf] of [
      ["a user without the root role", verified("bob")],
      ["a name that is no user (no guest here)", verified("nobody")],
      ["a certificate Cloudflare did not verify", unverified],
      ["a revoked certificate", revoked],
      ["no certificate presented", notPresented],
      ["no certificate at all", undefined],
    ] as const) {
      expect(await call("/v2/auth/users", { method: "GET", cf }, on), why).toEqual(refused);
      expect(await auth("roles/more", { role: "more" }, {}, cf, on), why).toEqual(refused);
      expect(await call("/v2/auth/enable", { method: "DELETE", cf }, on), why).toEqual(refused);
      expect(await call("/v2/members/1234", { method: "DELETE", cf }, on), why).toEqual(refused);
    }
    // The Authorization header decides when there is one, whatever the certificate says.
    expect(await call("/v2/auth/users", { method: "GET", cf: asRoot, headers: { Authorization: `Basic ${btoa("root:wrong")}` } }, on)).toEqual(refused);
    expect((await call("/v2/auth/users", { method: "GET", cf: verified("bob"), headers: ROOT }, on)).status).toBe(200);
    // What etcd does not check: GET /v2/auth/enable (hasWriteRootAccess), GET /v2/members, /v2/stats.
    expect(await call("/v2/auth/enable", { method: "GET", cf: verified("bob") }, on)).toEqual({ status: 200, body: '{"enabled":true}\n' });
    expect((await call("/v2/members", { method: "GET" }, on)).status).toBe(200);
    expect((await call("/v2/stats/self", { method: "GET" }, on)).status).toBe(200);

    // With CLIENT_CERT_AUTH off the certificate is no one.
    const off = { ...(env as unknown as Env), CLIENT_CERT_AUTH: "false" } as Env;
    const ctx = createExecutionContext();
    const res = await app.fetch(new Request(`${ORIGIN}/clusters/${on}/v2/auth/users`, { cf: asRoot } as RequestInit), off, ctx);
    expect({ status: res.status, body: await res.text() }).toEqual(refused);
    await waitOnExecutionContext(ctx);
  });
});
