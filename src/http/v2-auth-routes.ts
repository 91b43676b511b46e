/**
 * /v2/auth/enable, /v2/auth/users[/<name>] and /v2/auth/roles[/<name>]:
 * the path and method checks etcd's mux and handlers make first (405 with
 * Allow, 400 "Invalid path" for deeper paths), then the call on the
 * cluster's member, which checks the caller and answers (see
 * src/server/v2-auth-service.ts).
 */
import type { V2AuthRequest } from "../server/api.ts";
import { RequestTooLarge } from "../server/limits.ts";
import { unescape } from "../v2/form.ts";
import { cleanPath } from "../v2/path.ts";
import { readCappedText } from "./capped-body.ts";
import { v2Identity } from "./client-identity.ts";
import type { ClusterApi } from "./cluster-client.ts";
import { httpError, json, methodNotAllowed, notFound } from "./go-http.ts";

type Resource = V2AuthRequest["resource"];

/**
 * `rawSub` is the still-escaped path after "/v2/auth"; with `clientCertAuth`
 * (CLIENT_CERT_AUTH), a verified client certificate can name the caller.
 */
export async function handleV2Auth(
  request: Request,
  rawSub: string,
  api: ClusterApi,
  cid: Record<string, string>,
  clientCertAuth = false,
): Promise<Response> {
  const call = (resource: Resource, name: string | null, allowed: V2AuthRequest["method"][]) =>
    callMember(request, api, cid, resource, name, allowed, clientCertAuth);
  const sub = unescape(rawSub, false);
  if (sub === "/enable") return call("enable", null, ["GET", "PUT", "DELETE"]);
  for (const resource of ["users", "roles"] as const) {
    if (sub === `/${resource}`) return call(resource, null, ["GET"]);
    if (!sub.startsWith(`/${resource}/`)) continue;
    // "/users/<name>": the list with a trailing slash, one name, or nothing etcd serves.
    const pieces = cleanPath(sub).split("/");
    if (pieces.length === 2) return call(resource, null, ["GET"]);
    if (pieces.length !== 3) return httpError(400, "Invalid path");
    return call(resource, pieces[2], ["GET", "PUT", "DELETE"]);
  }
  return notFound();
}

async function callMember(
  request: Request,
  api: ClusterApi,
  cid: Record<string, string>,
  resource: Resource,
  name: string | null,
  allowed: V2AuthRequest["method"][],
  clientCertAuth: boolean,
): Promise<Response> {
  const method = request.method as V2AuthRequest["method"];
  if (!allowed.includes(method)) return methodNotAllowed(allowed);
  let body = "";
  if (method === "PUT" && name !== null) {
    try {
      body = await readCappedText(request);
    } catch (err) {
      // Go's text for a body cut off by http.MaxBytesReader.
      if (err instanceof RequestTooLarge) return httpError(400, "http: request body too large");
      throw err;
    }
  }
  const reply = await api.v2Auth({ resource, method, name, body, ...v2Identity(request, clientCertAuth) });
  return json(reply.body, reply.status, reply.clusterHeader ? cid : {});
}
