// etcd's v3 auth side by side with etcd 3.4: the same script of calls runs
// against etcd's JSON gateway and ours, and the two transcripts (status,
// body) must be equal once cluster and member ids, raft terms and tokens
// are blanked and revisions are counted from where each side began. Then
// etcdctl 3.4 in v3 mode runs the same commands against etcd's gRPC API and
// our gRPC front, with `--user`. Every script ends with auth disabled and
// its users and roles deleted, also when it fails.
import { afterEach, describe, expect, it } from "vitest";
import { targets } from "./harness/compare";
import { run } from "./harness/run";

const t = targets();
const b64 = (s: string) => Buffer.from(s).toString("base64");
const ROOT = { name: "root", password: "rootpw" };

type Call = (path: string, body: unknown, token?: string) => Promise<string>;

/** One side's gateway: each call's transcript line, normalised. */
function gateway(base: string, firstRevision: { value: number }): Call {
  return async (path, body, token) => {
    const res = await fetch(`${base}/v3/${path}`, { method: "POST", body: JSON.stringify(body), headers: token === undefined ? {} : { Authorization: token } });
    const text = (await res.text()).trim();
    return `${path} ${res.status} ${normalise(text, firstRevision)}`;
  };
}

function normalise(text: string, first: { value: number }): string {
  return text
    .replace(/"cluster_id":"\d+","member_id":"\d+",/g, "")
    .replace(/,?"raft_term":"\d+"/g, "")
    .replace(/"token":"[A-Za-z]{16}\.\d+"/g, '"token":"<token>"')
    .replace(/"(revision|create_revision|mod_revision)":"(\d+)"/g, (_m, name: string, n: string) => `"${name}":"+${Number(n) - first.value}"`);
}

async function tokenOf(base: string, name: string, password: string): Promise<string> {
  const res = await fetch(`${base}/v3/auth/authenticate`, { method: "POST", body: JSON.stringify({ name, password }) });
  const token = ((await res.json()) as { token?: string }).token;
  if (!token || !/^[A-Za-z]{16}\.\d+$/.test(token)) throw new Error(`no simple token from ${base}: ${JSON.stringify(token)}`);
  return token;
}

