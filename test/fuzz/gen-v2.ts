// Requests for etcd's v2 API: keys (every method and query parameter, forms
// in good and bad encodings), members, machines, stats, version, health,
// metrics and v2 auth.
import type { Rng } from "./rng.ts";
import { formOf, onTheWire, withQuery, type FuzzRequest } from "./request.ts";
import { bodySize, MAX_REQUEST_BYTES, numberText, oddString, randomText, sized } from "./values.ts";

const KEY_METHODS = [[30, "GET"], [30, "PUT"], [10, "POST"], [15, "DELETE"], [4, "HEAD"], [2, "OPTIONS"], [2, "PATCH"], [1, "PROPFIND"], [1, "get"]] as const;
const FLAGS = ["true", "false", "1", "0", "t", "F", "TRUE", "yes", "", "2", "%zz"];
const PARAMS: Record<string, (r: Rng) => string> = {
  recursive: (r) => r.pick(FLAGS),
  sorted: (r) => r.pick(FLAGS),
  quorum: (r) => r.pick(FLAGS),
  wait: (r) => r.pick(FLAGS),
  stream: (r) => r.pick(FLAGS),
  dir: (r) => r.pick(FLAGS),
  refresh: (r) => r.pick(FLAGS),
  noValueOnSuccess: (r) => r.pick(FLAGS),
  prevExist: (r) => r.pick(FLAGS),
  waitIndex: numberText,
  prevIndex: numberText,
  ttl: (r) => (r.chance(0.5) ? String(1 + r.int(30)) : numberText(r)),
  prevValue: (r) => (r.chance(0.5) ? r.pick(["a", "b", "x"]) : oddString(r)),
  value: (r) => (r.chance(0.6) ? r.pick(["a", "b", "x"]) : oddString(r)),
};
const PARAM_NAMES = Object.keys(PARAMS);

/** A key under the fuzzer's own names, or an odd one. */
export function v2Key(r: Rng): string {
  if (r.chance(0.6)) return r.pick(["/fz", "/fz/a", "/fz/b", "/fz/dir", "/fz/dir/x", "/fz/q", "/fz/_h", "/a", "/", ""]) + (r.chance(0.2) ? `/${r.int(50)}` : "");
  return r.pick(["/fz/", "/", "//", "/fz/./", "/fz/../"]) + oddString(r);
}

function params(r: Rng, count: number): Array<[string, string]> {
  return Array.from({ length: count }, () => {
    const name = r.chance(0.9) ? r.pick(PARAM_NAMES) : oddString(r);
    return [name, (PARAMS[name] ?? oddString)(r)] as [string, string];
  });
}

/** A form body: good pairs, raw (possibly broken) escapes, bytes that are not UTF-8, or a large value. */
function formBody(r: Rng, pairs: Array<[string, string]>): string | Uint8Array {
  switch (r.int(8)) {
    case 0: return formOf(pairs, true);
    case 1: return Buffer.concat([Buffer.from("value="), Buffer.from(r.bytes(r.int(32))), Buffer.from(`&ttl=${numberText(r)}`)]);
    case 2: return `value=${sized(r, bodySize(r, MAX_REQUEST_BYTES))}`;
    case 3: return r.pick(["", "=", "&&&", "value", "value=%", "value=%e9", "value=%ff%fe", "value=a&value=b", "%zz=1", "value=a;ttl=5"]);
    default: return formOf(pairs);
  }
}

/**
 * A GET may be a watch (`wait` in any of the spellings Go's ParseBool takes),
 * whose headers come at once and whose body may never end, so every GET is
 * read as a stream: its headers must come within the bound.
 */
export function v2Keys(r: Rng, prefix: string): FuzzRequest {
  const method = r.weighted(KEY_METHODS);
  const key = v2Key(r);
  const query = params(r, r.int(4));
  const inBody = method !== "GET" && method !== "HEAD" && r.chance(0.7) ? params(r, 1 + r.int(3)) : [];
  if (method === "PUT" && r.chance(0.7)) inBody.push(["value", PARAMS.value(r)]);
  const headers: Record<string, string> = {};
  let body: string | Uint8Array | undefined;
  if (inBody.length > 0 || r.chance(0.1)) {
    body = formBody(r, inBody);
    headers["Content-Type"] = r.weighted([
      [8, "application/x-www-form-urlencoded"],
      [1, "application/x-www-form-urlencoded; charset=latin1"],
      [1, "application/json"],
      [1, "text/plain"],
      [1, "multipart/form-data; boundary=x"],
      [1, ""],
    ]);
  }
  const rawQuery = r.chance(0.8) ? formOf(query) : formOf(query, true);
  return { family: "v2/keys", method, path: onTheWire(withQuery(`${prefix}/v2/keys${key}`, rawQuery)), headers, body, shape: method.toUpperCase() === "GET" ? "stream" : "unary" };
}

const AUTH_NAMES = ["fz-user", "fz-role", "alice", "guest", "", "a/b", "ü", "x".repeat(300)];

