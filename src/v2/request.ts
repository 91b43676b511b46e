/**
 * Parsing and validating a /v2/keys request, in etcd's order (the first
 * failure is the answer), into a plain KeysRequest that crosses Durable
 * Object RPC.
 */
import { ErrorCode, V2Error } from "./errors.ts";
import { cleanPath } from "./path.ts";
import type { Params } from "./form.ts";
import type { Credentials } from "./auth-roles.ts";

export type KeysMethod = "GET" | "HEAD" | "PUT" | "POST" | "DELETE";

export interface KeysRequest {
  method: KeysMethod;
  /** Cleaned store path ("/" for the root). */
  path: string;
  value: string;
  dir: boolean;
  prevValue: string;
  /**
   * Decimal text of a uint64 ("0" when absent): it can exceed 2^53 (docker's
   * libkv sends 2^64-1 to force a failing compare), and etcd echoes it in the
   * compare-failed cause.
   */
  prevIndex: string;
  /** null when absent: absent and false mean different things. */
  prevExist: boolean | null;
  wait: boolean;
  waitIndex: number;
  recursive: boolean;
  sorted: boolean;
  quorum: boolean;
  stream: boolean;
  refresh: boolean | null;
  /** Seconds; null when absent or empty (no TTL). */
  ttl: number | null;
  noValueOnSuccess: boolean;
  /** Set by a follower that passed the request on to its leader (at most one hop). */
  forwarded?: boolean;
  /** A read the server makes for itself (the /health check): not a client's keys request. */
  internal?: boolean;
  /**
   * The client's basic credentials, until a member has checked the
   * request's access (src/server/v2-access.ts): undefined without an
   * Authorization header, null for one that is not valid basic auth.
   */
  credentials?: Credentials | null;
  /**
   * With CLIENT_CERT_AUTH on and no Authorization header: the common name of
   * the client certificate Cloudflare verified, which names the user as
   * etcd's --client-cert-auth does (no password: the certificate proves it).
   */
  certificateUser?: string;
  /** The key as the URL named it (decoded, not cleaned), which etcd checks permissions on; `path` when absent. */
  authKey?: string;
  /** Set once a member has checked access, so that the leader it passes the request to does not check again. */
  authorized?: boolean;
}

/** GET and HEAD change nothing: safe to send again, to any member. */
export function isReadOnly(req: Pick<KeysRequest, "method">): boolean {
  return req.method === "GET" || req.method === "HEAD";
}

const BOOLS: Record<string, boolean> = {
  "1": true, t: true, T: true, TRUE: true, true: true, True: true,
  "0": false, f: false, F: false, FALSE: false, false: false, False: false,
};

/** Go's strconv.ParseBool; undefined for anything else, the empty string included. */
function parseBool(s: string): boolean | undefined {
  return BOOLS[s];
}

const MAX_UINT64 = 18446744073709551615n;

/**
 * Keys may have at most this many path components. etcd has no limit of its
 * own, but its request line tops out near 4 KiB (about 2,000 components);
 * here listings recurse once per level, so depth is bounded explicitly.
 */
export const MAX_KEY_DEPTH = 1000;

/** Go's strconv.ParseUint(s, 10, 64). Values above 2^53 lose precision, which no comparison here needs. */
function parseUint(s: string): number | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined;
  if (BigInt(s) > MAX_UINT64) return undefined;
  return Number(s);
}

function requestError(code: number, cause: string): V2Error {
  return new V2Error(code, cause, 0);
}

/** Throws V2Error (index 0) for the first invalid parameter, as etcd's parseKeyRequest does. */
export function parseKeysRequest(method: KeysMethod, keyPath: string, params: Params): KeysRequest {
  const first = (name: string): string | undefined => params.get(name)?.[0];

  const uint = (name: string): number => {
    const v = first(name);
    if (v === undefined) return 0;
    const n = parseUint(v);
    if (n === undefined) throw requestError(ErrorCode.IndexNaN, `invalid value for "${name}"`);
    return n;
  };
  const uintText = (name: string): string => {
    const v = first(name);
    if (v === undefined) return "0";
    if (parseUint(v) === undefined) throw requestError(ErrorCode.IndexNaN, `invalid value for "${name}"`);
    return BigInt(v).toString();
  };
  const bool = (name: string, cause = `invalid value for "${name}"`): boolean => {
    const v = first(name);
    if (v === undefined) return false;
    const b = parseBool(v);
    if (b === undefined) throw requestError(ErrorCode.InvalidField, cause);
    return b;
  };

  const prevIndex = uintText("prevIndex");
  const waitIndex = uint("waitIndex");
  const recursive = bool("recursive");
  const sorted = bool("sorted");
  const wait = bool("wait");
  const dir = bool("dir");
  const quorum = bool("quorum");
  const stream = bool("stream");
  if (wait && method !== "GET") {
    throw requestError(ErrorCode.InvalidField, `"wait" can only be used with GET requests`);
  }
  const prevValue = first("prevValue") ?? "";
  if (params.has("prevValue") && prevValue === "") {
    throw requestError(ErrorCode.PrevValueRequired, `"prevValue" cannot be empty`);
  }
  const noValueOnSuccess = bool("noValueOnSuccess");

  let ttl: number | null = null;
  const ttlText = first("ttl") ?? "";
  if (ttlText !== "") {
    const n = parseUint(ttlText);
    if (n === undefined) throw requestError(ErrorCode.TTLNaN, `invalid value for "ttl"`);
    ttl = n;
  }
  // etcd's causes for these two have no quotes around the name.
  const prevExist = params.has("prevExist") ? bool("prevExist", "invalid value for prevExist") : null;
  const refresh = params.has("refresh") ? bool("refresh", "invalid value for refresh") : null;
  const value = first("value") ?? "";
  if (refresh) {
    if (value !== "") throw requestError(ErrorCode.RefreshValue, "A value was provided on a refresh");
    if (ttl === null) throw requestError(ErrorCode.RefreshTTLRequired, "No TTL value set");
  }

  const path = cleanPath(keyPath);
  const depth = path === "/" ? 0 : path.split("/").length - 1;
  if (depth > MAX_KEY_DEPTH) {
    throw requestError(ErrorCode.InvalidField, `the key has ${depth} path components; at most ${MAX_KEY_DEPTH} are supported`);
  }
  return {
    method,
    path,
    value,
    dir,
    prevValue,
    prevIndex,
    prevExist,
    wait,
    waitIndex,
    recursive,
    sorted,
    quorum,
    stream,
    refresh,
    ttl,
    noValueOnSuccess,
  };
}

/** A plain request as the router would build it for `method` on `path` with the given parameters. */
export function keysRequest(method: KeysMethod, path: string, params: Record<string, string> = {}): KeysRequest {
  return parseKeysRequest(method, path, new Map(Object.entries(params).map(([k, v]) => [k, [v]])));
}
