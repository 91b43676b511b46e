/**
 * v3 discovery: the registry layout etcd's v3 discovery client uses
 * (`/_etcd/registry/<token>/_config/size`, `.../members/<member id>`), in
 * the v3 keyspace of the shard that holds the token, served under
 * `/discovery/v3/...` as the JSON gateway (the gRPC front serves it over
 * gRPC with `--discovery`, for `etcd --discovery-token T
 * --discovery-endpoints ...`).
 *
 * The client reads the size, reads the members, puts its own member key and
 * watches the members from the next revision; so this serves range, put and
 * watch, each confined to one token's keys: a token is a capability, and
 * one token's callers must not read or write another's. A member key is
 * attached to the token's lease, so it expires with the token.
 */
import type { ClusterApi } from "../http/cluster-client.ts";
import { answerV3, decodeV3, errorResponse, readBody, serveStream } from "../http/v3-routes.ts";
import { plainError } from "../http/go-http.ts";
import { config, type Env } from "../env.ts";
import { RequestTooLarge } from "../server/limits.ts";
import { forEachLine } from "../server/lines.ts";
import { errRequestTooLarge, GrpcCode, V3Error } from "../v3/errors.ts";
import { decodeWatchRequest } from "../v3/gateway-watch.ts";
import { prefixEnd } from "../v3/recipes.ts";
import type { Bytes } from "../v3/types.ts";
import type { StubFor } from "./new-token.ts";
import { registryPath, shardFor, TOKEN_PATTERN, tokenLease } from "./token.ts";

const REGISTRY_KEY = new RegExp(`^/_etcd/registry/(${TOKEN_PATTERN})(?:/|$)`);
const MEMBER_KEY = new RegExp(`^/_etcd/registry/(${TOKEN_PATTERN})/members/[^/]+$`);

const noWatchCreated = () => new V3Error(GrpcCode.InvalidArgument, "etcdserver: no watch was created");
const denied = () => new V3Error(GrpcCode.PermissionDenied, "etcdserver: permission denied");

/** The token whose keys [key, rangeEnd) stay within, or a PermissionDenied error. */
export function tokenOfSpan(key: Bytes, rangeEnd: Bytes): string {
  const m = REGISTRY_KEY.exec(key);
  if (!m) throw denied();
  if (rangeEnd !== "" && (rangeEnd === "\0" || rangeEnd > prefixEnd(registryPath(m[1])))) throw denied();
  return m[1];
}

export async function handleV3Registry(request: Request, env: Env, stubFor: StubFor, path: string): Promise<Response> {
  const maxWatches = config(env).maxWatches;
  const shardOf = (token: string) => ({ name: shardFor(token), api: stubFor(env, shardFor(token)) });
  if (path === "watch") return serveStream(request, maxWatches, (requests) => watchOneToken(requests, shardOf));
  if (path !== "kv/range" && path !== "kv/put") return plainError(404, "Not Found");
  if (request.method !== "POST") return plainError(405, "Method Not Allowed");
  try {
    const req = decodeV3(path, await readBody(request));
    let token: string;
    if (req.method === "put") {
      const m = MEMBER_KEY.exec(req.req.key);
      if (!m) throw denied();
      token = m[1];
      // An unknown or expired token has no lease: the put fails with
      // "requested lease not found", and nothing is written.
      req.req.lease = tokenLease(token);
      req.req.ignoreLease = false;
    } else if (req.method === "range") {
      token = tokenOfSpan(req.req.key, req.req.rangeEnd);
    } else throw denied();
    const shard = shardOf(token);
    return await answerV3(path, req, shard.name, shard.api);
  } catch (err) {
    if (err instanceof V3Error) return errorResponse(err.body);
    throw err;
  }
}

/**
 * A watch stream whose first create names the token, and so the shard that
 * serves the whole stream; a later create outside that token ends it.
 */
async function watchOneToken(
  requests: ReadableStream<Uint8Array>,
  shardOf: (token: string) => { name: string; api: ClusterApi },
): Promise<ReadableStream<Uint8Array>> {
  const forwarded = new TransformStream<Uint8Array, Uint8Array>();
  const writer = forwarded.writable.getWriter();
  const encoder = new TextEncoder();
  let token: string | null = null;
  let resolveShard: (api: ClusterApi) => void = () => {};
  let failShard: (err: unknown) => void = () => {};
  const shard = new Promise<ClusterApi>((resolve, reject) => {
    resolveShard = resolve;
    failShard = reject;
  });
  forEachLine(requests, async (line) => {
    const req = decodeWatchRequest(line);
    // Until a create names the token there is no shard to forward to, and a
    // write would wait forever for a reader: the stream is refused as one that
    // created no watch.
    if (token === null && !("create" in req)) throw noWatchCreated();
    if ("create" in req) {
      const t = tokenOfSpan(req.create.key, req.create.rangeEnd);
      if (token === null) {
        token = t;
        resolveShard(shardOf(t).api);
      } else if (t !== token) throw denied();
    }
    await writer.write(encoder.encode(`${line.trim()}\n`));
    return true;
  })
    .catch(async (err: unknown) => {
      // A message over the stream's limit is etcd's "request is too large", not an internal error.
      failShard(err instanceof RequestTooLarge ? errRequestTooLarge() : err);
      await writer.abort(err).catch(() => {});
    })
    .finally(() => {
      failShard(noWatchCreated());
      void writer.close().catch(() => {});
    });
  return (await shard).v3Watch(forwarded.readable);
}
