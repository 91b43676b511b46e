/**
 * Client certificates as identity on the v2 API, as etcd's --client-cert-auth:
 * with auth on and no Authorization header, the common name of the
 * certificate Cloudflare verified (request.cf.tlsClientAuth) names the user,
 * whose roles decide; a name that is no user is the guest; a basic-auth
 * header still takes precedence. (The workers tests run with CLIENT_CERT_AUTH on.)
 */
import { describe, expect, it } from "vitest";
import { clusterCall } from "./cluster-helpers.ts";

const cluster = "v2-cert";
const FORM = { "Content-Type": "application/x-www-form-urlencoded" };
const ROOT = { Authorization: `Basic ${btoa("root:rootpw")}` };
const verified = (cn: string) => ({ tlsClientAuth: { certPresented: "1", certVerified: "SUCCESS", certSubjectDNRFC2253: `CN=${cn},O=Example`, certSubjectDN: `CN=${cn},O=Example` } });

async function call(path: string, init: Omit<RequestInit, "cf"> & { cf?: object }): Promise<{ status: number; body: string }> {
  const res = await clusterCall(cluster, path, init as RequestInit);
  return { status: res.status, body: await res.text() };
}

const auth = (path: string, body: unknown, headers: Record<string, string> = ROOT) =>
  call(`/v2/auth/${path}`, { method: "PUT", body: JSON.stringify(body), headers: { ...headers, "Content-Type": "application/json" } });

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
});
