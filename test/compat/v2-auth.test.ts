// etcd's v2 auth API side by side with etcd 3.4: users, roles, the root user
// and role, the guest role, enabling and disabling, HTTP basic auth on keys,
// watches and members changes, and every error etcd answers, with the store
// indexes each auth write takes. Every sequence leaves auth disabled with no
// users and roles (see harness/v2-auth.ts), also when it fails.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startEtcd, type Server } from "./harness/processes";
import { awaitWatch, DELETE, GET, HEAD, PUT, REQ, sequence, statsDelta, statsMark, streamLines, targets, watch } from "./harness/compare";
import { send } from "./harness/http";
import { prepareAuth, resetAuth, ROOT, ROOT_PASSWORD } from "./harness/v2-auth";

const U = "/v2/auth/users";
const R = "/v2/auth/roles";
const j = (v: unknown) => ({ body: JSON.stringify(v) });
const b64 = (s: string) => Buffer.from(s).toString("base64");

beforeAll(prepareAuth);
afterEach(resetAuth);

describe("v2 auth: users", () => {
  sequence("auth-users", [
    REQ("PUT", `${U}/root`, { ...j({ user: "root" }), note: "no password: 400, and nothing written" }),
    GET(U, { note: "no users: null" }),
    REQ("PUT", `${U}/root`, { ...j({ user: "root", password: ROOT_PASSWORD }), note: "created (201) with the root role" }),
    GET("/v2/keys{p}/none", { note: "a user takes one store index" }),
    REQ("PUT", `${U}/root`, { ...j({ user: "root", password: ROOT_PASSWORD }), note: "the same again: an update (a new salt)" }),
    REQ("PUT", `${U}/alice`, { ...j({ user: "alice", password: "a", roles: ["r2", "ghost"] }), note: "with roles: create only, 200, roles as given" }),
    REQ("PUT", `${U}/alice`, { ...j({ user: "alice", password: "a", roles: ["r2"] }), note: "exists: 409" }),
    GET(`${U}/alice`, { note: "a role that does not exist: 404" }),
    GET(U, { note: "...and left out of the list" }),
    REQ("PUT", `${U}/alice`, { body: '{"user":"alice"}', note: "unsorted roles come back sorted: a change" }),
    REQ("PUT", `${U}/alice`, { body: '{"user":"alice"}', note: "then nothing changes: 400" }),
    REQ("PUT", `${U}/bob`, j({ user: "bob", password: "b" })),
    REQ("PUT", `${U}/bob`, { body: '{"user":"bob"}', note: "nil roles become []: a change" }),
    REQ("PUT", `${U}/bob`, j({ user: "bob", grant: ["r1"] })),
    REQ("PUT", `${U}/bob`, { ...j({ user: "bob", grant: ["r1"] }), note: "granted twice: 409" }),
    REQ("PUT", `${U}/bob`, { ...j({ user: "bob", revoke: ["r9"] }), note: "revoking what is not held: 409" }),
    REQ("PUT", `${U}/bob`, { ...j({ user: "bob", roles: ["r2"], revoke: ["r1"] }), note: "roles with grant/revoke: 400" }),
    REQ("PUT", `${U}/bob`, { body: '{"USER":"bob","Password":"b2","Grant":["r0"]} trailing', note: "Go's decoder: any case, first value only" }),
    REQ("PUT", `${U}/bob`, { body: "null", note: "null: an empty user, so the names differ" }),
    REQ("PUT", `${U}/bob`, { body: "", note: "no JSON" }),
    REQ("PUT", `${U}/bob`, { body: '{"user":"bob","roles":"r1"}', note: "a string where a list goes" }),
    REQ("PUT", `${U}/bob`, { ...j({ user: "bobby" }), note: "the names differ" }),
    REQ("PUT", `${U}/carl`, { ...j({ user: "carl", grant: ["r1"] }), note: "updating a missing user: 404" }),
    REQ("PUT", `${U}/root`, j({ user: "root", revoke: ["root"] })),
    GET(`${U}/root`, { note: "root keeps the root role" }),
    REQ("PUT", `${U}/root`, { ...j({ user: "root", grant: ["root"] }), note: "so granting it is a duplicate" }),
    GET(`${U}/nobody`),
    DELETE(`${U}/nobody`),
    DELETE(`${U}/bob`),
    DELETE(`${U}/alice`),
    DELETE(`${U}/root`, { note: "allowed while auth is off" }),
    GET("/v2/keys{p}/none", { note: "indexes taken by all of the above" }),
  ]);

  sequence("auth-paths", [
    REQ("POST", U),
    REQ("PUT", `${U}/`),
    HEAD(U),
    REQ("POST", `${U}/x`),
    REQ("POST", "/v2/auth/enable"),
    GET(`${U}/a/b`, { note: "deeper paths: 400 before anything else" }),
    REQ("DELETE", `${R}/a/b`),
    GET(`${U}/a%2Fb`),
    GET(`${U}/a%20b`),
    GET(`${U}/`),
    GET(`${R}/`),
    GET(`${U}?x=1`),
    GET("/v2/auth"),
    GET("/v2/auth/"),
    GET("/v2/auth/enable/"),
    GET("/v2/auth/other"),
  ]);
});

