/**
 * etcd 3.4's gRPC JSON gateway for the KV service: `POST /v3/kv/{range,put,
 * deleterange,txn,compaction}` (and the same under `/v3beta/`), the request
 * message as the JSON body, the response message or `{"error","message",
 * "code"}` back, with the gateway's headers. Other `/v3/` paths answer as the
 * gateway answers a path it does not know.
 */
import { clusterId } from "../server/identity.ts";
import type { V3Reply, V3Request, V3Response } from "../server/api.ts";
import { goJSON } from "../go/json.ts";
import * as lease from "../v3/gateway-lease.ts";
import { decodeAlarmRequest, encodeAlarmResponse } from "../v3/gateway-alarm.ts";
import type { AlarmResponse } from "../v3/alarms.ts";
import { errRequestTooLarge, GrpcCode, V3Error, type V3ErrorBody } from "../v3/errors.ts";
import { goJSONSyntaxError } from "../go/json-syntax.ts";
import { CLUSTER_PATHS } from "./v3-cluster-routes.ts";
import { observeStream, RECIPE_PATHS, runRecipe } from "./v3-recipe-routes.ts";
import { forEachLine } from "../server/lines.ts";
import * as gateway from "../v3/gateway-json.ts";
import { AUTH_PATHS, decodeAuthRequest, encodeAuthResponse, type V3AuthResponse } from "../v3/gateway-auth.ts";
import type {
  CompactionResponse,
  DeleteRangeResponse,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  PutResponse,
  RangeResponse,
  TxnResponse,
} from "../v3/types.ts";
import type { ClusterApi } from "./cluster-client.ts";
import { CORS_HEADERS, plainError } from "./go-http.ts";
import { admit, counted } from "./open-streams.ts";
import { readCappedText } from "./capped-body.ts";
import { MAX_V3_BODY_BYTES, RequestTooLarge } from "../server/limits.ts";

interface Method {
  decode(body: string): V3Request;
  encode(header: gateway.ResponseHeader, response: V3Response): string;
}

/** What each path does; the response type follows from the request's. */
const METHODS: Record<string, Method> = {
  "kv/range": {
    decode: (b) => ({ method: "range", req: gateway.decodeRangeRequest(b) }),
    encode: (h, r) => gateway.encodeRangeResponse(h, r as RangeResponse),
  },
  "kv/put": {
    decode: (b) => ({ method: "put", req: gateway.decodePutRequest(b) }),
    encode: (h, r) => gateway.encodePutResponse(h, r as PutResponse),
  },
  "kv/deleterange": {
    decode: (b) => ({ method: "deleteRange", req: gateway.decodeDeleteRangeRequest(b) }),
    encode: (h, r) => gateway.encodeDeleteRangeResponse(h, r as DeleteRangeResponse),
  },
  "kv/txn": {
    decode: (b) => ({ method: "txn", req: gateway.decodeTxnRequest(b) }),
    encode: (h, r) => gateway.encodeTxnResponse(h, r as TxnResponse),
  },
  "kv/compaction": {
    decode: (b) => ({ method: "compact", req: gateway.decodeCompactionRequest(b) }),
    encode: (h, r) => gateway.encodeCompactionResponse(h, r as CompactionResponse),
  },
  "lease/grant": {
    decode: (b) => ({ method: "leaseGrant", req: lease.decodeLeaseGrantRequest(b) }),
    encode: (h, r) => lease.encodeLeaseGrantResponse(h, r as LeaseGrantResponse),
  },
  "lease/revoke": {
    decode: (b) => ({ method: "leaseRevoke", req: lease.decodeLeaseRevokeRequest(b) }),
    encode: (h, r) => lease.encodeLeaseRevokeResponse(h, r as LeaseRevokeResponse),
  },
  "lease/timetolive": {
    decode: (b) => ({ method: "leaseTimeToLive", req: lease.decodeLeaseTimeToLiveRequest(b) }),
    encode: (h, r) => lease.encodeLeaseTimeToLiveResponse(h, r as LeaseTimeToLiveResponse),
  },
  "lease/leases": {
    decode: (b) => ({ method: "leaseLeases", req: lease.decodeLeaseLeasesRequest(b) }),
    encode: (h, r) => lease.encodeLeaseLeasesResponse(h, r as LeaseLeasesResponse),
  },
  "maintenance/alarm": {
    decode: (b) => ({ method: "alarm", req: decodeAlarmRequest(b) }),
    encode: (_h, r) => encodeAlarmResponse(r as AlarmResponse),
  },
};
// The Auth service: each call through the member that takes it (src/server/v3-auth-service.ts).
for (const path of Object.keys(AUTH_PATHS)) {
  METHODS[path] = { decode: (b) => ({ method: "auth", req: decodeAuthRequest(path, b) }), encode: (h, r) => encodeAuthResponse(h, r as V3AuthResponse) };
}
// etcd 3.4 still answers the lease calls at their first paths too.
METHODS["kv/lease/revoke"] = METHODS["lease/revoke"];
METHODS["kv/lease/timetolive"] = METHODS["lease/timetolive"];
METHODS["kv/lease/leases"] = METHODS["lease/leases"];

