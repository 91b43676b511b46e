// The discovery service inside workerd with real Durable Objects: token
// creation, the registry answers etcd 3.4's v2 discovery client relies on,
// watches, the rate limit and token expiry.
//
// Most requests go through the Worker's own default export; tests that need
// other settings (a 1 s token TTL, a tiny rate limit, a base URL) call the
// same Hono app with an env that overrides the variables, since the app reads
// its configuration from the env of each request.
import { env as rawEnv, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app.ts";
import type { Env } from "../../src/env.ts";
import { clusterClient } from "../../src/http/cluster-client.ts";
import { parseKeysRequest } from "../../src/v2/request.ts";
import { shardFor } from "../../src/discovery/token.ts";

const env = rawEnv as unknown as Env;
const worker = (exports as unknown as { default: Fetcher }).default;
const ORIGIN = "http://127.0.0.1";
const TOKEN_URL = /^http:\/\/127\.0\.0\.1\/([0-9a-f]{32})$/;
const TEXT = "text/plain; charset=utf-8";
const WEEK = 604800;

let addressCounter = 0;
/** A fresh client address per token request, so tests never share a rate-limit budget. */
function freshAddress(): string {
  addressCounter++;
  return `192.0.2.${addressCounter}`;
}

function call(path: string, init: RequestInit = {}, overrides?: Partial<Env>): Promise<Response> {
  const request = new Request(ORIGIN + path, init);
  if (overrides) return Promise.resolve(app.fetch(request, { ...env, ...overrides }));
  return worker.fetch(request);
}

function form(method: string, body: string, headers: Record<string, string> = {}): RequestInit {
  return { method, body, headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers } };
}

async function newToken(size = 3, overrides?: Partial<Env>): Promise<string> {
  const res = await call(`/new?size=${size}`, { headers: { "CF-Connecting-IP": freshAddress() } }, overrides);
  const body = await res.text();
  expect(res.status, body).toBe(200);
  const m = TOKEN_URL.exec(body);
  expect(m, body).not.toBeNull();
  return m![1];
}

async function json(res: Response): Promise<unknown> {
  return JSON.parse(await res.text());
}

const registry = (token: string) => `/_etcd/registry/${token}`;

describe("/new", () => {
  it("answers <origin>/<32 hex> as text/plain without newline, for GET, POST and PUT", async () => {
    for (const method of ["GET", "POST", "PUT"]) {
      const res = await call("/new", { method, headers: { "CF-Connecting-IP": freshAddress() } });
      expect(res.status).toBe(200);
      expect(res.headers.get("Content-Type")).toBe(TEXT);
      expect(await res.text()).toMatch(TOKEN_URL);
    }
  });

  it("gives different tokens each time", async () => {
    const tokens = new Set<string>();
    for (let i = 0; i < 5; i++) tokens.add(await newToken());
    expect(tokens.size).toBe(5);
  });

  it("stores the size given in the query, in a form body, or the default 3", async () => {
    const cases: [string, RequestInit, string][] = [
      ["/new", {}, "3"],
      ["/new?size=", {}, "3"],
      ["/new?size=1", {}, "1"],
      ["/new?size=1000", {}, "1000"],
      ["/new", form("POST", "size=5"), "5"],
      ["/new", form("PUT", "size=7"), "7"],
    ];
    for (const [path, init, size] of cases) {
      const headers = new Headers(init.headers);
      headers.set("CF-Connecting-IP", freshAddress());
      const res = await call(path, { ...init, headers });
      const token = TOKEN_URL.exec(await res.text())![1];
      const sizeRes = await call(`/${token}/_config/size`);
      const node = ((await json(sizeRes)) as { node: { value: string } }).node;
      expect(node.value, path).toBe(size);
    }
  });

  it("refuses sizes that are not a whole number from 1 to 1000 with 400", async () => {
    for (const size of ["0", "-1", "abc", "1001", "1.5", "+3", "3x", "99999999999999999999"]) {
      const res = await call(`/new?size=${encodeURIComponent(size)}`, { headers: { "CF-Connecting-IP": freshAddress() } });
      expect(res.status, size).toBe(400);
      expect(res.headers.get("Content-Type")).toBe(TEXT);
      expect(await res.text()).toBe(
        `invalid size ${JSON.stringify(size)}: size is the number of members that start the cluster, a whole number from 1 to 1000 (default 3)\n`,
      );
    }
  });

  it("refuses other methods with 405", async () => {
    const res = await call("/new", { method: "DELETE" });
    expect(res.status).toBe(405);
    expect(res.headers.get("Allow")).toBe("GET,POST,PUT");
    expect(await res.text()).toBe("Method Not Allowed\n");
  });

  it("uses DISCOVERY_BASE_URL (trailing slashes dropped) instead of the request's origin", async () => {
    const res = await call("/new", {}, { DISCOVERY_BASE_URL: "https://discovery.example.com/" });
    expect(await res.text()).toMatch(/^https:\/\/discovery\.example\.com\/[0-9a-f]{32}$/);
  });

  it("reports a malformed setting as a 500 that names it", async () => {
    const res = await call("/new", {}, { DISCOVERY_TOKEN_TTL_SECONDS: "a week" });
    expect(res.status).toBe(500);
    expect(await res.text()).toBe(
      'the discovery service is misconfigured: DISCOVERY_TOKEN_TTL_SECONDS must be a whole number from 1 to 315360000, not "a week": fix it in wrangler.jsonc "vars"\n',
    );
  });

  it("keeps each token in the replica of its first hex digit", async () => {
    const token = await newToken();
    const get = parseKeysRequest("GET", registry(token), new Map());
    expect((await clusterClient(env, shardFor(token)).keys(get)).status).toBe(200);
    const other = `discovery-${token[0] === "0" ? "1" : "0"}`;
    expect((await clusterClient(env, other).keys(get)).status).toBe(404);
    expect((await clusterClient(env, "default").keys(get)).status).toBe(404);
  });
});

