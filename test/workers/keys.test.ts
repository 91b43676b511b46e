/**
 * /v2/keys end to end inside workerd: the reference's worked examples (§13)
 * with exact status, headers and bodies, HEAD, 405, OPTIONS, bad input and
 * store stats. Storage is shared by the tests in this file, so every test
 * uses its own key prefix and index numbers relative to the current index.
 */
import { describe, expect, it } from "vitest";
import { CID, CORS, call, errorHeaders, headersOf, okHeaders, position, storeStats, write } from "./helpers.ts";

describe("worked examples (§13)", () => {
  it("1-3, 12-18: create, overwrite, missing key, in-order key, directories, listing, deletes", async () => {
    const { index: b, raft: r } = await position();
    let res = await write("PUT", "/v2/keys/ex/message", "value=Hello+world");
    expect(res.status).toBe(201);
    expect(headersOf(res)).toEqual(okHeaders(b + 1, r + 1));
    expect(await res.text()).toBe(
      `{"action":"set","node":{"key":"/ex/message","value":"Hello world","modifiedIndex":${b + 1},"createdIndex":${b + 1}}}\n`,
    );

    res = await write("PUT", "/v2/keys/ex/message", "value=Hello+etcd");
    expect(res.status).toBe(200);
    expect(headersOf(res)).toEqual(okHeaders(b + 2, r + 2));
    expect(await res.text()).toBe(
      `{"action":"set","node":{"key":"/ex/message","value":"Hello etcd","modifiedIndex":${b + 2},"createdIndex":${b + 2}},` +
        `"prevNode":{"key":"/ex/message","value":"Hello world","modifiedIndex":${b + 1},"createdIndex":${b + 1}}}\n`,
    );

    res = await call("/v2/keys/ex/nope/deeper");
    expect(res.status).toBe(404);
    expect(headersOf(res)).toEqual(errorHeaders(b + 2));
    expect(await res.text()).toBe(`{"errorCode":100,"message":"Key not found","cause":"/ex/nope","index":${b + 2}}\n`);

    const q = String(b + 3).padStart(20, "0");
    res = await write("POST", "/v2/keys/ex/queue", "value=Job1");
    expect(res.status).toBe(201);
    expect(headersOf(res)).toEqual(okHeaders(b + 3, r + 3));
    expect(await res.text()).toBe(
      `{"action":"create","node":{"key":"/ex/queue/${q}","value":"Job1","modifiedIndex":${b + 3},"createdIndex":${b + 3}}}\n`,
    );

    res = await write("PUT", "/v2/keys/ex/dir", "dir=true");
    expect(res.status).toBe(201);
    expect(await res.text()).toBe(
      `{"action":"set","node":{"key":"/ex/dir","dir":true,"modifiedIndex":${b + 4},"createdIndex":${b + 4}}}\n`,
    );
    res = await write("PUT", "/v2/keys/ex/dir", "dir=true");
    expect(res.status).toBe(403);
    expect(headersOf(res)).toEqual(errorHeaders(b + 4));
    expect(await res.text()).toBe(`{"errorCode":102,"message":"Not a file","cause":"/ex/dir","index":${b + 4}}\n`);

    res = await write("PUT", "/v2/keys/ex/dir", "ttl=30&dir=true&prevExist=true");
    expect(res.status).toBe(200);
    const upd = await res.json<{ node: { expiration: string; ttl: number; modifiedIndex: number } }>();
    expect(upd).toEqual({
      action: "update",
      node: { key: "/ex/dir", dir: true, expiration: upd.node.expiration, ttl: 30, modifiedIndex: b + 5, createdIndex: b + 4 },
      prevNode: { key: "/ex/dir", dir: true, modifiedIndex: b + 4, createdIndex: b + 4 },
    });
    const exp = Date.parse(upd.node.expiration);
    expect(Math.abs(exp - (Date.now() + 30_000))).toBeLessThan(5_000);

    // hidden keys stay out of the listing
    await write("PUT", "/v2/keys/ex/_hidden", "value=h"); // b+6
    res = await call("/v2/keys/ex?recursive=true&sorted=true");
    expect(res.status).toBe(200);
    expect(headersOf(res)).toEqual(okHeaders(b + 6, r + 6));
    const listing = await res.json<{ node: { nodes: { ttl?: number }[] } }>();
    const ttl = listing.node.nodes[0].ttl;
    expect(ttl === 30 || ttl === 29).toBe(true);
    expect(listing).toEqual({
      action: "get",
      node: {
        key: "/ex",
        dir: true,
        nodes: [
          { key: "/ex/dir", dir: true, expiration: upd.node.expiration, ttl, modifiedIndex: b + 4, createdIndex: b + 4 },
          { key: "/ex/message", value: "Hello etcd", modifiedIndex: b + 2, createdIndex: b + 2 },
          {
            key: "/ex/queue",
            dir: true,
            nodes: [{ key: `/ex/queue/${q}`, value: "Job1", modifiedIndex: b + 3, createdIndex: b + 3 }],
            modifiedIndex: b + 3,
            createdIndex: b + 3,
          },
        ],
        modifiedIndex: b + 1,
        createdIndex: b + 1,
      },
    });

    res = await call("/v2/keys/ex/queue?dir=true", { method: "DELETE" });
    expect(res.status).toBe(403);
    expect(await res.text()).toBe(`{"errorCode":108,"message":"Directory not empty","cause":"/ex/queue","index":${b + 6}}\n`);
    res = await call("/v2/keys/ex/queue", { method: "DELETE" });
    expect(res.status).toBe(403);
    expect(await res.text()).toBe(`{"errorCode":102,"message":"Not a file","cause":"/ex/queue","index":${b + 6}}\n`);
    res = await call("/v2/keys/ex/queue?recursive=true", { method: "DELETE" });
    expect(res.status).toBe(200);
    expect(headersOf(res)).toEqual(okHeaders(b + 7, r + 7));
    expect(await res.text()).toBe(
      `{"action":"delete","node":{"key":"/ex/queue","dir":true,"modifiedIndex":${b + 7},"createdIndex":${b + 3}},` +
        `"prevNode":{"key":"/ex/queue","dir":true,"modifiedIndex":${b + 3},"createdIndex":${b + 3}}}\n`,
    );

    res = await call("/v2/keys/?recursive=true", { method: "DELETE" });
    expect(res.status).toBe(400);
    expect(headersOf(res)).toEqual(errorHeaders(b + 7));
    expect(await res.text()).toBe(`{"errorCode":107,"message":"Root is read only","cause":"/","index":${b + 7}}\n`);
    // root compareAndDelete: 102 without a cause
    res = await call("/v2/keys/?prevValue=x", { method: "DELETE" });
    expect(res.status).toBe(403);
    expect(await res.text()).toBe(`{"errorCode":102,"message":"Not a file","index":${b + 7}}\n`);
  });

  it("4-8: TTL, removing a TTL, refresh, refresh with a value, bad TTL", async () => {
    const { index: b } = await position();
    let res = await write("PUT", "/v2/keys/ttl/foo", "value=bar&ttl=5");
    expect(res.status).toBe(201);
    const set = await res.json<{ node: { expiration: string } }>();
    const exp1 = set.node.expiration;
    expect(exp1).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$/);
    expect(set).toEqual({
      action: "set",
      node: { key: "/ttl/foo", value: "bar", expiration: exp1, ttl: 5, modifiedIndex: b + 1, createdIndex: b + 1 },
    });

    res = await write("PUT", "/v2/keys/ttl/foo", "value=bar&ttl=&prevExist=true");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      action: "update",
      node: { key: "/ttl/foo", value: "bar", modifiedIndex: b + 2, createdIndex: b + 1 },
      prevNode: { key: "/ttl/foo", value: "bar", expiration: exp1, ttl: 5, modifiedIndex: b + 1, createdIndex: b + 1 },
    });

    res = await write("PUT", "/v2/keys/ttl/foo", "ttl=5&refresh=true&prevExist=true");
    expect(res.status).toBe(200);
    const refreshed = await res.json<{ node: { expiration: string } }>();
    expect(refreshed).toEqual({
      action: "update",
      node: { key: "/ttl/foo", value: "bar", expiration: refreshed.node.expiration, ttl: 5, modifiedIndex: b + 3, createdIndex: b + 1 },
      prevNode: { key: "/ttl/foo", value: "bar", modifiedIndex: b + 2, createdIndex: b + 1 },
    });

    res = await call("/v2/keys/ttl/foo?refresh=true&value=x&ttl=5", { method: "PUT" });
    expect(res.status).toBe(400);
    expect(headersOf(res)).toEqual(errorHeaders(0));
    expect(await res.text()).toBe(
      '{"errorCode":211,"message":"Value provided on refresh","cause":"A value was provided on a refresh","index":0}\n',
    );
    res = await write("PUT", "/v2/keys/ttl/foo", "value=x&ttl=abc");
    expect(res.status).toBe(400);
    expect(headersOf(res)).toEqual(errorHeaders(0));
    expect(await res.text()).toBe(
      '{"errorCode":202,"message":"The given TTL in POST form is not a number","cause":"invalid value for \\"ttl\\"","index":0}\n',
    );
    expect((await position()).index).toBe(b + 3);
  });

  it("9-11, 21: create-only failure, CAS, CAD, noValueOnSuccess", async () => {
    const { index: b } = await position();
    await write("PUT", "/v2/keys/cas/foo", "value=one"); // b+1
    let res = await write("PUT", "/v2/keys/cas/foo?prevExist=false", "value=three");
    expect(res.status).toBe(412);
    expect(headersOf(res)).toEqual(errorHeaders(b + 1));
    expect(await res.text()).toBe(`{"errorCode":105,"message":"Key already exists","cause":"/cas/foo","index":${b + 1}}\n`);

    res = await write("PUT", "/v2/keys/cas/foo?prevValue=two", "value=x");
    expect(res.status).toBe(412);
    expect(await res.text()).toBe(`{"errorCode":101,"message":"Compare failed","cause":"[two != one]","index":${b + 1}}\n`);
    res = await write("PUT", "/v2/keys/cas/foo?prevValue=bad&prevIndex=100", "value=x");
    expect(await res.text()).toBe(
      `{"errorCode":101,"message":"Compare failed","cause":"[bad != one] [100 != ${b + 1}]","index":${b + 1}}\n`,
    );
    res = await write("PUT", "/v2/keys/cas/foo?prevIndex=18446744073709551615", "value=x");
    expect(await res.text()).toBe(
      `{"errorCode":101,"message":"Compare failed","cause":"[18446744073709551615 != ${b + 1}]","index":${b + 1}}\n`,
    );
    res = await write("PUT", "/v2/keys/cas/foo?prevValue=one", "value=two");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(
      `{"action":"compareAndSwap","node":{"key":"/cas/foo","value":"two","modifiedIndex":${b + 2},"createdIndex":${b + 1}},` +
        `"prevNode":{"key":"/cas/foo","value":"one","modifiedIndex":${b + 1},"createdIndex":${b + 1}}}\n`,
    );

    res = await call("/v2/keys/cas/foo?prevIndex=1", { method: "DELETE" });
    expect(res.status).toBe(412);
    expect(await res.text()).toBe(`{"errorCode":101,"message":"Compare failed","cause":"[1 != ${b + 2}]","index":${b + 2}}\n`);
    res = await call("/v2/keys/cas/foo?prevValue=two", { method: "DELETE" });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(
      `{"action":"compareAndDelete","node":{"key":"/cas/foo","modifiedIndex":${b + 3},"createdIndex":${b + 1}},` +
        `"prevNode":{"key":"/cas/foo","value":"two","modifiedIndex":${b + 2},"createdIndex":${b + 1}}}\n`,
    );

    res = await write("PUT", "/v2/keys/cas/nv?noValueOnSuccess=true", "value=one");
    expect(res.status).toBe(201);
    expect(await res.text()).toBe('{"action":"set"}\n');
    res = await call("/v2/keys/cas/nv?noValueOnSuccess=true", { method: "DELETE" });
    expect(await res.text()).toBe(
      `{"action":"delete","node":{"key":"/cas/nv","modifiedIndex":${b + 5},"createdIndex":${b + 4}},` +
        `"prevNode":{"key":"/cas/nv","value":"one","modifiedIndex":${b + 4},"createdIndex":${b + 4}}}\n`,
    );
  });

  it("parameters: body beats query, non-form bodies are ignored, path escapes, wait on HEAD is 209", async () => {
    let res = await call("/v2/keys/params/k?value=fromquery", { method: "PUT", body: "value=frombody", headers: { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" } });
    expect(JSON.parse(await res.text()).node.value).toBe("frombody");
    res = await call("/v2/keys/params/j?value=fromquery", { method: "PUT", body: "value=frombody", headers: { "Content-Type": "application/json" } });
    expect(JSON.parse(await res.text()).node.value).toBe("fromquery");
    res = await call("/v2/keys/params/a%20b+c", { method: "PUT", body: "value=a+b%26c", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expect(JSON.parse(await res.text()).node).toMatchObject({ key: "/params/a b+c", value: "a b&c" });
    res = await call("/v2/keys/params/k?wait=true", { method: "HEAD" });
    expect(res.status).toBe(400);
    const waitErr = '{"errorCode":209,"message":"Invalid field","cause":"\\"wait\\" can only be used with GET requests","index":0}\n';
    expect(headersOf(res)).toEqual({ ...errorHeaders(0), "content-length": String(waitErr.length) });
    expect(await res.text()).toBe("");
  });
});

describe("HTTP conventions", () => {
  it("HEAD runs as GET: same status and headers, Content-Length of the would-be body, no body", async () => {
    await write("PUT", "/v2/keys/head/k", "value=v");
    const get = await call("/v2/keys/head/k");
    const body = await get.text();
    const head = await call("/v2/keys/head/k", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(headersOf(head)).toEqual({ ...headersOf(get), "content-length": String(body.length) });
    expect(await head.text()).toBe("");
    const missing = await call("/v2/keys/head/missing", { method: "HEAD" });
    expect(missing.status).toBe(404);
    const { index } = await position();
    const errBody = `{"errorCode":100,"message":"Key not found","cause":"/head/missing","index":${index}}\n`;
    expect(headersOf(missing)).toEqual({ ...errorHeaders(index), "content-length": String(errBody.length) });
  });

  it("405 with Allow for unknown methods, plain text, no cluster id", async () => {
    const cases: [string, string, string][] = [
      ["PATCH", "/v2/keys/foo", "HEAD,GET,PUT,POST,DELETE"],
      ["POST", "/v2/stats/store", "GET"],
      ["PUT", "/v2/stats/self", "GET"],
      ["DELETE", "/v2/stats/leader", "GET"],
      ["POST", "/v2/machines", "GET,HEAD"],
      ["PUT", "/version", "GET"],
      ["POST", "/health", "GET"],
      ["HEAD", "/v2/members", "GET,POST,DELETE,PUT"],
    ];
    for (const [method, path, allow] of cases) {
      const res = await call(path, { method });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(headersOf(res)).toMatchObject({
        ...CORS,
        allow,
        "content-type": "text/plain; charset=utf-8",
        "x-content-type-options": "nosniff",
      });
      expect(res.headers.get("x-etcd-cluster-id")).toBe(null);
      expect(await res.text()).toBe(method === "HEAD" ? "" : "Method Not Allowed\n");
    }
  });

  it("OPTIONS gets a bare 200 with the CORS headers, on any path", async () => {
    for (const path of ["/v2/keys/foo", "/v2/members", "/nothing/here"]) {
      const res = await call(path, { method: "OPTIONS" });
      expect(res.status).toBe(200);
      expect(headersOf(res)).toEqual(CORS);
      expect(await res.text()).toBe("");
    }
  });

  it("unknown paths are Go's 404; uncleaned paths are 301 to the cleaned one", async () => {
    let res = await call("/v2/nothing");
    expect(res.status).toBe(404);
    expect(await res.text()).toBe("404 page not found\n");
    res = await call("/v2/keys/a//b?x=1", { redirect: "manual" });
    expect(res.status).toBe(301);
    expect(res.headers.get("location")).toBe("/v2/keys/a/b?x=1");
    await res.text();
  });
});

describe("bad input leaves stored data intact", () => {
  it("rejects bad requests with exact errors and no change to the key or the index", async () => {
    await write("PUT", "/v2/keys/bad/k", "value=orig");
    const before = await (await call("/v2/keys/bad/k")).text();
    const { index } = await position();
    const cases: [RequestInit & { path: string }, number, string][] = [
      [{ path: "/v2/keys/bad/k", method: "PUT", body: "value=" + "x".repeat(1.5 * 1024 * 1024 + 1) }, 210, "http: POST too large"],
      [{ path: "/v2/keys/bad/k", method: "PUT", body: "value=%zz" }, 210, 'invalid URL escape \\"%zz\\"'],
      [{ path: "/v2/keys/bad/k?value=%4", method: "PUT" }, 210, 'invalid URL escape \\"%4\\"'],
      [{ path: "/v2/keys/bad/k?value=a;b", method: "PUT" }, 210, "invalid semicolon separator in query"],
      [{ path: "/v2/keys/bad/k", method: "PUT", body: "value=new&ttl=-1" }, 202, 'invalid value for \\"ttl\\"'],
      [{ path: "/v2/keys/bad/k", method: "PUT", body: "value=new&prevIndex=x" }, 203, 'invalid value for \\"prevIndex\\"'],
      [{ path: "/v2/keys/bad/k?prevIndex=-5", method: "DELETE" }, 203, 'invalid value for \\"prevIndex\\"'],
      [{ path: "/v2/keys/bad/k?wait=true&waitIndex=abc", method: "GET" }, 203, 'invalid value for \\"waitIndex\\"'],
      [{ path: "/v2/keys/bad/k?recursive", method: "DELETE" }, 209, 'invalid value for \\"recursive\\"'],
      [{ path: "/v2/keys/bad/k", method: "PUT", body: "value=new&prevExist=maybe" }, 209, "invalid value for prevExist"],
      [{ path: "/v2/keys/bad/k", method: "PUT", body: "prevValue=" }, 201, '\\"prevValue\\" cannot be empty'],
      [{ path: "/v2/keys/bad/k", method: "PUT", body: "refresh=true" }, 212, "No TTL value set"],
    ];
    const messages: Record<number, string> = {
      201: "PrevValue is Required in POST form",
      202: "The given TTL in POST form is not a number",
      203: "The given index in POST form is not a number",
      209: "Invalid field",
      210: "Invalid POST form",
      212: "A TTL must be provided on refresh",
    };
    for (const [{ path, ...init }, code, cause] of cases) {
      const res = await call(path, { ...init, headers: { "Content-Type": "application/x-www-form-urlencoded" } });
      expect(res.status, path).toBe(400);
      expect(headersOf(res)).toEqual(errorHeaders(0));
      expect(await res.text()).toBe(`{"errorCode":${code},"message":"${messages[code]}","cause":"${cause}","index":0}\n`);
    }
    // a malformed escape in the key path is refused too
    const res = await call("/v2/keys/bad/k%zz", { method: "PUT", body: "value=new", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(400);
    await res.text();
    expect(await (await call("/v2/keys/bad/k")).text()).toBe(before);
    expect((await position()).index).toBe(index);
  });

  it("a malformed Content-Type is 210 with the mime error", async () => {
    const res = await call("/v2/keys/bad/ct", { method: "PUT", body: "value=x", headers: { "Content-Type": "text/" } });
    expect(res.status).toBe(400);
    expect(await res.text()).toBe('{"errorCode":210,"message":"Invalid POST form","cause":"mime: expected token after slash","index":0}\n');
  });

  it("a value just under the limit and a 4 KB key work", async () => {
    const key = "k".repeat(4096);
    let res = await write("PUT", `/v2/keys/big/${key}`, "value=v");
    expect(res.status).toBe(201);
    await res.text();
    res = await call(`/v2/keys/big/${key}`);
    expect(res.status).toBe(200);
    expect((await res.json<{ node: { key: string; value: string } }>()).node).toMatchObject({ key: `/big/${key}`, value: "v" });
    const big = "y".repeat(1024 * 1024);
    res = await write("PUT", "/v2/keys/big/value", "value=" + big);
    expect(res.status).toBe(201);
    await res.text();
    res = await call("/v2/keys/big/value");
    expect((await res.json<{ node: { value: string } }>()).node.value.length).toBe(big.length);
  });
});

describe("/v2/stats/store", () => {
  it("counts each store call as etcd does, its auth-check read included; parse errors count nothing", async () => {
    await write("PUT", "/v2/keys/st/f", "value=v");
    await write("PUT", "/v2/keys/st/d/x", "value=v");
    const before = await storeStats();
    const ops: [string, RequestInit][] = [
      ["/v2/keys/st/f", {}], // get ok
      ["/v2/keys/st/f", { method: "HEAD" }], // get ok
      ["/v2/keys/st/nope", {}], // get fail
      ["/v2/keys/st/f?quorum=true", {}], // get ok
      ["/v2/keys/st/g", { method: "PUT", body: "value=1", headers: { "Content-Type": "application/x-www-form-urlencoded" } }], // set ok
      ["/v2/keys/st/d", { method: "PUT", body: "value=1", headers: { "Content-Type": "application/x-www-form-urlencoded" } }], // set fail
      ["/v2/keys/st/f/x?prevExist=false", { method: "PUT" }], // create fail + setsFail (104 quirk)
      ["/v2/keys/st/g?prevExist=true&value=2", { method: "PUT" }], // update ok
      ["/v2/keys/?prevExist=true", { method: "PUT" }], // update on root: 107 counted as success
      ["/v2/keys/st/g?prevValue=zzz&value=3", { method: "PUT" }], // CAS fail
      ["/v2/keys/st/g?prevValue=zzz", { method: "DELETE" }], // CAD compare fail: counted as success
      ["/v2/keys/st/g?prevValue=2", { method: "DELETE" }], // CAD ok
      ["/v2/keys/st/nope", { method: "DELETE" }], // delete fail
      ["/v2/keys/st/f?ttl=x", { method: "PUT" }], // parse error: nothing
    ];
    for (const [path, init] of ops) await (await call(path, init)).text();
    const after = await storeStats();
    expect(Object.keys(after)).toEqual(Object.keys(before));
    const delta = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k]]).filter(([, v]) => v !== 0));
    expect(delta).toEqual({
      getsSuccess: 3,
      // One real failed get, plus etcd's failed auth-check read for each of the
      // 13 requests that got past parsing (reference §6).
      getsFail: 1 + 13,
      setsSuccess: 1,
      setsFail: 2,
      createFail: 1,
      updateSuccess: 2,
      compareAndSwapFail: 1,
      compareAndDeleteSuccess: 2,
      deleteFail: 1,
    });
    const res = await call("/v2/stats/store");
    expect(headersOf(res)).toEqual({ ...CORS, "content-type": "application/json" });
    expect((await res.text()).endsWith("}")).toBe(true);
    expect(CID).toMatch(/^[0-9a-f]{1,16}$/);
  });
});

describe("deep keys", () => {
  it("stores, lists recursively and deletes a key of the maximum depth; one level more is refused", async () => {
    const { MAX_KEY_DEPTH } = await import("../../src/v2/request.ts");
    const deep = "/deep" + "/d".repeat(MAX_KEY_DEPTH - 1);
    expect((await write("PUT", `/v2/keys${deep}`, "value=bottom")).status).toBe(201);
    const listing = await call("/v2/keys/deep?recursive=true");
    expect(listing.status).toBe(200);
    let node = (await listing.json<{ node: { nodes?: unknown[]; value?: string } }>()).node;
    let levels = 1;
    while (node.nodes) {
      node = node.nodes[0] as typeof node;
      levels++;
    }
    expect([levels, node.value]).toEqual([MAX_KEY_DEPTH, "bottom"]);
    const tooDeep = await write("PUT", `/v2/keys${deep}/one-more`, "value=x");
    expect(tooDeep.status).toBe(400);
    expect((await tooDeep.json<{ errorCode: number }>()).errorCode).toBe(209);
    expect((await call("/v2/keys/deep?recursive=true", { method: "DELETE" })).status).toBe(200);
  });
});