const JSON_HEADERS = { ...CORS_HEADERS, "Content-Type": "application/json" };

/** Answers a request for `path` (what follows `/v3/` or `/v3beta/`) on the cluster `cluster`. */
export async function handleV3(request: Request, path: string, cluster: string, api: ClusterApi, clientURL: string, maxWatches = 0): Promise<Response> {
  const method = METHODS[path];
  const other = CLUSTER_PATHS[path];
  const recipe = RECIPE_PATHS[path];
  const stream = path === "lease/keepalive" || path === "watch" || path === "election/observe";
  if (!method && !other && !recipe && !stream) return withCORS(plainError(404, "Not Found"));
  if (request.method === "OPTIONS") return new Response(null, { status: 200, headers: CORS_HEADERS });
  if (path === "watch") return serveStream(request, maxWatches, (requests) => api.v3Watch(requests, request.signal));
  if (path === "lease/keepalive") return serveStream(request, maxWatches, async (requests) => keepAliveLines(requests, cluster, api));
  if (request.method !== "POST") return withCORS(plainError(405, "Method Not Allowed"));
  if (path === "election/observe") {
    const place = admit(maxWatches);
    if ("refused" in place) return errorResponse({ code: GrpcCode.Unavailable, message: place.refused });
    try {
      return success(counted(observeStream(await readBody(request), api, cluster), place.release, request.signal));
    } catch (err) {
      place.release();
      if (err instanceof V3Error) return errorResponse(err.body);
      throw err;
    }
  }
  let req: V3Request;
  try {
    const body = await readBody(request);
    if (other) return success(await other(parseObject(body), api, cluster, clientURL));
    if (recipe) return success(await runRecipe(recipe, body, api, cluster));
    req = method.decode(body);
  } catch (err) {
    if (err instanceof V3Error) return errorResponse(err.body);
    throw err;
  }
  return answerV3(path, req, cluster, api);
}

/** The request of a KV or lease call (`path` as in METHODS) decoded from its JSON, or etcd's V3Error. */
export function decodeV3(path: string, body: string): V3Request {
  return METHODS[path].decode(body);
}

/** Runs a decoded KV or lease call on `cluster` and answers it as the gateway does. */
export async function answerV3(path: string, req: V3Request, cluster: string, api: ClusterApi): Promise<Response> {
  const reply = await api.v3(req);
  if (!reply.ok) return errorResponse(reply.error);
  return success(METHODS[path].encode(headerOf(cluster, reply), reply.response));
}

/**
 * A bidirectional stream (watch, lease keep-alive): request lines in,
 * response lines out, over a chunked POST or, as etcd's gateway also serves
 * them, a WebSocket. Each held stream costs the runtime sockets, so past
 * MAX_WATCHES a new one is refused.
 */
export async function serveStream(
  request: Request,
  maxWatches: number,
  serve: (requests: ReadableStream<Uint8Array>) => Promise<ReadableStream<Uint8Array>>,
): Promise<Response> {
  const webSocket = request.headers.get("Upgrade")?.toLowerCase() === "websocket";
  if (!webSocket && request.method !== "POST") return withCORS(plainError(405, "Method Not Allowed"));
  const place = admit(maxWatches);
  if ("refused" in place) return errorResponse({ code: GrpcCode.Unavailable, message: place.refused });
  if (webSocket) return overWebSocket(serve, place.release);
  try {
    return success(counted(await serve(request.body ?? new Blob([]).stream()), place.release, request.signal));
  } catch (err) {
    place.release();
    if (err instanceof V3Error) return errorResponse(err.body);
    throw err;
  }
}

function headerOf(cluster: string, reply: Extract<V3Reply, { ok: true }>): gateway.ResponseHeader {
  return {
    clusterId: gateway.idToDecimal(clusterId(cluster)),
    memberId: gateway.idToDecimal(reply.memberId),
    revision: reply.response.revision,
    raftTerm: reply.raftTerm,
  };
}