function authBody(r: Rng, what: "user" | "role", name: string): string {
  if (r.chance(0.25)) return r.pick(["", "{", "[]", "null", "{\"user\":", "not json", "{\"user\":1}", "{\"role\":[]}"]);
  const globs = () => Array.from({ length: r.int(3) }, () => r.pick(["/fz/*", "/*", "*", "/fz", "", "/a/b*"]));
  const body: Record<string, unknown> =
    what === "user"
      ? { user: r.chance(0.8) ? name : oddString(r), password: r.chance(0.7) ? "pw" : oddString(r), roles: r.chance(0.5) ? [r.pick(AUTH_NAMES)] : undefined, grant: r.chance(0.2) ? [r.pick(AUTH_NAMES)] : undefined, revoke: r.chance(0.2) ? [r.pick(AUTH_NAMES)] : undefined }
      : { role: r.chance(0.8) ? name : oddString(r), permissions: r.chance(0.7) ? { kv: { read: globs(), write: globs() } } : r.pick([null, 1, "x", { kv: null }]), grant: r.chance(0.3) ? { kv: { read: globs() } } : undefined, revoke: r.chance(0.3) ? { kv: { write: globs() } } : undefined };
  return JSON.stringify(body);
}

/** /v2/auth: enable, users and roles, with good and broken JSON and credentials that are wrong. */
export function v2Auth(r: Rng, prefix: string): FuzzRequest {
  const method = r.weighted([[40, "GET"], [35, "PUT"], [15, "DELETE"], [5, "POST"], [5, "HEAD"]] as const);
  const where = r.int(4);
  const name = r.pick(AUTH_NAMES);
  const sub = where === 0 ? "/enable" : where === 1 ? `/users${r.chance(0.8) ? `/${name}` : ""}` : where === 2 ? `/roles${r.chance(0.8) ? `/${name}` : ""}` : `/${oddString(r)}`;
  const headers: Record<string, string> = {};
  if (r.chance(0.3)) headers.Authorization = r.pick(["Basic " + Buffer.from("fz-user:pw").toString("base64"), "Basic !!!", "Basic ", "Bearer x", "Basic " + Buffer.from("nocolon").toString("base64")]);
  let body: string | undefined;
  if (method === "PUT" || method === "POST") {
    body = authBody(r, where === 2 ? "role" : "user", name);
    headers["Content-Type"] = r.chance(0.85) ? "application/json" : r.pick(["text/plain", "", "application/x-www-form-urlencoded"]);
  }
  return { family: "v2/auth", method, path: onTheWire(`${prefix}/v2/auth${sub}`), headers, body, shape: "unary" };
}

/** /v2/members: reads, and changes that etcd refuses (bad JSON, bad URLs, ids that are not members). */
export function v2Members(r: Rng, prefix: string): FuzzRequest {
  const method = r.weighted([[40, "GET"], [20, "POST"], [15, "PUT"], [15, "DELETE"], [5, "HEAD"], [5, "PATCH"]] as const);
  const sub = r.pick(["", "/", "/leader", `/${r.u32().toString(16)}${r.u32().toString(16)}`, `/${oddString(r)}`, "/0"]);
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (method === "POST" || method === "PUT") {
    headers["Content-Type"] = r.chance(0.8) ? "application/json" : r.pick(["text/plain", "", "application/json; charset=utf-8"]);
    body = r.pick([
      "",
      "{",
      "null",
      "[]",
      '{"peerURLs":[]}',
      '{"peerURLs":"http://127.0.0.1:1"}',
      '{"peerURLs":[1]}',
      JSON.stringify({ peerURLs: [r.pick(["ftp://h:1", "http://h", "http://h:1/path", "not a url", "", "http://:", "unix://"]) ] }),
      JSON.stringify({ peerURLs: [oddString(r)] }),
      sized(r, bodySize(r, MAX_REQUEST_BYTES)),
    ]);
  }
  return { family: "v2/members", method, path: onTheWire(`${prefix}/v2/members${sub}`), headers, body, shape: "unary" };
}

/** The read-only v2 and server endpoints, with their methods and some that they refuse. */
export function v2Misc(r: Rng, prefix: string): FuzzRequest {
  const path = r.pick(["/version", "/health", "/v2/machines", "/v2/stats/self", "/v2/stats/leader", "/v2/stats/store", "/v2/stats/", "/v2/stats/x", "/metrics", "/v2", "/v2/", "/v2/keys", "/_dashboard/api/cluster", "/_dashboard"]);
  const method = r.weighted([[80, "GET"], [5, "HEAD"], [5, "POST"], [5, "PUT"], [5, "DELETE"]] as const);
  const query = r.chance(0.2) ? `?${formOf([[oddString(r), oddString(r)]])}` : "";
  return { family: `misc${path.replace(/\/$/, "")}`, method, path: onTheWire(`${prefix}${path}${query}`), headers: {}, body: method === "POST" ? randomText(r, r.int(50)) : undefined, shape: "unary" };
}
