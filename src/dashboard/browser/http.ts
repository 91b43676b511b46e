/** The browser module every panel reaches the Worker through (served as /_dashboard/assets/http.js). */
export const source = String.raw`
// Every request the dashboard makes goes through here, so that the cluster
// prefix, errors and credentials are handled in one place: the signed-in
// user's (auth.js) go with each etcd request, and a refusal for want of them
// makes the page ask for them.
import { basicAuthorization, needed, renewToken, user, v3Authorization } from "./auth.js";

/** "" for the default cluster, "/clusters/<name>" for a named one. */
export const base = document.body.dataset.base || "";
export const clusterName = document.body.dataset.cluster || "default";

/** An error with the server's own words; "refusal" says whether it was auth's (see refusalOf). */
export class ApiError extends Error {
  constructor(status, message, body, refusal) {
    super(message);
    this.status = status;
    this.body = body;
    this.refusal = refusal || "";
  }
}

/**
 * Why a v3 call was refused, from etcd's message: "sign-in" when it came
 * from nobody (auth on, no token) or with a token the cluster does not
 * hold, "denied" when the user may not, "" when it was not refused for
 * who asked.
 */
export function refusalOf(message) {
  if (/user name is empty|invalid auth token/.test(message)) return "sign-in";
  if (/permission denied/.test(message)) return "denied";
  return "";
}

/** A refusal in words, for the panel it happened in. */
export function refusalText(refusal, what) {
  return refusal === "denied" ? "permission denied: " + user() + " may not read " + what : "sign in to see " + what;
}

/** Why a request failed, in words: a refusal as such, else the server's message. */
export function reason(err) {
  if (err.refusal === "denied") return "permission denied for " + user();
  if (err.refusal === "sign-in") return "sign in first";
  return err.message;
}

async function parse(res) {
  const text = await res.text();
  try {
    return text ? JSON.parse(text) : {};
  } catch (e) {
    return { message: text.trim() };
  }
}

/**
 * GET of a dashboard endpoint of this cluster (a path under /_dashboard/api/).
 * These need no credentials: they show only the members' status.
 */
export async function dashboardApi(path, signal) {
  const res = await fetch(base + "/_dashboard/api/" + path, { signal: signal });
  const body = await parse(res);
  if (!res.ok) throw new ApiError(res.status, body.message || res.statusText, body);
  return body;
}

/**
 * Sends a v3 request with the signed-in user's token. Refused for its
 * credentials while someone is signed in (the token timed out, say): once
 * more with a new token. Refused with nobody signed in: the page asks.
 */
async function v3Send(send) {
  const token = v3Authorization();
  let res = await send(token);
  if (!res.ok && user() && res.status !== 403) {
    const body = await parse(res.clone());
    if (refusalOf(body.message || "") === "sign-in" && (await renewToken(token))) res = await send(v3Authorization());
  }
  return res;
}

function v3Headers(token) {
  return token ? { "Content-Type": "application/json", Authorization: token } : { "Content-Type": "application/json" };
}

/** A v3 JSON gateway call (POST /v3/<path>); throws the gateway's error message. */
export async function v3(path, request) {
  const res = await v3Send((token) => fetch(base + "/v3/" + path, { method: "POST", headers: v3Headers(token), body: JSON.stringify(request || {}) }));
  const body = await parse(res);
  if (!res.ok) throw v3Error(res, body);
  return body;
}

function v3Error(res, body) {
  const message = body.message || body.error || res.statusText;
  const refusal = refusalOf(message);
  if (refusal === "sign-in") needed();
  return new ApiError(res.status, message, body, refusal);
}

/**
 * A v3 stream (a watch) over the gateway's chunked POST, which carries the
 * token in its Authorization header as every other call does (a browser's
 * WebSocket cannot send one). Sends the request, hands each response
 * message to onMessage, and resolves when the stream ends.
 */
export async function v3Stream(path, request, onMessage, signal) {
  const res = await v3Send((token) => fetch(base + "/v3/" + path, { method: "POST", headers: v3Headers(token), body: JSON.stringify(request) + "\n", signal: signal }));
  if (!res.ok) throw v3Error(res, await parse(res));
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += value;
    let end;
    while ((end = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, end).trim();
      buffered = buffered.slice(end + 1);
      if (line) await onMessage(JSON.parse(line));
    }
  }
}

/** A v2 path with each segment escaped, e.g. "/a b/c" -> "/a%20b/c". */
export function v2Path(key) {
  return key.split("/").map(encodeURIComponent).join("/");
}

/** etcd's v2 error 110 (401): "The request requires user authentication", for nobody and for a user who may not alike. */
const UNAUTHORIZED = 110;

/**
 * A v2 keys call. "root" is where the keys API lives: this cluster's
 * /v2/keys with the user's basic auth, or the discovery service's token
 * paths at the Worker's root, which take none. Answers { status, index,
 * body, refusal } and leaves error codes to the caller, since several of
 * them (100: not found) are ordinary answers; refusal is as refusalOf's,
 * v2 telling nobody from a user who may not only by who asked.
 */
export async function v2(method, key, query, form, options) {
  const own = !(options && options.root !== undefined);
  const root = own ? base + "/v2/keys" : options.root;
  const qs = query ? new URLSearchParams(query).toString() : "";
  const headers = {};
  const authorization = own ? basicAuthorization() : "";
  if (authorization) headers.Authorization = authorization;
  const init = { method: method, headers: headers, signal: options && options.signal };
  if (form) {
    init.body = new URLSearchParams(form);
    headers["Content-Type"] = "application/x-www-form-urlencoded";
  }
  const res = await fetch(root + v2Path(key) + (qs ? "?" + qs : ""), init);
  const body = await parse(res);
  let refusal = "";
  if (own && res.status === 401 && body.errorCode === UNAUTHORIZED) {
    refusal = authorization ? "denied" : "sign-in";
    if (!authorization) needed();
  }
  return { status: res.status, index: Number(res.headers.get("X-Etcd-Index") || 0), body: body, refusal: refusal };
}
`;