describe("v2 auth: roles", () => {
  sequence("auth-roles", [
    GET(R, { note: "only the root role" }),
    GET(`${R}/root`),
    REQ("PUT", `${R}/r1`, j({ role: "r1" })),
    REQ("PUT", `${R}/r1`, { ...j({ role: "r1" }), note: "exists: 409" }),
    REQ("PUT", `${R}/r2`, j({ role: "r2", permissions: { kv: { read: ["/foo/*", "/bar"], write: ["/foo/*"] } } })),
    GET(`${R}/r2`),
    REQ("PUT", `${R}/r1`, j({ role: "r1", grant: { kv: { read: ["/x*", "/a"] } } })),
    REQ("PUT", `${R}/r1`, { ...j({ role: "r1", grant: { kv: { read: ["/x*"] } } }), note: "a read pattern granted twice: 409" }),
    REQ("PUT", `${R}/r1`, { ...j({ role: "r1", grant: { kv: { write: ["/w", "/w"] } } }), note: "a write pattern twice in one grant: 409" }),
    REQ("PUT", `${R}/r1`, { ...j({ role: "r1", revoke: { kv: { read: ["/nope"] } } }), note: "nothing to revoke: 400" }),
    REQ("PUT", `${R}/r1`, j({ role: "r1", revoke: { kv: { read: ["/x*"] } } })),
    REQ("PUT", `${R}/q1`, { ...j({ role: "q1", grant: { kv: {} } }), note: "an empty grant makes a create, and is stored with the role" }),
    GET(`${R}/q1`),
    REQ("PUT", `${R}/q1`, { ...j({ role: "q1", revoke: { kv: { read: ["/z"] } } }), note: "the stored grant makes this a change" }),
    REQ("PUT", `${R}/root`, j({ role: "root" })),
    REQ("PUT", `${R}/root`, j({ role: "root", grant: { kv: { read: ["/a"] } } })),
    REQ("PUT", `${R}/zz`, { ...j({ role: "zz", grant: { kv: { read: ["/x*"] } } }), note: "updating a missing role: 404" }),
    REQ("PUT", `${R}/r1`, { ...j({ role: "r1", permissions: { kv: { read: ["/a"] } }, grant: { kv: { read: ["/b"] } } }), note: "permissions with grant: 400" }),
    REQ("PUT", `${R}/r1`, j({ role: "r2" })),
    REQ("PUT", `${R}/r1`, { body: "{" }),
    REQ("PUT", `${R}/r1`, { body: '{"role":"r1","permissions":{"kv":{"read":[1]}}}' }),
    GET(R),
    DELETE(`${R}/root`),
    DELETE(`${R}/nobody`),
    DELETE(`${R}/r1`),
    DELETE(`${R}/r2`),
    DELETE(`${R}/q1`),
    GET(`${R}/r1`),
    GET("/v2/keys{p}/none", { note: "indexes taken by all of the above" }),
  ]);
});

