/**
 * A deployment's admin token (ADMIN_TOKEN): with it set, a named cluster
 * exists only once created with the token (asking about one creates
 * nothing), and members changes and the fault API take the token; without
 * it, a named cluster is created on first use, as before. The router is
 * called with an env that carries the token; the replicas behave the same
 * either way (they never see it).
 */
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app.ts";
import type { Env } from "../../src/env.ts";
import type { Replica } from "../../src/replica/replica.ts";
import { founders, replica } from "./cluster-helpers.ts";
import { call, ORIGIN } from "./helpers.ts";

const TOKEN = "test-admin-token-0123456789";
const withToken = { ...(env as unknown as Env), ADMIN_TOKEN: TOKEN } as Env;
const ADMIN = { Authorization: `Bearer ${TOKEN}` };
const REQUIRED = { message: "admin token required: send the deployment's ADMIN_TOKEN as Authorization: Bearer" };

/** A request to the router of a deployment with the admin token set. */
async function deployed(path: string, init: RequestInit = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(ORIGIN + path, init), withToken, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body, headers: res.headers };
}

/** Tables in a replica's database: none for one that was never created. */
function tables(cluster: string, id: string): Promise<string[]> {
  const stub = replica(cluster, id) as unknown as DurableObjectStub<Replica>;
  return runInDurableObject(stub, (_instance: Replica, state) =>
    state.storage.sql
      .exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'`)
      .toArray()
      .map((r) => r.name),
  );
}

describe("with ADMIN_TOKEN set", () => {
  it("an unknown named cluster is 404 on every path, and asking creates nothing", async () => {
    const cluster = "admin-unknown";
    for (const path of ["/v2/keys/", "/v2/keys/a?wait=true", "/v2/members", "/v3/kv/range", "/version", "/v2/auth/enable"]) {
      const r = await deployed(`/clusters/${cluster}${path}`, { method: path.startsWith("/v3") ? "POST" : "GET", body: path.startsWith("/v3") ? "{}" : undefined });
      expect([path, r.status, r.body]).toEqual([path, 404, { message: `cluster ${cluster} does not exist` }]);
    }
    expect((await deployed(`/clusters/${cluster}/v2/keys/a`, { method: "PUT", body: "value=1", headers: ADMIN })).status, "not even with the token").toBe(404);
    for (const id of founders(cluster)) {
      expect(await replica(cluster, id).created()).toBe(false);
      expect(await tables(cluster, id), `${id} wrote nothing`).toEqual([]);
    }
  });

  it("PUT /clusters/<name> creates one with the token only; then it serves without it", async () => {
    const cluster = "admin-created";
    const attempts: Record<string, string>[] = [{}, { Authorization: "Bearer wrong-token-0123456789" }, { Authorization: `Basic ${btoa(`root:${TOKEN}`)}` }];
    for (const headers of attempts) {
      const refused = await deployed(`/clusters/${cluster}`, { method: "PUT", headers });
      expect([refused.status, refused.body, refused.headers.get("WWW-Authenticate")]).toEqual([401, REQUIRED, 'Bearer realm="admin"']);
    }
    expect(await replica(cluster, founders(cluster)[0]).created()).toBe(false);

    const created = await deployed(`/clusters/${cluster}`, { method: "PUT", headers: ADMIN });
    expect([created.status, created.body]).toEqual([201, { cluster, created: true }]);
    const again = await deployed(`/clusters/${cluster}`, { method: "PUT", headers: ADMIN });
    expect([again.status, again.body]).toEqual([200, { cluster, created: false }]);
    for (const id of founders(cluster)) expect(await replica(cluster, id).created()).toBe(true);

    const put = await deployed(`/clusters/${cluster}/v2/keys/a`, { method: "PUT", body: "value=1", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expect([put.status, put.body.node?.value]).toEqual([201, "1"]);
    expect((await deployed(`/clusters/${cluster}/v2/keys/a`)).body.node.value).toBe("1");
  });

  it("members changes (v2 and v3) and the fault API take the token; reads and the discovery service do not", async () => {
    const v2 = [
      ["POST", "/v2/members", JSON.stringify({ peerURLs: ["http://10.0.0.9:2380"] })],
      ["PUT", "/v2/members/1234", JSON.stringify({ peerURLs: ["http://10.0.0.9:2380"] })],
      ["DELETE", "/v2/members/1234", undefined],
      ["POST", "/_debug/heal", undefined],
    ] as const;
    for (const [method, path, body] of v2) {
      const r = await deployed(path, { method, body, headers: { "Content-Type": "application/json" } });
      expect([method, path, r.status, r.body]).toEqual([method, path, 401, REQUIRED]);
    }
    for (const path of ["/v3/cluster/member/add", "/v3/cluster/member/remove", "/v3/cluster/member/update", "/v3/cluster/member/promote", "/v3beta/cluster/member/remove"]) {
      const r = await deployed(path, { method: "POST", body: JSON.stringify({ ID: "4660", peerURLs: ["http://10.0.0.9:2380"] }) });
      expect([path, r.status, r.body]).toEqual([path, 401, { error: REQUIRED.message, message: REQUIRED.message, code: 16 }]);
    }

    // With the token, each goes on to its own answer.
    expect((await deployed("/v2/members/1234", { method: "DELETE", headers: ADMIN })).body).toEqual({ message: "No such member: 1234" });
    const v3 = await deployed("/v3/cluster/member/remove", { method: "POST", body: JSON.stringify({ ID: "4660" }), headers: ADMIN });
    expect(v3.body.message).toBe("etcdserver: member not found");
    expect((await deployed("/_debug/heal", { method: "POST", headers: ADMIN })).status).toBe(200);

    expect((await deployed("/v2/members")).status).toBe(200);
    expect((await deployed("/v3/cluster/member/list", { method: "POST", body: "{}" })).status).toBe(200);
    expect((await deployed("/v2/keys/")).status, "the default cluster needs no creating").toBe(200);
    const token = await deployed("/new?size=3");
    expect([token.status, typeof token.body]).toEqual([200, "string"]);
  });
});

describe("without ADMIN_TOKEN", () => {
  it("a named cluster is created on first use, and PUT /clusters/<name> needs no token", async () => {
    const cluster = "admin-open";
    expect(await replica(cluster, founders(cluster)[0]).created()).toBe(false);
    const res = await call(`/clusters/${cluster}/v2/keys/`);
    expect(res.status).toBe(200);
    await res.text();
    for (const id of founders(cluster)) expect(await replica(cluster, id).created()).toBe(true);
    const put = await call("/clusters/admin-open-2", { method: "PUT" });
    expect([put.status, await put.json()]).toEqual([201, { cluster: "admin-open-2", created: true }]);
  });
});