describe("registry answers", () => {
  it("GET /<token> and /<token>/_config/size answer exactly as etcd's v2 keys API", async () => {
    const before = Date.now();
    const token = await newToken(3);
    const after = Date.now();

    const dirRes = await call(`/${token}`);
    expect(dirRes.status).toBe(200);
    expect(dirRes.headers.get("Content-Type")).toBe("application/json");
    const dirText = await dirRes.text();
    const dir = JSON.parse(dirText) as { node: { expiration: string; ttl: number; createdIndex: number } };
    const expiresAt = Date.parse(dir.node.expiration);
    expect(expiresAt).toBeGreaterThanOrEqual(before + WEEK * 1000);
    expect(expiresAt).toBeLessThanOrEqual(after + WEEK * 1000);
    // Whole seconds left, rounded up: a week, or a second less on a slow machine.
    expect([WEEK, WEEK - 1]).toContain(dir.node.ttl);
    const i = dir.node.createdIndex;
    expect(dirText).toBe(
      `{"action":"get","node":{"key":"${registry(token)}","dir":true,"expiration":"${dir.node.expiration}","ttl":${dir.node.ttl},` +
        `"modifiedIndex":${i},"createdIndex":${i}}}\n`,
    );
    // The size key was created right after the directory; nothing else wrote in between
    // unless another token landed in the same shard, so the header is at least i + 1.
    expect(Number(dirRes.headers.get("X-Etcd-Index"))).toBeGreaterThanOrEqual(i + 1);
    expect(dirRes.headers.get("X-Etcd-Cluster-Id")).toMatch(/^[0-9a-f]+$/);

    const sizeRes = await call(`/${token}/_config/size`);
    expect(sizeRes.status).toBe(200);
    expect(await sizeRes.text()).toBe(
      `{"action":"get","node":{"key":"${registry(token)}/_config/size","value":"3","modifiedIndex":${i + 1},"createdIndex":${i + 1}}}\n`,
    );
    expect(Number(sizeRes.headers.get("X-Etcd-Index"))).toBeGreaterThanOrEqual(i + 1);

    // The trailing-slash form etcd sends for a discovery URL ending in "/".
    const slash = await call(`/${token}/`);
    expect(slash.status).toBe(200);
    const ttlless = (t: string) => t.replace(/"ttl":\d+,/, "");
    expect(ttlless(await slash.text())).toBe(ttlless(dirText));
  });

  it("registers a member with prevExist=false (201) and refuses it twice with 105 (412)", async () => {
    const token = await newToken(3);
    const put = () => call(`/${token}/8b6a6da1cac5b433?prevExist=false`, form("PUT", "value=m1%3Dhttp%3A%2F%2F127.0.0.1%3A2380"));
    const first = await put();
    expect(first.status).toBe(201);
    const index = Number(first.headers.get("X-Etcd-Index"));
    expect(await first.text()).toBe(
      `{"action":"create","node":{"key":"${registry(token)}/8b6a6da1cac5b433","value":"m1=http://127.0.0.1:2380","modifiedIndex":${index},"createdIndex":${index}}}\n`,
    );

    const again = await put();
    expect(again.status).toBe(412);
    expect(again.headers.get("Content-Type")).toBe("application/json");
    const againIndex = Number(again.headers.get("X-Etcd-Index"));
    expect(againIndex).toBeGreaterThanOrEqual(index);
    expect(await again.text()).toBe(
      `{"errorCode":105,"message":"Key already exists","cause":"${registry(token)}/8b6a6da1cac5b433","index":${againIndex}}\n`,
    );

    // The listing shows the member, not _config, and the directory keeps its TTL.
    const list = (await json(await call(`/${token}`))) as { node: { ttl: number; nodes: unknown[] } };
    expect(list.node.ttl).toBeGreaterThan(WEEK - 5);
    expect(list.node.nodes).toEqual([
      { key: `${registry(token)}/8b6a6da1cac5b433`, value: "m1=http://127.0.0.1:2380", modifiedIndex: index, createdIndex: index },
    ]);
  });

  it("deletes a registration", async () => {
    const token = await newToken(1);
    await call(`/${token}/abc?prevExist=false`, form("PUT", "value=m1%3Dhttp%3A%2F%2Fa%3A1"));
    const del = await call(`/${token}/abc`, { method: "DELETE" });
    expect(del.status).toBe(200);
    const index = Number(del.headers.get("X-Etcd-Index"));
    const body = (await json(del)) as { action: string; node: { key: string; modifiedIndex: number } };
    expect(body.action).toBe("delete");
    expect(body.node.key).toBe(`${registry(token)}/abc`);
    expect(body.node.modifiedIndex).toBe(index);
    const gone = await call(`/${token}/abc`);
    expect(gone.status).toBe(404);
  });

  it("answers an unknown token with 100 (404) and X-Etcd-Index", async () => {
    // Make sure the shard already holds some token, so the missing component is the token itself.
    const known = await newToken();
    const unknown = known[0] + "0".repeat(31) === known ? known[0] + "1".repeat(31) : known[0] + "0".repeat(31);
    for (const path of [`/${unknown}`, `/${unknown}/_config/size`]) {
      const res = await call(path);
      expect(res.status).toBe(404);
      const index = res.headers.get("X-Etcd-Index");
      expect(index).toMatch(/^[0-9]+$/);
      expect(await res.text()).toBe(`{"errorCode":100,"message":"Key not found","cause":"${registry(unknown)}","index":${index}}\n`);
    }
  });

  it("treats only 32 lowercase hex characters as a token; everything else is the normal 404", async () => {
    const token = await newToken();
    for (const path of [`/${token.toUpperCase()}`, `/${token.slice(1)}`, `/${token}0`, `/${token}/a/b`, "/not-a-token"]) {
      const res = await call(path);
      expect(res.status, path).toBe(404);
      expect(await res.text()).toBe("404 page not found\n");
    }
  });

  it("keeps the token directory and _config read-only (405)", async () => {
    const token = await newToken();
    for (const [method, path] of [
      ["PUT", `/${token}`],
      ["DELETE", `/${token}`],
      ["PUT", `/${token}/_config/size`],
      ["DELETE", `/${token}/_config`],
      ["POST", `/${token}/abc`],
    ]) {
      const res = await call(path, { method });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(await res.text()).toBe("Method Not Allowed\n");
    }
    expect((await call(`/${token}/_config/size`)).status).toBe(200);
  });

  it("keeps its shards out of reach of the named-cluster API", async () => {
    const token = await newToken();
    for (const path of [`/clusters/${shardFor(token)}/v2/keys/_etcd/registry/${token}`, `/clusters/${shardFor(token)}/v2/members`]) {
      const res = await call(path);
      expect(res.status).toBe(404);
      expect(await res.text()).toBe("404 page not found\n");
    }
    expect((await call("/clusters/not-discovery/v2/keys/")).status).toBe(200);
  });

  it("leaves the etcd API and /health alone", async () => {
    const put = await call("/v2/keys/discovery-test", form("PUT", "value=x"));
    expect(put.status).toBeLessThan(300);
    expect(await (await call("/health")).text()).toBe('{"health":"true"}');
    expect((await call("/version")).status).toBe(200);
  });

  it("serves a landing page at / that explains /new and the etcd command line", async () => {
    const res = await call("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe(TEXT);
    const text = await res.text();
    expect(text).toContain("curl -s 'http://127.0.0.1/new?size=3'");
    expect(text).toContain("--discovery http://127.0.0.1/0123456789abcdef0123456789abcdef");
    expect(text).toContain("deleted 7 days after they are created");
    expect(text).toContain("at most 60 new tokens per minute per client address");
  });
});

describe("watches", () => {
  it("a recursive wait on the token returns the next registration", async () => {
    const token = await newToken(3);
    const head = await call(`/${token}`);
    const next = Number(head.headers.get("X-Etcd-Index")) + 1;
    const res = await call(`/${token}?recursive=true&wait=true&waitIndex=${next}`);
    // etcd sends a watch's headers at once and its body when the event happens.
    expect(res.status).toBe(200);
    const body = res.text();
    // This pause is the point and stays: with no registration yet, the body
    // must not arrive within it.
    const early = await Promise.race([body.then(() => "answered"), new Promise((r) => setTimeout(() => r("open"), 200))]);
    expect(early).toBe("open");

    const put = await call(`/${token}/aaaa?prevExist=false`, form("PUT", "value=m1%3Dhttp%3A%2F%2Fa%3A1"));
    const index = Number(put.headers.get("X-Etcd-Index"));
    expect(await body).toBe(
      `{"action":"create","node":{"key":"${registry(token)}/aaaa","value":"m1=http://a:1","modifiedIndex":${index},"createdIndex":${index}}}\n`,
    );
  });

  it("a wait from the member's createdIndex is answered from history at once (etcd's step 4)", async () => {
    const token = await newToken(3);
    const put = await call(`/${token}/bbbb?prevExist=false`, form("PUT", "value=m2%3Dhttp%3A%2F%2Fb%3A2"));
    const index = Number(put.headers.get("X-Etcd-Index"));
    expect(index).toBeGreaterThanOrEqual(3);
    const res = await call(`/${token}/bbbb?recursive=false&wait=true&waitIndex=${index}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(
      `{"action":"create","node":{"key":"${registry(token)}/bbbb","value":"m2=http://b:2","modifiedIndex":${index},"createdIndex":${index}}}\n`,
    );
  });
});

// Each token lands in one of 16 replicated shards; creating the shards' clusters takes a while.
describe("rate limit on /new", { timeout: 60_000 }, () => {
  it("allows 60 tokens per minute per address, then 429; other addresses still work", async () => {
    const ip = "198.51.100.7";
    for (let i = 0; i < 60; i++) {
      const res = await call("/new?size=1", { headers: { "CF-Connecting-IP": ip } });
      expect(res.status, `request ${i + 1}`).toBe(200);
      await res.text();
    }
    const refused = await call("/new?size=1", { headers: { "CF-Connecting-IP": ip } });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Content-Type")).toBe(TEXT);
    const retry = refused.headers.get("Retry-After")!;
    expect(Number(retry)).toBeGreaterThanOrEqual(1);
    expect(Number(retry)).toBeLessThanOrEqual(60);
    expect(await refused.text()).toBe(
      `too many new tokens: at most 60 per minute from one address (${ip}); try again in ${retry} s. A token is enough for a whole cluster.\n`,
    );
    // Bad sizes are refused before the limit is consulted; token routes are never limited.
    expect((await call("/new?size=0", { headers: { "CF-Connecting-IP": ip } })).status).toBe(400);

    const other = await call("/new?size=1", { headers: { "CF-Connecting-IP": "198.51.100.8" } });
    expect(other.status).toBe(200);
    expect(await other.text()).toMatch(TOKEN_URL);
  });

  it("counts a whole IPv6 /64 as one address and honours DISCOVERY_NEW_PER_MINUTE", async () => {
    const limit = { DISCOVERY_NEW_PER_MINUTE: "2" };
    const ask = (ip: string) => call("/new", { headers: { "CF-Connecting-IP": ip } }, limit);
    expect((await ask("2001:db8:aa:bb::1")).status).toBe(200);
    expect((await ask("2001:DB8:AA:BB:0:0:0:ffff")).status).toBe(200);
    const refused = await ask("2001:db8:aa:bb:1234::9");
    expect(refused.status).toBe(429);
    expect(await refused.text()).toContain("at most 2 per minute from one address (2001:db8:aa:bb::/64)");
    expect((await ask("2001:db8:aa:bc::1")).status).toBe(200);
  });

  it("is off with DISCOVERY_NEW_PER_MINUTE=0", async () => {
    for (let i = 0; i < 5; i++) {
      const res = await call("/new", { headers: { "CF-Connecting-IP": "203.0.113.250" } }, { DISCOVERY_NEW_PER_MINUTE: "0" });
      expect(res.status).toBe(200);
      await res.text();
    }
  });
});

describe("token expiry", () => {
  it("deletes the token, its size and its registrations after DISCOVERY_TOKEN_TTL_SECONDS", async () => {
    const short = { DISCOVERY_TOKEN_TTL_SECONDS: "2" };
    const token = await newToken(1, short);
    const put = await call(`/${token}/cccc?prevExist=false`, form("PUT", "value=m1%3Dhttp%3A%2F%2Fc%3A1"));
    expect(put.status).toBe(201);
    const listed = (await json(await call(`/${token}`))) as { node: { ttl: number } };
    expect([1, 2]).toContain(listed.node.ttl);

    // The replica's alarm expires the directory with no request arriving: a
    // watch opened now receives the expire event.
    const index = Number(put.headers.get("X-Etcd-Index"));
    const watch = await call(`/${token}?recursive=true&wait=true&waitIndex=${index + 1}`);
    const event = (await json(watch)) as { action: string; node: { key: string; dir: boolean } };
    expect(event.action).toBe("expire");
    expect(event.node.key).toBe(registry(token));
    expect(event.node.dir).toBe(true);

    for (const path of [`/${token}`, `/${token}/_config/size`, `/${token}/cccc`]) {
      const res = await call(path);
      expect(res.status, path).toBe(404);
      const i = res.headers.get("X-Etcd-Index");
      expect(await res.text()).toBe(`{"errorCode":100,"message":"Key not found","cause":"${registry(token)}","index":${i}}\n`);
    }
  });
});

describe("v3 discovery watch", () => {
  // Found by the fuzz run (seed 1): a stream whose requests name no token was a 500.
  it.each([["{}\n"], [""], ["{\n"], ['{"cancel_request":{"watch_id":"1"}}\n']])("refuses a stream that creates no watch (%j) as a bad request", async (body) => {
    const res = await call("/discovery/v3/watch", { method: "POST", body });
    const text = await res.text();
    expect(res.status, text).toBe(400);
    expect(JSON.parse(text).code).toBe(3);
  });

  // Found by the fuzz run (seed 2): a message over the stream's limit was a 500.
  it("refuses a message over the stream limit as etcd's request too large", async () => {
    const res = await call("/discovery/v3/watch", { method: "POST", body: `{"key":"${"x".repeat(2 * 1024 * 1024)}"}\n` });
    const text = await res.text();
    expect(res.status, text).toBe(400);
    expect(JSON.parse(text).error).toBe("etcdserver: request is too large");
  });
});