describe("v2 auth: enabled", () => {
  // The user u may read {p}/r* and write {p}/r/*.
  const setUp = [
    REQ("PUT", "/v2/auth/enable", { note: "no root user yet: 409" }),
    REQ("PUT", `${U}/root`, j({ user: "root", password: ROOT_PASSWORD })),
    REQ("PUT", `${R}/rw`, j({ role: "rw", permissions: { kv: { read: ["{p}/r*"], write: ["{p}/r/*"] } } })),
    REQ("PUT", `${U}/u`, j({ user: "u", password: "up", roles: ["rw"] })),
    PUT("/v2/keys{p}/r/a", { value: "before" }, { note: "auth is still off" }),
    REQ("PUT", "/v2/auth/enable", { note: "creates the guest role (full access), then enables" }),
  ];

  sequence("auth-keys", [
    ...setUp,
    GET("/v2/auth/enable", { note: "open to all" }),
    GET(`${R}/guest`, { auth: ROOT }),
    GET(R, { note: "the auth API needs root" }),
    GET(R, { auth: "u:up", note: "a user without the root role" }),
    GET(R, { auth: "root:wrong" }),
    REQ("PUT", "/v2/auth/enable", { auth: ROOT, note: "already: 409" }),
    REQ("PUT", "/v2/auth/enable"),
    GET("/v2/keys{p}/r/a", { note: "anonymous: the guest role may read everything" }),
    GET("/v2/keys", { note: 'the key "" is outside the guest\'s /*' }),
    GET("/v2/keys{p}/r/a", { auth: "u:up" }),
    HEAD("/v2/keys{p}/r/a", { auth: "u:up" }),
    PUT("/v2/keys{p}/r/b", { value: "1" }, { auth: "u:up" }),
    POST_AS("/v2/keys{p}/r/q", "u:up"),
    PUT("/v2/keys{p}/r", { value: "1" }, { auth: "u:up", note: "write {p}/r/* does not cover {p}/r" }),
    GET("/v2/keys{p}/r?recursive=true&sorted=true", { auth: "u:up", note: "read {p}/r* covers the listing" }),
    GET("/v2/keys{p}/r/?recursive=true&sorted=true", { auth: "u:up" }),
    GET("/v2/keys{p}?recursive=true", { auth: "u:up", note: "not below the pattern: 401" }),
    GET("/v2/keys{p}/r/a?quorum=true", { auth: "u:up" }),
    DELETE("/v2/keys{p}/r/b", { auth: "u:up" }),
    DELETE("/v2/keys{p}/r?recursive=true", { auth: "u:up", note: "a recursive write needs a star pattern" }),
    GET("/v2/keys{p}/r/a", { auth: "u:wrong" }),
    GET("/v2/keys{p}/r/a", { auth: "nobody:x" }),
    GET("/v2/keys{p}/r/a", { auth: "Bearer abc" }),
    GET("/v2/keys{p}/r/a", { auth: "Basic !!!" }),
    GET("/v2/keys{p}/r/a", { auth: `basic ${b64("u:up")}`, note: "the scheme in any case" }),
    GET("/v2/keys{p}/r/a", { auth: `Basic ${b64("u:up").replace(/=+$/, "")}`, note: "base64 without its padding" }),
    GET("/v2/keys{p}/r/a", { auth: `Basic ${b64("u-up")}`, note: "no colon" }),
    REQ("PUT", `${R}/guest`, { ...j({ role: "guest", revoke: { kv: { write: ["/*"] } } }), auth: ROOT }),
    PUT("/v2/keys{p}/r/c", { value: "1" }, { note: "the guest may no longer write" }),
    GET("/v2/keys{p}/r/a", { auth: ROOT, note: "root reads everything" }),
    REQ("DELETE", `${R}/guest`, { auth: ROOT }),
    GET("/v2/keys{p}/r/a", { note: "no guest role: anonymous clients are refused" }),
    REQ("DELETE", "/v2/members/1234", { note: "members changes need root" }),
    REQ("DELETE", "/v2/members/1234", { auth: "u:up" }),
    REQ("DELETE", "/v2/members/1234", { auth: ROOT, note: "root: on to the members API's own 404" }),
    REQ("PUT", "/v2/members", { auth: "u:up", note: "the check comes before the method's" }),
    REQ("DELETE", `${U}/root`, { auth: ROOT, note: "403 while enabled" }),
    REQ("DELETE", "/v2/auth/enable", { note: "disabling needs root" }),
    REQ("DELETE", "/v2/auth/enable", { auth: ROOT }),
    REQ("DELETE", "/v2/auth/enable", { auth: ROOT, note: "already: 409" }),
    GET("/v2/keys{p}/r/a", { note: "auth off: everyone again" }),
    GET("/v2/keys{p}/none", { note: "indexes taken by all of the above" }),
  ]);

  sequence("auth-watches", [
    ...setUp,
    REQ("PUT", `${R}/guest`, { ...j({ role: "guest", revoke: { kv: { read: ["/*"], write: ["/*"] } } }), auth: ROOT }),
    watch("user", "/v2/keys{p}/r/a?wait=true", "a user's watch waits", "u:up"),
    watch("wrong", "/v2/keys{p}/r/a?wait=true", "a wrong password is refused at once", "u:wrong"),
    awaitWatch("wrong"),
    watch("anonymous", "/v2/keys{p}/r/a?wait=true", "so is a guest without read access"),
    awaitWatch("anonymous"),
    watch("outside", "/v2/keys{p}/other?wait=true", "and a user outside its patterns", "u:up"),
    awaitWatch("outside"),
    PUT("/v2/keys{p}/r/a", { value: "after" }, { auth: "u:up" }),
    awaitWatch("user"),
    watch("history", "/v2/keys{p}/r?wait=true&recursive=true&waitIndex={idx:1}", "from history: auth writes take indexes no watch sees", "u:up"),
    awaitWatch("history"),
    watch("root", "/v2/keys/?wait=true&recursive=true&waitIndex={idx:1}", "on the whole keyspace too", ROOT),
    awaitWatch("root"),
    watch("stream", "/v2/keys{p}/r/a?wait=true&stream=true&waitIndex={idx:1}", "a stream from history", "u:up"),
    streamLines("stream", 1),
    REQ("DELETE", "/v2/auth/enable", { auth: ROOT }),
  ]);

  // Every keys request reads etcd's internal auth records to check access
  // (enabled?, the guest role, the user, each role): /v2/stats/store counts
  // those reads, successful or not.
  sequence("auth-stats", [
    ...setUp,
    statsMark(),
    GET("/v2/keys{p}/r/a"),
    GET("/v2/keys{p}/r/a", { auth: "u:up" }),
    GET("/v2/keys{p}/r/a", { auth: "u:wrong" }),
    GET("/v2/keys{p}/other", { auth: "u:up" }),
    GET("/v2/keys{p}/r/a", { auth: "nobody:x" }),
    GET("/v2/keys{p}/r/a", { auth: "Bearer x" }),
    GET("/v2/keys{p}/r/a", { auth: ROOT }),
    PUT("/v2/keys{p}/r/b", { value: "1" }, { auth: "u:up" }),
    statsDelta(),
    REQ("DELETE", `${R}/guest`, { auth: ROOT }),
    statsMark(),
    GET("/v2/keys{p}/r/a", { note: "no guest role: a failed read" }),
    statsDelta(),
    REQ("DELETE", "/v2/auth/enable", { auth: ROOT }),
    statsMark(),
    GET("/v2/keys{p}/r/a", { note: "auth off: one read of the records, which now exist" }),
    statsDelta(),
  ]);
});

