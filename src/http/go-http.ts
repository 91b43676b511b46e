/**
 * Responses shaped like Go's net/http ones that etcd clients see: plain-text
 * errors from http.Error, 301 redirects for uncleaned paths, and etcd 3.4's
 * CORS headers (sent on every response, since its default --cors is "*").
 */

export const CORS_HEADERS: Record<string, string> = {
  "Access-Control-Allow-Headers": "accept, content-type, authorization",
  "Access-Control-Allow-Methods": "POST, GET, OPTIONS, PUT, DELETE",
  "Access-Control-Allow-Origin": "*",
};

export const TEXT_PLAIN = "text/plain; charset=utf-8";

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
  const parts: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  let out = "/" + parts.join("/");
  if (p.endsWith("/") && out !== "/") out += "/";
  return out;
}

/** ServeMux's answer to an uncleaned path: 301 to the cleaned one, query kept. */
export function redirectToClean(method: string, cleaned: string, search: string): Response {
  const location = encodeURI(cleaned) + search;
  const body = method === "GET" ? `<a href="${location.replace(/"/g, "&#34;")}">Moved Permanently</a>.\n\n` : null;
  const headers: Record<string, string> = { Location: location };
  if (body) headers["Content-Type"] = "text/html; charset=utf-8";
  return new Response(body, { status: 301, headers });
}
