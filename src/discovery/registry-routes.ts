/**
 * `/<token>`, `/<token>/<member id>` and `/<token>/_config/size`: the v2 keys
 * API on `/_etcd/registry/<token>/...` in the replica that holds the token,
 * through the same parser and store as /v2/keys. Answers are therefore the
 * ones the old discovery.etcd.io proxied from etcd: etcd's JSON and error
 * codes (100 for an unknown token, 105 for a member registered twice),
 * X-Etcd-Index, waits and recursive watches.
 */
import { clusterId } from "../server/identity.ts";
import { handleKeys } from "../http/keys-routes.ts";
import { methodNotAllowed, notFound } from "../http/go-http.ts";
import { config, type Env } from "../env.ts";
import type { StubFor } from "./new-token.ts";
import { registryPath, shardFor } from "./token.ts";

const READ_ONLY = ["GET"];
const MEMBER = ["GET", "PUT", "DELETE"];

/**
 * `rest` is the still-escaped path after the token. The token directory and
 * hidden names (`_config`) are read-only: a PUT there could remove the
 * token's expiry or change its size. Deeper paths are not discovery routes.
 */
export function handleRegistry(request: Request, env: Env, stubFor: StubFor, token: string, rest: string): Promise<Response> | Response {
  let allowed: string[];
  if (rest === "" || rest === "/" || rest === "/_config/size") allowed = READ_ONLY;
  else if (/^\/[^/]+$/.test(rest)) allowed = rest.startsWith("/_") ? READ_ONLY : MEMBER;
  else return notFound();
  if (!allowed.includes(request.method)) return methodNotAllowed(allowed);

  const shard = shardFor(token);
  return handleKeys(request, registryPath(token) + rest, clusterId(shard), stubFor(env, shard), config(env).maxWatches);
}