/** A POST of an in-order key as `auth`. */
function POST_AS(path: string, auth: string) {
  return REQ("POST", path, { form: { value: "job" }, auth });
}

// The first auth write ever also creates etcd's four internal auth records
// (four more store indexes), even when the write itself then fails; a
// refused write before any store request creates nothing. Needs clusters
// that never saw auth: a fresh etcd, and a fresh cluster of ours.
describe("v2 auth: the first auth write", () => {
  let fresh: Server | undefined;
  let oursFresh: Server | undefined;
  afterAll(async () => {
    await fresh?.stop();
    await oursFresh?.stop();
  });

  it("creates etcd's internal records: four store indexes more", async () => {
    const t = targets();
    fresh = await startEtcd();
    let ours = `${t.ours}/clusters/auth-first-${Math.random().toString(36).slice(2, 8)}`;
    if (t.oursKind !== "worker") ours = (oursFresh = await startEtcd()).url;
    const steps: [string, string, string?][] = [
      ["PUT", `${U}/x`, JSON.stringify({ user: "x" })],
      ["PUT", "/v2/auth/enable"],
      ["DELETE", `${U}/nobody`],
      ["PUT", `${R}/r1`, JSON.stringify({ role: "r1" })],
      ["DELETE", `${R}/r1`],
    ];
    const run = async (url: string) => {
      const u = new URL(url);
      const index = async () => Number((await send(u.origin, { method: "GET", path: `${u.pathname.replace(/\/$/, "")}/v2/keys/` })).headers["x-etcd-index"]);
      const out: string[] = [];
      for (const [method, path, body] of steps) {
        const before = await index();
        const r = await send(u.origin, { method, path: u.pathname.replace(/\/$/, "") + path, body });
        out.push(`${method} ${path}: ${r.status} ${r.body.trim()} (+${(await index()) - before})`);
      }
      return out;
    };
    const expected = [
      `PUT ${U}/x: 400 {"message":"auth: Cannot create user x with an empty password"} (+0)`,
      'PUT /v2/auth/enable: 409 {"message":"auth: No root user available, please create one"} (+0)',
      `DELETE ${U}/nobody: 404 {"message":"auth: User nobody does not exist"} (+4)`,
      `PUT ${R}/r1: 201 {"role":"r1","permissions":{"kv":{"read":null,"write":null}}} (+1)`,
      `DELETE ${R}/r1: 200  (+1)`,
    ];
    expect(await run(fresh.url)).toEqual(expected);
    expect(await run(ours)).toEqual(expected);
  });
});
