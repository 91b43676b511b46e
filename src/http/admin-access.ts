/**
 * Who may administer a deployment. A deployed Worker answers anyone on the
 * internet; with the secret ADMIN_TOKEN set, what costs money or changes a
 * cluster's shape takes `Authorization: Bearer <ADMIN_TOKEN>`: creating a
 * named cluster, adding, removing or updating members (v2 and v3), and the
 * fault API. Without the secret (`npm start`, the tests) anyone may, as etcd
 * lets anyone while its auth is off.
 *
 * Members changes are also what etcd's v2 auth reserves for its root user.
 * One Authorization header cannot carry both a bearer token and basic
 * credentials, so where an admin token is set it stands in for the root
 * check; where none is, etcd's root check applies as etcd makes it.
 */
import { GrpcCode } from "../v3/errors.ts";
import { sameBytes } from "../v2/password.ts";
import { v2Identity } from "./client-identity.ts";
import type { ClusterApi } from "./cluster-client.ts";
import { httpError, json } from "./go-http.ts";
import { errorResponse } from "./v3-routes.ts";

const CHALLENGE = { "WWW-Authenticate": 'Bearer realm="admin"' };
const REQUIRED = "admin token required: send the deployment's ADMIN_TOKEN as Authorization: Bearer";

/** Whether the request carries the admin token; always true where none is configured. */
export async function isAdmin(request: Request, token: string | null): Promise<boolean> {
  if (token === null) return true;
  const given = /^Bearer +(\S+)\s*$/i.exec(request.headers.get("Authorization") ?? "")?.[1];
  return given !== undefined && (await sameSecret(given, token));
}

/**
 * Compares digests rather than the texts: equal lengths whatever was sent,
 * and every byte compared, so the time taken says nothing of how close a
 * guess was.
 */
async function sameSecret(given: string, token: string): Promise<boolean> {
  const digest = async (s: string) => new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)));
  return sameBytes(await digest(given), await digest(token));
}

/** The answer without the admin token, in the v2 API's error shape. */
export function adminRequired(): Response {
  return httpError(401, REQUIRED, CHALLENGE);
}

/** The same for the v3 gateway: gRPC's Unauthenticated, in the gateway's error shape. */
export function v3AdminRequired(): Response {
  const res = errorResponse({ code: GrpcCode.Unauthenticated, message: REQUIRED });
  res.headers.set("WWW-Authenticate", CHALLENGE["WWW-Authenticate"]);
  return res;
}

/**
 * A v2 members change: refused (etcd's 401 "Insufficient credentials") when
 * v2 auth is enabled and the caller is not a root user (by basic auth, or
 * with `clientCertAuth` by a verified client certificate), or, on a
 * deployment with an admin token, without that token. Null when it may go
 * ahead.
 */
export async function membersChangeRefused(request: Request, token: string | null, api: ClusterApi, clientCertAuth = false): Promise<Response | null> {
  if (token !== null) return (await isAdmin(request, token)) ? null : adminRequired();
  const check = await api.v2Auth({ resource: "root", method: "PUT", name: null, body: "", ...v2Identity(request, clientCertAuth) });
  return check.status === 200 ? null : json(check.body, check.status);
}

/** The v3 calls that change members. */
export const V3_MEMBER_CHANGES = new Set(["cluster/member/add", "cluster/member/remove", "cluster/member/update", "cluster/member/promote"]);
