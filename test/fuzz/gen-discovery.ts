// Requests for the discovery service: /new, the token routes (the v2 keys
// API on a token's registry), v3 discovery under /discovery/v3/, and paths
// that look like a token and are not.
import type { Rng } from "./rng.ts";
import { b64, formOf, onTheWire, withQuery, type FuzzRequest } from "./request.ts";
import { numberText, oddString } from "./values.ts";

/** A token: one the run created (`known`), a well-formed unknown one, or a malformed one. */
function token(r: Rng, known: readonly string[]): string {
  if (known.length > 0 && r.chance(0.6)) return r.pick(known);
  if (r.chance(0.6)) return Array.from({ length: 4 }, () => r.u32().toString(16).padStart(8, "0")).join("");
  return r.pick(["", "0", "ABCDEF0123456789abcdef0123456789", "g".repeat(32), "a".repeat(31), "a".repeat(33), oddString(r)]);
}

export function discoveryRequest(r: Rng, known: readonly string[]): FuzzRequest {
  const t = token(r, known);
  const kind = r.int(10);
  if (kind < 2) {
    // /new: size in the query or a form body, GET, POST and PUT.
    const method = r.weighted([[6, "GET"], [2, "POST"], [1, "PUT"], [1, "DELETE"]] as const);
    const size = r.chance(0.6) ? String(1 + r.int(9)) : numberText(r);
    const inBody = method !== "GET" && r.chance(0.5);
    return {
      family: "discovery/new",
      method,
      path: onTheWire(withQuery("/new", inBody ? "" : r.chance(0.9) ? formOf([["size", size]]) : formOf([["size", size]], true))),
      headers: inBody ? { "Content-Type": r.pick(["application/x-www-form-urlencoded", "text/plain"]) } : {},
      body: inBody ? `size=${size}` : undefined,
      shape: "unary",
    };
  }
  if (kind < 7) {
    // The registry: the token, a member, the size, with v2 keys parameters.
    const sub = r.pick(["", "/", `/${r.u32().toString(16)}`, "/_config/size", "/_config", `/${oddString(r)}`, "/a/b"]);
    const method = r.weighted([[5, "GET"], [3, "PUT"], [1, "DELETE"], [1, "POST"], [1, "HEAD"]] as const);
    const query = r.chance(0.5) ? formOf([[r.pick(["wait", "recursive", "prevExist", "waitIndex", "sorted", "value", oddString(r)]), r.pick(["true", "false", numberText(r), oddString(r)])]]) : "";
    return {
      family: "discovery/token",
      method,
      path: onTheWire(withQuery(`/${t}${sub}`, query)),
      headers: method === "PUT" || method === "POST" ? { "Content-Type": "application/x-www-form-urlencoded" } : {},
      body: method === "PUT" || method === "POST" ? formOf([["value", r.chance(0.7) ? "m1=http://127.0.0.1:2380" : oddString(r)], ...(r.chance(0.3) ? [["prevExist", "false"] as [string, string]] : [])]) : undefined,
      // A GET may be a watch (see v2Keys).
      shape: method.toUpperCase() === "GET" ? "stream" : "unary",
    };
  }
  // v3 discovery: range, put and watch on a token's keys, and keys outside any token.
  const registry = (s: string) => b64(`/_etcd/registry/${t}${s}`);
  const key = () => (r.chance(0.8) ? registry(r.pick(["/_config/size", "/members/", `/members/${r.u32().toString(16)}`, "", "/x"])) : b64(oddString(r)));
  const path = r.weighted([[4, "kv/range"], [3, "kv/put"], [2, "watch"], [1, "kv/deleterange"], [1, oddString(r)]] as const);
  const rangeEnd = r.pick([undefined, registry("0"), registry("/members0"), "AA==", b64("\u00ff")]);
  const message = path === "kv/put" ? { key: key(), value: b64("http://127.0.0.1:2380"), lease: r.chance(0.2) ? numberText(r) : undefined } : path === "watch" ? { create_request: { key: key(), range_end: rangeEnd, start_revision: r.chance(0.3) ? numberText(r) : undefined } } : { key: key(), range_end: rangeEnd };
  return {
    family: `discovery/v3/${path === "kv/range" || path === "kv/put" || path === "watch" ? path : "other"}`,
    method: r.chance(0.95) ? "POST" : "GET",
    path: onTheWire(`/discovery/v3/${path}`),
    headers: { "Content-Type": "application/json" },
    body: r.chance(0.9) ? JSON.stringify(message) + (path === "watch" ? "\n" : "") : r.pick(["", "{", "[1]", "null"]),
    shape: path === "watch" ? "stream" : "unary",
  };
}