async function revisionOf(base: string): Promise<number> {
  const res = await fetch(`${base}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key: b64("\0") }) });
  return Number(((await res.json()) as { header: { revision: string } }).header.revision);
}

/** Leaves a side with auth disabled and no users or roles, whatever state a failed script left it in. */
async function cleanUp(base: string): Promise<void> {
  const token = await tokenOf(base, ROOT.name, ROOT.password).catch(() => undefined);
  const post = (path: string, body: unknown) => fetch(`${base}/v3/${path}`, { method: "POST", body: JSON.stringify(body), headers: token ? { Authorization: token } : {} }).then((r) => r.text());
  await post("auth/disable", {});
  const users = (JSON.parse(await fetch(`${base}/v3/auth/user/list`, { method: "POST", body: "{}" }).then((r) => r.text())) as { users?: string[] }).users ?? [];
  for (const name of users) await fetch(`${base}/v3/auth/user/delete`, { method: "POST", body: JSON.stringify({ name }) });
  const roles = (JSON.parse(await fetch(`${base}/v3/auth/role/list`, { method: "POST", body: "{}" }).then((r) => r.text())) as { roles?: string[] }).roles ?? [];
  for (const role of roles) await fetch(`${base}/v3/auth/role/delete`, { method: "POST", body: JSON.stringify({ role }) });
}

afterEach(async () => {
  await cleanUp(t.etcd);
  await cleanUp(t.ours);
});

/** Reads a watch stream's first line, with a deadline. */
async function firstWatchLine(base: string, create: unknown, token?: string): Promise<string> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 10_000);
  try {
    const res = await fetch(`${base}/v3/watch`, {
      method: "POST",
      body: `${JSON.stringify({ create_request: create })}\n`,
      headers: token === undefined ? {} : { Authorization: token },
      signal: abort.signal,
    });
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString("utf8");
    }
    return text.split("\n")[0];
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

/** The script both sides run; `p` is a prefix of keys of its own. */
async function script(base: string, p: string): Promise<string[]> {
  const first = { value: await revisionOf(base) };
  const call = gateway(base, first);
  const out: string[] = [];
  const log = async (line: Promise<string>) => out.push(await line);
  const k = (s: string) => b64(`${p}${s}`);

  await log(call("auth/enable", {}));
  await log(call("auth/user/add", ROOT));
  await log(call("auth/user/add", ROOT));
  await log(call("auth/user/add", { name: "", password: "x" }));
  await log(call("auth/enable", {}));
  await log(call("auth/user/grant", { user: "root", role: "root" }));
  await log(call("auth/user/grant", { user: "nobody", role: "root" }));
  await log(call("auth/user/grant", { user: "root", role: "ghost" }));
  await log(call("auth/role/add", { name: "rw" }));
  await log(call("auth/role/add", { name: "rw" }));
  await log(call("auth/role/add", { name: "" }));
  await log(call("auth/role/grant", { name: "rw", perm: { permType: "READWRITE", key: k("a/"), range_end: k("a0") } }));
  await log(call("auth/role/grant", { name: "rw", perm: { permType: "READ", key: k("r") } }));
  await log(call("auth/role/grant", { name: "rw", perm: { permType: "WRITE", key: k("w/"), range_end: "AA==" } }));
  await log(call("auth/role/grant", { name: "ghost", perm: { permType: "READ", key: k("r") } }));
  await log(call("auth/role/get", { role: "rw" }));
  await log(call("auth/role/get", { role: "ghost" }));
  await log(call("auth/user/add", { name: "alice", password: "apw" }));
  await log(call("auth/user/grant", { user: "alice", role: "rw" }));
  await log(call("auth/user/grant", { user: "alice", role: "rw" }));
  await log(call("auth/user/get", { name: "alice" }));
  await log(call("auth/user/get", { name: "ghost" }));
  await log(call("auth/user/list", {}));
  await log(call("auth/role/list", {}));
  await log(call("kv/put", { key: k("a/1"), value: b64("before") }));
  await log(call("auth/enable", {}));

  // Auth on: no token, bad tokens, wrong passwords.
  await log(call("auth/enable", {}));
  await log(call("kv/range", { key: k("a/1") }));
  await log(call("kv/range", { key: k("a/1") }, "not-a-token"));
  await log(call("kv/range", { key: k("a/1") }, "abcdefghijklmnop.3"));
  await log(call("auth/authenticate", { name: "alice", password: "wrong" }));
  await log(call("auth/authenticate", { name: "ghost", password: "x" }));
  await log(call("auth/authenticate", { name: "alice", password: "apw" }));
  await log(call("lease/grant", { TTL: "60", ID: "4242" }));
  const root = await tokenOf(base, ROOT.name, ROOT.password);
  const alice = await tokenOf(base, "alice", "apw");
  await log(call("kv/range", { key: k("a/1") }, `Bearer ${alice}`));

  // Key-range permissions on range, put, delete and txn.
  await log(call("kv/range", { key: k("a/1") }, alice));
  await log(call("kv/range", { key: k("a/"), range_end: k("a0") }, alice));
  await log(call("kv/range", { key: k("a/"), range_end: k("b") }, alice));
  await log(call("kv/range", { key: k("r") }, alice));
  await log(call("kv/range", { key: k("s") }, alice));
  await log(call("kv/put", { key: k("a/2"), value: b64("v") }, alice));
  await log(call("kv/put", { key: k("r"), value: b64("v") }, alice));
  await log(call("kv/put", { key: k("w/x"), value: b64("v") }, alice));
  await log(call("kv/put", { key: k("w/x"), value: b64("v"), prev_kv: true }, alice));
  await log(call("kv/range", { key: k("w/x") }, alice));
  await log(call("kv/deleterange", { key: k("a/2") }, alice));
  await log(call("kv/deleterange", { key: k("a/"), range_end: k("b") }, alice));
  await log(call("kv/txn", { compare: [{ key: k("s"), target: "VERSION", version: "0" }], success: [{ request_put: { key: k("a/3"), value: b64("v") } }] }, alice));
  await log(call("kv/txn", { compare: [{ key: k("a/3"), target: "VERSION", version: "0" }], success: [{ request_put: { key: k("a/3"), value: b64("v") } }], failure: [{ request_put: { key: k("s"), value: b64("v") } }] }, alice));
  await log(call("kv/txn", { success: [{ request_range: { key: k("r") } }] }, alice));
  await log(call("kv/txn", { success: [{ request_delete_range: { key: k("r") } }] }, alice));
  await log(call("kv/txn", { compare: [{ key: k("a/1"), target: "VERSION", version: "1" }], success: [{ request_put: { key: k("a/3"), value: b64("v") } }] }, alice));
  await log(call("kv/put", { key: k("s"), value: b64("leased"), lease: "4242" }, root));
  await log(call("lease/revoke", { ID: "4242" }, alice));
  await log(call("kv/range", { key: b64("\0"), range_end: b64("\0"), count_only: true }, root).then((l) => l.replace(/"count":"\d+"/, '"count":"n"')));

  // Who may manage auth, members and maintenance.
  await log(call("auth/user/list", {}, alice));
  await log(call("auth/user/get", { name: "alice" }, alice));
  await log(call("auth/user/get", { name: "root" }, alice));
  await log(call("auth/role/get", { role: "rw" }, alice));
  await log(call("auth/role/get", { role: "root" }, alice));
  await log(call("auth/role/get", { role: "root" }, root));
  await log(call("auth/user/changepw", { name: "alice", password: "x" }, alice));
  await log(call("auth/disable", {}, alice));
  await log(call("maintenance/hash", {}, alice));
  await log(call("maintenance/defragment", {}, alice));
  await log(call("cluster/member/add", { peerURLs: ["http://127.0.0.1:1"] }, alice));
  await log(call("election/leader", { name: k("e") }, alice));
  await log(call("auth/user/revoke", { name: "root", role: "root" }, root));
  await log(call("auth/user/delete", { name: "root" }, root));
  await log(call("auth/role/delete", { role: "root" }, root));
  await log(call("auth/user/revoke", { name: "alice", role: "ghost" }, root));
  await log(call("auth/role/revoke", { role: "rw", key: k("nothing") }, root));

  // Watches are refused in their stream.
  const watched = (line: Promise<string>) => line.then((l) => `watch ${normalise(l, first)}`);
  await log(watched(firstWatchLine(base, { key: k("s") }, alice)));
  await log(watched(firstWatchLine(base, { key: k("s") })));
  await log(watched(firstWatchLine(base, { key: k("s") }, "not-a-token")));
  await log(watched(firstWatchLine(base, { key: k("a/"), range_end: k("a0") }, alice)));

  // Changes that take tokens away.
  await log(call("auth/user/changepw", { name: "alice", password: "apw2" }, root));
  await log(call("kv/range", { key: k("a/1") }, alice));
  const alice2 = await tokenOf(base, "alice", "apw2");
  await log(call("auth/role/revoke", { role: "rw", key: k("a/"), range_end: k("a0") }, root));
  await log(call("kv/range", { key: k("a/1") }, alice2));
  await log(call("auth/user/delete", { name: "alice" }, root));
  await log(call("kv/range", { key: k("r") }, alice2));
  await log(call("auth/disable", {}, root));
  await log(call("kv/range", { key: k("a/1") }, root));
  await log(call("auth/authenticate", ROOT));
  await log(call("kv/deleterange", { key: k(""), range_end: k("\xff") }));
  return out;
}

describe("v3 auth over the JSON gateway, side by side with etcd", () => {
  it("users, roles, tokens, key-range permissions, watches, root-only calls, errors", async () => {
    const p = `/v3auth-${Math.random().toString(36).slice(2, 8)}/`;
    const etcd = await script(t.etcd, p);
    const ours = await script(t.ours, p);
    expect(ours).toEqual(etcd);
  });
});

describe("etcdctl v3 with --user, against etcd and through our gRPC front", () => {
  const strip = (s: string) => s.replace(/^\{"level":"warn".*\n/gm, "");
  const transcript = async (ep: string, p: string) => {
    const ctl = (...args: string[]) => run("etcdctl", [`--endpoints=${ep}`, ...args], { ETCDCTL_API: "3" });
    const lines: string[] = [];
    const c = async (...args: string[]) => {
      const r = await ctl(...args);
      lines.push(`$ ${args.join(" ")}\n${r.stdout}${strip(r.stderr)}[${r.code}]`);
    };
    await c("user", "add", `${ROOT.name}:${ROOT.password}`);
    await c("user", "grant-role", "root", "root");
    await c("role", "add", "app");
    await c("role", "grant-permission", "app", "readwrite", `${p}a`, `${p}b`);
    await c("role", "grant-permission", "--prefix", "app", "read", `${p}r/`);
    await c("role", "grant-permission", "--from-key", "app", "write", `${p}z`);
    await c("role", "get", "app");
    await c("user", "add", "bob:bpw");
    await c("user", "grant-role", "bob", "app");
    await c("user", "get", "bob");
    await c("auth", "enable");
    await c("--user", "bob:bpw", "put", `${p}a1`, "v");
    await c("--user", "bob:bpw", "get", `${p}a1`);
    await c("--user", "bob:bpw", "get", `${p}r/x`);
    await c("--user", "bob:bpw", "put", `${p}c`, "v");
    await c("--user", "bob:bpw", "get", `${p}`, "--prefix");
    await c("--user", "bob:wrong", "get", `${p}a1`);
    await c("get", `${p}a1`);
    await c("--user", "bob:bpw", "user", "list");
    await c("--user", `${ROOT.name}:${ROOT.password}`, "user", "list");
    await c("--user", `${ROOT.name}:${ROOT.password}`, "role", "revoke-permission", "app", `${p}a`, `${p}b`);
    await c("--user", "bob:bpw", "get", `${p}a1`);
    await c("--user", `${ROOT.name}:${ROOT.password}`, "del", `${p}`, "--prefix");
    await c("--user", `${ROOT.name}:${ROOT.password}`, "auth", "disable");
    await c("user", "delete", "bob");
    await c("role", "delete", "app");
    return lines;
  };

  it("manages users and roles, and --user is checked as etcd checks it", async () => {
    const p = `/v3ctl-${Math.random().toString(36).slice(2, 8)}/`;
    const etcd = await transcript(t.etcdGrpc, p);
    const ours = await transcript(t.oursGrpc, p);
    expect(ours).toEqual(etcd);
  });
});
