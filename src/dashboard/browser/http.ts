/** The browser module every panel reaches the Worker through (served as /_dashboard/assets/http.js). */
export const source = String.raw`
// Every request the dashboard makes goes through here, so that the cluster
// prefix, errors and (later) credentials are handled in one place.

/** "" for the default cluster, "/clusters/<name>" for a named one. */
export const base = document.body.dataset.base || "";
export const clusterName = document.body.dataset.cluster || "default";

/**
 * Headers for every request. There is no auth yet; when there is, this is
 * where the credentials the page asked for (a sign-in form shown before the
 * panels, kept in sessionStorage) go, as the Authorization header etcd's
 * clients send, and a 401 answer brings the sign-in form back.
 */
function headers(extra) {
  return Object.assign({}, extra || {});
}

/** An error with the server's own words. */
export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

async function parse(res) {
  const text = await res.text();
  try {
    return text ? JSON.parse(text) : {};
  } catch (e) {
    return { message: text.trim() };
  }
}

/** GET of a dashboard endpoint of this cluster (a path under /_dashboard/api/). */
export async function dashboardApi(path, signal) {
  const res = await fetch(base + "/_dashboard/api/" + path, { headers: headers(), signal: signal });
  const body = await parse(res);
  if (!res.ok) throw new ApiError(res.status, body.message || res.statusText, body);
  return body;
}

/** A v3 JSON gateway call (POST /v3/<path>); throws the gateway's error message. */
export async function v3(path, request) {
  const res = await fetch(base + "/v3/" + path, {
    method: "POST",
    headers: headers({ "Content-Type": "application/json" }),
    body: JSON.stringify(request || {}),
  });
  const body = await parse(res);
  if (!res.ok) throw new ApiError(res.status, body.message || body.error || res.statusText, body);
  return body;
}

/** A v2 path with each segment escaped, e.g. "/a b/c" -> "/a%20b/c". */
export function v2Path(key) {
  return key.split("/").map(encodeURIComponent).join("/");
}

/**
 * A v2 keys call. "root" is where the keys API lives: this cluster's
 * /v2/keys, or the discovery service's token paths at the Worker's root.
 * Answers { status, index, body } and leaves error codes to the caller,
 * since several of them (100: not found) are ordinary answers.
 */
export async function v2(method, key, query, form, options) {
  const root = options && options.root !== undefined ? options.root : base + "/v2/keys";
  const qs = query ? new URLSearchParams(query).toString() : "";
  const init = { method: method, headers: headers(), signal: options && options.signal };
  if (form) {
    init.body = new URLSearchParams(form);
    init.headers = headers({ "Content-Type": "application/x-www-form-urlencoded" });
  }
  const res = await fetch(root + v2Path(key) + (qs ? "?" + qs : ""), init);
  return { status: res.status, index: Number(res.headers.get("X-Etcd-Index") || 0), body: await parse(res) };
}

/** The WebSocket URL of a path of this cluster. */
export function socketURL(path) {
  const url = new URL(base + path, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}
`;