/**
 * LeaseKeepAlive over the gateway: the requests are a sequence of
 * `{"ID":...}` messages, one per line; each is answered, as it arrives, with
 * one line `{"result":{...}}`; the answer ends when the requests do. An
 * error ends the stream with grpc-gateway's in-stream error object.
 */
function keepAliveLines(requests: ReadableStream<Uint8Array>, cluster: string, api: ClusterApi): ReadableStream<Uint8Array> {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const encoder = new TextEncoder();
  const answer = async (message: string): Promise<boolean> => {
    let reply: V3Reply;
    try {
      reply = await api.v3({ method: "leaseKeepAlive", req: lease.decodeLeaseKeepAliveRequest(message) });
    } catch (err) {
      if (!(err instanceof V3Error)) throw err;
      reply = { ok: false, error: err.body, leader: "" };
    }
    if (!reply.ok) {
      await writeError(reply.error);
      return false;
    }
    await writer.write(encoder.encode(`{"result":${lease.encodeLeaseKeepAliveResponse(headerOf(cluster, reply), reply.response as LeaseKeepAliveResponse)}}\n`));
    return true;
  };
  const writeError = async ({ code, message }: V3ErrorBody) => {
    const status = gateway.httpStatusFromCode(code);
    await writer.write(encoder.encode(`${goJSON({ error: { grpc_code: code, http_code: status, message, http_status: STATUS_TEXT[status] ?? "" } })}\n`));
  };
  forEachLine(requests, answer)
    .catch((err: unknown) => (err instanceof RequestTooLarge ? writeError(errRequestTooLarge().body) : console.error("lease keepalive stream", err)))
    .finally(() => writer.close().catch(() => {}));
  return readable;
}

/**
 * A bidirectional stream over a WebSocket, as etcd's gateway serves it: each
 * text message is a request, each response a message. The messages feed the
 * same request lines a chunked POST would, and the response lines go back
 * one per message; when the client leaves, its requests end and the
 * responses are dropped (a member ends the watches of a stream it lost).
 */
function overWebSocket(serve: (requests: ReadableStream<Uint8Array>) => Promise<ReadableStream<Uint8Array>>, release: () => void): Response {
  const [client, server] = Object.values(new WebSocketPair());
  server.accept();
  const requests = new TransformStream<Uint8Array, Uint8Array>();
  const writer = requests.writable.getWriter();
  const encoder = new TextEncoder();
  const left = new AbortController();
  server.addEventListener("message", (e) => void writer.write(encoder.encode(`${String(e.data).trim()}\n`)).catch(() => {}));
  server.addEventListener("close", () => {
    void writer.close().catch(() => {});
    left.abort();
  });
  serve(requests.readable)
    .then((responses) =>
      forEachLine(
        responses,
        (line) => {
          server.send(line);
          return true;
        },
        left.signal,
      ),
    )
    // A client that leaves cancels the responses: that is no error.
    .catch((err: unknown) => left.signal.aborted || console.error("stream over WebSocket", err))
    .finally(() => {
      release();
      server.close();
    });
  return new Response(null, { status: 101, webSocket: client });
}

const STATUS_TEXT: Record<number, string> = { 400: "Bad Request", 404: "Not Found", 412: "Precondition Failed", 500: "Internal Server Error", 503: "Service Unavailable" };

function success(body: string | ReadableStream<Uint8Array>): Response {
  return new Response(body, { headers: { ...JSON_HEADERS, "Grpc-Metadata-Content-Type": "application/grpc" } });
}

/** A cluster or maintenance request's body: a JSON object (empty for no body), or etcd's decoding error. */
function parseObject(body: string): Record<string, unknown> {
  if (body.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new V3Error(GrpcCode.InvalidArgument, goJSONSyntaxError(body));
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new V3Error(GrpcCode.InvalidArgument, "json: cannot unmarshal value into Go value of type map[string]json.RawMessage");
  }
  return value as Record<string, unknown>;
}

/**
 * The body, refused past MAX_V3_BODY_BYTES as it arrives; what the request
 * becomes in the log is checked before it is proposed.
 */
export async function readBody(request: Request): Promise<string> {
  try {
    return await readCappedText(request, MAX_V3_BODY_BYTES);
  } catch (err) {
    if (err instanceof RequestTooLarge) throw errRequestTooLarge();
    throw err;
  }
}

export function errorResponse(error: V3ErrorBody): Response {
  return new Response(gateway.encodeError(error), { status: gateway.httpStatusFromCode(error.code), headers: JSON_HEADERS });
}

function withCORS(res: Response): Response {
  for (const [name, value] of Object.entries(CORS_HEADERS)) res.headers.set(name, value);
  return res;
}
