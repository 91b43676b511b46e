/**
 * Responses shaped like Go's net/http ones that etcd clients see: plain-text
 * errors from http.Error, 301 redirects for uncleaned paths, 400 for a path
 * Go cannot parse, HEAD answers that announce the length of the body they
 * drop, and etcd 3.4's CORS headers (sent on every response, since its
 * default --cors is "*").
 */
import type { MiddlewareHandler } from "hono";
import { goJSON } from "../go/json.ts";
import { cleanPath } from "../v2/path.ts";

export const CORS_HEADERS: Record<string, string> = {
  "Access-Control-Allow-Headers": "accept, content-type, authorization",
  "Access-Control-Allow-Methods": "POST, GET, OPTIONS, PUT, DELETE",
  "Access-Control-Allow-Origin": "*",
};

export const TEXT_PLAIN = "text/plain; charset=utf-8";

const parsedURLs = new WeakMap<Request, URL>();

/** The request's URL, parsed once per request however many layers ask for it. */
export function requestURL(request: Request): URL {
  let url = parsedURLs.get(request);
  if (!url) {
    url = new URL(request.url);
    parsedURLs.set(request, url);
  }
  return url;
}

/** A JSON answer (the body already encoded). */
export const json = (body: string, status = 200, extra: Record<string, string> = {}) =>
  new Response(body, { status, headers: { "Content-Type": "application/json", ...extra } });

/** Non-key errors ({"message": ...}, no newline), as etcd's httptypes.HTTPError writes them. */
export const httpError = (status: number, message: string, extra: Record<string, string> = {}) =>
  json(goJSON({ message }), status, extra);

/** Go's http.Error: the message plus a newline, as text/plain. */
export function plainError(status: number, message: string, extra: Record<string, string> = {}): Response {
  return new Response(message + "\n", {
    status,
    headers: { "Content-Type": TEXT_PLAIN, "X-Content-Type-Options": "nosniff", ...extra },
  });
}

export function methodNotAllowed(allow: string[]): Response {
  return plainError(405, "Method Not Allowed", { Allow: allow.join(",") });
}

export function notFound(): Response {
  return plainError(404, "404 page not found");
}

/** Go's path.Clean for URL paths, keeping a trailing slash as ServeMux does. */
export function cleanURLPath(p: string): string {
  const out = cleanPath(p);
  return p.endsWith("/") && out !== "/" ? out + "/" : out;
}

/** ServeMux's answer to an uncleaned path: 301 to the cleaned one, query kept. */
export function redirectToClean(method: string, cleaned: string, search: string): Response {
  const location = encodeURI(cleaned) + search;
  const body = method === "GET" ? `<a href="${htmlEscape(location)}">Moved Permanently</a>.\n\n` : null;
  const headers: Record<string, string> = { Location: location };
  if (body) headers["Content-Type"] = "text/html; charset=utf-8";
  return new Response(body, { status: 301, headers });
}

/** Go's html.EscapeString. */
function htmlEscape(s: string): string {
  const map: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;" };
  return s.replace(/[&<>"']/g, (c) => map[c]);
}

/** What Go's server answers, before any handler, for a request line it cannot parse. */
function badRequest(): Response {
  return new Response("400 Bad Request", { status: 400, headers: { "Content-Type": TEXT_PLAIN, Connection: "close" } });
}

/** Go's URL path decoding, or null when an escape is malformed. */
function decodePath(raw: string): string | null {
  try {
    return decodeURIComponent(raw);
  } catch {
    // decodeURIComponent also refuses escapes of invalid UTF-8, which Go accepts.
    return /%(?![0-9a-fA-F]{2})/.test(raw) ? null : raw;
  }
}

/**
 * The net/http behaviour around every handler: CORS headers and bare OPTIONS
 * answers, 400 for malformed escapes, 301 for uncleaned paths, and HEAD
 * answers without a body but with its Content-Length.
 */
export const goHTTP: MiddlewareHandler = async (c, next) => {
  const answer = await goHTTPAnswer(c, next);
  await drainUnread(c.req.raw);
  return answer;
};

/** Go's server reads at most this much of a body its handler left unread before answering on the same connection. */
const DRAIN_MAX_BYTES = 256 * 1024;

/**
 * A body nobody read (a GET with a form, say) would still be arriving when
 * the answer goes out and the connection is closed under it, which the
 * client sees as a reset instead of the answer (found by the fuzz run: a
 * GET with a 41 KB body, under load). Go's server reads and drops what is
 * left of a body, up to 256 KiB, after the handler; so does this. Larger or
 * unannounced bodies, and bodies a handler is still reading (streams), are
 * left alone.
 */
async function drainUnread(req: Request): Promise<void> {
  if (!req.body || req.bodyUsed) return;
  const length = Number(req.headers.get("Content-Length") ?? NaN);
  if (!(length > 0 && length <= DRAIN_MAX_BYTES)) return;
  await req.arrayBuffer().catch(() => {});
}

const goHTTPAnswer: MiddlewareHandler = async (c, next) => {
  if (c.req.method === "OPTIONS") return new Response(null, { status: 200, headers: CORS_HEADERS });
  const url = requestURL(c.req.raw);
  const path = decodePath(url.pathname);
  if (path === null) return badRequest();
  const cleaned = cleanURLPath(path);
  if (cleaned !== path) return withCORS(redirectToClean(c.req.method, cleaned, url.search));
  await next();
  let res = c.res;
  if (c.req.method === "HEAD" && res.body && !res.headers.has("Content-Length")) {
    const length = (await res.arrayBuffer()).byteLength;
    res = new Response(null, res);
    res.headers.set("Content-Length", String(length));
    c.res = withCORS(res);
  } else {
    // Headers of responses built here are mutable: set them in place rather
    // than copying the response (and turning its body into a stream).
    withCORS(res);
  }
};

/** Responses built with the CORS headers already in place (see `responseWithCORS`). */
const builtWithCORS = new WeakSet<Response>();

/**
 * A response that carries etcd's CORS headers from the start, which spares
 * the middleware setting them one by one afterwards (on the hot path of
 * every keys request, each header set is a call into the runtime).
 */
export function responseWithCORS(body: BodyInit | null, status: number, headers: Record<string, string>): Response {
  const res = new Response(body, { status, headers: { ...CORS_HEADERS, ...headers } });
  builtWithCORS.add(res);
  return res;
}

function withCORS(res: Response): Response {
  if (builtWithCORS.has(res)) return res;
  for (const k in CORS_HEADERS) res.headers.set(k, CORS_HEADERS[k]);
  return res;
}
