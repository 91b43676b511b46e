/**
 * /v2/keys: parse and validate the request as etcd does, hand it to the
 * cluster's replica, and write the reply with etcd's status and headers.
 */
import { ErrorCode, postTooLarge, raftInternalError, V2Error, v2ErrorStatus } from "../v2/errors.ts";
import type { KeysReply } from "../server/api.ts";
import { goJSONLine } from "../go/json.ts";
import { methodNotAllowed, requestURL, responseWithCORS } from "./go-http.ts";
import { decodeUTF8, FormError, parseForm, unescape } from "../v2/form.ts";
import { parseKeysRequest, type KeysMethod, type KeysRequest } from "../v2/request.ts";
import { admit, counted } from "./open-streams.ts";
import { readCappedBody } from "./capped-body.ts";
import { RequestTooLarge } from "../server/limits.ts";
import { basicCredentials } from "./basic-auth.ts";
import { certificateUser } from "./client-identity.ts";

const KEYS_METHODS: KeysMethod[] = ["HEAD", "GET", "PUT", "POST", "DELETE"];

export interface KeysBackend {
  keys(req: KeysRequest): Promise<KeysReply>;
  /** A watch: its events are the reply's stream, and `clientGone` ends it (see ClusterApi.v2Watch). */
  v2Watch(req: KeysRequest, clientGone?: AbortSignal): Promise<KeysReply>;
}

/**
 * `rawKeyPath` is the still-escaped URL path after "/v2/keys". `maxWatches`
 * (0: no limit) caps the watches held open at once by this Worker instance:
 * beyond what the process can hold (each costs sockets), new watches are
 * refused with a clear error instead of bringing the runtime down.
 */
export async function handleKeys(
  request: Request,
  rawKeyPath: string,
  clusterId: string,
  backend: KeysBackend,
  maxWatches = 0,
  clientCertAuth = false,
): Promise<Response> {
  const method = request.method as KeysMethod;
  if (!KEYS_METHODS.includes(method)) return methodNotAllowed(KEYS_METHODS);
  const clusterHeader = { "X-Etcd-Cluster-Id": clusterId };

  let req: KeysRequest;
  try {
    req = await readKeysRequest(request, method, rawKeyPath, clientCertAuth);
  } catch (err) {
    // etcd's answer to a form body over Go's limit (10 MiB there, MAX_REQUEST_BYTES here).
    const body = err instanceof RequestTooLarge ? postTooLarge() : err instanceof V2Error ? err.body : null;
    if (!body) throw err;
    const reply = { status: v2ErrorStatus(body.errorCode), body: goJSONLine(body), etcdIndex: 0, raft: null };
    return keysResponse(reply, clusterHeader);
  }
  const watching = req.method === "GET" && req.wait && !req.quorum;
  const place = watching ? admit(maxWatches) : null;
  if (place && "refused" in place) {
    return keysResponse({ status: 503, body: goJSONLine(raftInternalError(place.refused)), etcdIndex: 0, raft: null }, clusterHeader);
  }
  let reply: KeysReply;
  try {
    reply = watching ? await backend.v2Watch(req, request.signal) : await backend.keys(req);
  } catch (err) {
    place?.release();
    throw err;
  }
  if (place) {
    // A watch answered at once (from history) or refused holds nothing.
    if (reply.stream) reply.stream = counted(reply.stream, place.release, request.signal);
    else place.release();
  }
  return keysResponse(reply, clusterHeader);
}

async function readKeysRequest(request: Request, method: KeysMethod, rawKeyPath: string, clientCertAuth: boolean): Promise<KeysRequest> {
  const url = requestURL(request);
  let body: string | null = null;
  if (method === "POST" || method === "PUT") body = decodeUTF8(await readCappedBody(request));
  const form = parseForm(method, request.headers.get("Content-Type"), body, url.search.slice(1));
  if (form.error) throw new V2Error(ErrorCode.InvalidForm, form.error, 0);
  let keyPath: string;
  try {
    keyPath = unescape(rawKeyPath, false);
  } catch (err) {
    if (err instanceof FormError) throw new V2Error(ErrorCode.InvalidForm, err.message, 0);
    throw err;
  }
  // What the request's escapes expand to is checked once encoded for the log
  // (the entry limit of src/server/limits.ts, before it is proposed).
  const req = parseKeysRequest(method, keyPath, form.params);
  // Who asks, for which key: the member checks both against the v2 auth records.
  req.credentials = basicCredentials(request.headers.get("Authorization"));
  // etcd's --client-cert-auth: without an Authorization header, a verified certificate names the user.
  if (req.credentials === undefined && clientCertAuth) req.certificateUser = certificateUser(request);
  req.authKey = keyPath;
  return req;
}

type ReplyParts = Pick<KeysReply, "status" | "body" | "etcdIndex" | "raft" | "stream">;

function keysResponse(reply: ReplyParts, extra: Record<string, string>): Response {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    ...extra,
    "X-Etcd-Index": String(reply.etcdIndex),
  };
  if (reply.raft) {
    headers["X-Raft-Index"] = String(reply.raft.index);
    headers["X-Raft-Term"] = String(reply.raft.term);
  }
  return responseWithCORS(reply.stream ?? reply.body, reply.status, headers);
}
