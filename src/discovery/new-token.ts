/**
 * /new: creates a token and answers its URL, as discovery.etcd.io does
 * (`<public base URL>/<token>`, text/plain, no newline).
 *
 * A token is a v2 directory `/_etcd/registry/<token>` created with a TTL, so
 * the replica's expiry alarm deletes it, with its size key and every
 * registration, once it is DISCOVERY_TOKEN_TTL_SECONDS old. etcd registers
 * members as children of that directory, which leaves the directory's TTL
 * as it is. The same token serves v3 discovery (v3-registry.ts): its size
 * key in the v3 keyspace, attached to a lease of the same TTL that every
 * v3 registration is attached to too.
 */
import { parseForm, type Params } from "../v2/form.ts";
import { POST_TOO_LARGE } from "../v2/errors.ts";
import { readCappedText } from "../http/capped-body.ts";
import { RequestTooLarge } from "../server/limits.ts";
import { methodNotAllowed, plainError, TEXT_PLAIN } from "../http/go-http.ts";
import { keysRequest } from "../v2/request.ts";
import type { ClusterApi } from "../http/cluster-client.ts";
import { clientAddress } from "./client-address.ts";
import type { DiscoveryConfig, Env } from "../env.ts";
import type { RateLimiterApi } from "./rate-limiter.ts";
import { newToken, registryPath, shardFor, tokenLease } from "./token.ts";
import { putRequest } from "../v3/requests.ts";

export const DEFAULT_SIZE = 3;
/**
 * discovery.etcd.io accepts any integer. Below 1 etcd cannot bootstrap at
 * all, and etcd itself advises clusters of at most 7 members; 1000 only
 * catches mistakes (a typo, a port number) without getting in anyone's way.
 */
export const MAX_SIZE = 1000;
const NEW_METHODS = ["GET", "POST", "PUT"];
/** A /new body carries one small parameter (size); anything bigger is a mistake or abuse of a public endpoint. */
const MAX_NEW_BODY_BYTES = 64 * 1024;

export type StubFor = (env: Env, cluster: string) => ClusterApi;

export async function handleNew(request: Request, env: Env, stubFor: StubFor, config: DiscoveryConfig): Promise<Response> {
  if (!NEW_METHODS.includes(request.method)) return methodNotAllowed(NEW_METHODS);
  let body: string | null = null;
  try {
    if (request.method !== "GET") body = await readCappedText(request, MAX_NEW_BODY_BYTES);
  } catch (err) {
    if (err instanceof RequestTooLarge) return plainError(400, `cannot read the request's parameters: ${POST_TOO_LARGE}`);
    throw err;
  }
  const form = parseForm(request.method, request.headers.get("Content-Type"), body, new URL(request.url).search.slice(1));
  if (form.error) return plainError(400, `cannot read the request's parameters: ${form.error}`);
  const size = parseSize(form.params);
  if (typeof size === "string") return plainError(400, size);

  if (config.newPerMinute > 0) {
    const address = clientAddress(request.headers);
    const limiter = env.DISCOVERY_LIMITER.getByName(address) as unknown as RateLimiterApi;
    const decision = await limiter.take(config.newPerMinute);
    if (!decision.allowed) {
      return plainError(
        429,
        `too many new tokens: at most ${config.newPerMinute} per minute from one address (${address}); ` +
          `try again in ${decision.retryAfterSeconds} s. A token is enough for a whole cluster.`,
        { "Retry-After": String(decision.retryAfterSeconds) },
      );
    }
  }

  const token = newToken();
  if (!(await createToken(stubFor(env, shardFor(token)), token, size, config.tokenTTLSeconds))) {
    return plainError(500, "unable to generate token: the registry refused the write; please try again");
  }
  const base = config.baseURL ?? new URL(request.url).origin;
  return new Response(`${base}/${token}`, { headers: { "Content-Type": TEXT_PLAIN } });
}

/** The size as a number, or the text of a 400. An absent or empty size means the default. */
export function parseSize(params: Params): number | string {
  const raw = params.get("size")?.[0] ?? "";
  if (raw === "") return DEFAULT_SIZE;
  const n = /^[0-9]{1,7}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_SIZE)) {
    return `invalid size ${JSON.stringify(raw)}: size is the number of members that start the cluster, a whole number from 1 to ${MAX_SIZE} (default ${DEFAULT_SIZE})`;
  }
  return n;
}

/**
 * The directory first (with the TTL), then the size key under it, both with
 * create semantics. The size key thus takes an index before any member, so a
 * member's createdIndex is at least 2 (etcd would send waitIndex=0 for 1).
 * A failure halfway leaves an empty directory that expires like any token.
 */
async function createToken(stub: ClusterApi, token: string, size: number, ttlSeconds: number): Promise<boolean> {
  const dir = keysRequest("PUT", registryPath(token), { dir: "true", ttl: String(ttlSeconds), prevExist: "false" });
  if ((await stub.keys(dir)).status !== 201) return false;
  const sizeKey = keysRequest("PUT", `${registryPath(token)}/_config/size`, { value: String(size), prevExist: "false" });
  if ((await stub.keys(sizeKey)).status !== 201) return false;
  const lease = tokenLease(token);
  if (!(await stub.v3({ method: "leaseGrant", req: { id: lease, ttl: ttlSeconds } })).ok) return false;
  return (await stub.v3({ method: "put", req: putRequest(`${registryPath(token)}/_config/size`, String(size), { lease }) })).ok;
}
