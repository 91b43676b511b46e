// Requests for etcd 3.4's v3 JSON gateway: every /v3/ path (KV, Txn,
// compaction, leases, watch, lock, election, cluster, maintenance, auth),
// mostly well-formed messages with odd field values, some with a field of
// the wrong type, some not JSON at all (see mutate.ts).
import type { Rng } from "./rng.ts";
import { b64, onTheWire, type FuzzRequest, type Shape } from "./request.ts";
import { anyJSON, base64Text, bodySize, MAX_V3_BODY_BYTES, numberText, oddString, sized } from "./values.ts";

/** Leases the fuzzer grants, revokes and attaches by id (it picks the ids, so no answer is needed to use them). */
const LEASE_IDS = ["7001", "7002", "7003", "7004", "7005"];

/** A key in base64: mostly under the fuzzer's `fz/`, sometimes anything. */
function key(r: Rng): string {
  if (r.chance(0.6)) return b64(r.pick(["fz/a", "fz/b", "fz/c/d", "fz/", "fz/lock", "fz/e", "fz"]) + (r.chance(0.3) ? String(r.int(40)) : ""));
  if (r.chance(0.5)) return b64(oddString(r));
  return base64Text(r);
}

/** A range end for `key`: none, the prefix end, "\0" (everything from key on), or something odd. */
function rangeEnd(r: Rng): string | undefined {
  return r.weighted([
    [4, undefined],
    [2, b64("fz0")],
    [1, b64("fz/c0")],
    [1, "AA=="],
    [1, base64Text(r)],
  ]);
}

const int64 = (r: Rng): unknown => (r.chance(0.7) ? String(r.int(30)) : r.chance(0.5) ? numberText(r) : r.int(1e6) - 5e5);

function rangeRequest(r: Rng): Record<string, unknown> {
  return {
    key: key(r),
    range_end: rangeEnd(r),
    limit: r.chance(0.3) ? int64(r) : undefined,
    revision: r.chance(0.3) ? int64(r) : undefined,
    sort_order: r.chance(0.2) ? r.pick(["NONE", "ASCEND", "DESCEND", 1, 2, 7, "x"]) : undefined,
    sort_target: r.chance(0.2) ? r.pick(["KEY", "VERSION", "CREATE", "MOD", "VALUE", 4, 9, "x"]) : undefined,
    serializable: r.chance(0.2) ? r.pick([true, false, "true", 1]) : undefined,
    keys_only: r.chance(0.1) ? true : undefined,
    count_only: r.chance(0.1) ? true : undefined,
    min_mod_revision: r.chance(0.1) ? int64(r) : undefined,
    max_mod_revision: r.chance(0.1) ? int64(r) : undefined,
    min_create_revision: r.chance(0.1) ? int64(r) : undefined,
    max_create_revision: r.chance(0.1) ? int64(r) : undefined,
  };
}

function putRequest(r: Rng): Record<string, unknown> {
  return {
    key: key(r),
    value: r.chance(0.8) ? b64(oddString(r)) : r.chance(0.9) ? base64Text(r) : b64(sized(r, bodySize(r, MAX_V3_BODY_BYTES * 0.74))),
    lease: r.chance(0.15) ? r.pick([...LEASE_IDS, "0", "-1", "99999"]) : undefined,
    prev_kv: r.chance(0.2) ? true : undefined,
    ignore_value: r.chance(0.05) ? true : undefined,
    ignore_lease: r.chance(0.05) ? true : undefined,
  };
}

function deleteRequest(r: Rng): Record<string, unknown> {
  return { key: key(r), range_end: rangeEnd(r), prev_kv: r.chance(0.3) ? true : undefined };
}

function compare(r: Rng): Record<string, unknown> {
  const target = r.pick(["VALUE", "VERSION", "CREATE", "MOD", "LEASE", 0, 9, "x"]);
  const field = { VALUE: "value", VERSION: "version", CREATE: "create_revision", MOD: "mod_revision", LEASE: "lease" }[String(target)] ?? "value";
  return {
    key: key(r),
    range_end: r.chance(0.2) ? rangeEnd(r) : undefined,
    target,
    result: r.pick(["EQUAL", "GREATER", "LESS", "NOT_EQUAL", 5, "x"]),
    [field]: field === "value" ? b64(r.pick(["a", "", "x"])) : int64(r),
  };
}

function txnRequest(r: Rng, depth = 0): Record<string, unknown> {
  const op = (): Record<string, unknown> =>
    r.weighted<() => Record<string, unknown>>([
      [3, () => ({ request_range: rangeRequest(r) })],
      [3, () => ({ request_put: putRequest(r) })],
      [2, () => ({ request_delete_range: deleteRequest(r) })],
      [depth < 2 ? 1 : 0, () => ({ request_txn: txnRequest(r, depth + 1) })],
      [1, () => ({})],
    ])();
  const ops = (n: number) => Array.from({ length: n }, op);
  const count = () => r.weighted([[20, r.int(4)], [1, 128 + r.int(3)]]);
  return { compare: Array.from({ length: r.int(3) }, () => compare(r)), success: ops(count()), failure: r.chance(0.5) ? ops(count()) : undefined };
}

function watchLine(r: Rng): Record<string, unknown> {
  return r.weighted<() => Record<string, unknown>>([
    [6, () => ({ create_request: { key: key(r), range_end: rangeEnd(r), start_revision: r.chance(0.5) ? int64(r) : undefined, prev_kv: r.chance(0.3) ? true : undefined, progress_notify: r.chance(0.2) ? true : undefined, filters: r.chance(0.2) ? [r.pick(["NOPUT", "NODELETE", 0, 5, "x"])] : undefined, watch_id: r.chance(0.3) ? int64(r) : undefined, fragment: r.chance(0.1) ? true : undefined } })],
    [2, () => ({ cancel_request: { watch_id: int64(r) } })],
    [1, () => ({ progress_request: {} })],
    [1, () => ({})],
  ])();
}

const AUTH_CALLS = ["auth/enable", "auth/disable", "auth/authenticate", "auth/user/add", "auth/user/get", "auth/user/list", "auth/user/delete", "auth/user/changepw", "auth/user/grant", "auth/user/revoke", "auth/role/add", "auth/role/get", "auth/role/list", "auth/role/delete", "auth/role/grant", "auth/role/revoke"];

function authRequest(r: Rng): Record<string, unknown> {
  const name = r.pick(["fz-u", "fz-r", "", "ü", oddString(r)]);
  return {
    name,
    password: r.chance(0.7) ? "pw" : oddString(r),
    role: r.pick(["fz-r", "", oddString(r)]),
    user: r.pick(["fz-u", ""]),
    options: r.chance(0.2) ? { no_password: r.chance(0.5) } : undefined,
    perm: r.chance(0.5) ? { permType: r.pick(["READ", "WRITE", "READWRITE", 7, "x"]), key: key(r), range_end: rangeEnd(r) } : undefined,
    key: r.chance(0.3) ? key(r) : undefined,
    range_end: r.chance(0.2) ? rangeEnd(r) : undefined,
  };
}

interface Call {
  path: string;
  shape: Shape;
  /** The message, or for a stream the lines of messages. */
  body: () => Record<string, unknown> | Array<Record<string, unknown>>;
}

function calls(r: Rng): Array<readonly [number, Call]> {
  const leaseId = () => (r.chance(0.8) ? r.pick(LEASE_IDS) : int64(r));
  const lockName = () => (r.chance(0.7) ? b64(r.pick(["fz/lock", "fz/lock2"])) : key(r));
  const leaderKey = () => ({ name: lockName(), key: key(r), rev: int64(r), lease: leaseId() });
  const unary = (path: string, weight: number, body: () => Record<string, unknown>) => [weight, { path, shape: "unary" as Shape, body }] as const;
  return [
    unary("kv/range", 14, () => rangeRequest(r)),
    unary("kv/put", 14, () => putRequest(r)),
    unary("kv/deleterange", 6, () => deleteRequest(r)),
    unary("kv/txn", 10, () => txnRequest(r)),
    unary("kv/compaction", 2, () => ({ revision: int64(r), physical: r.chance(0.3) ? true : undefined })),
    unary(r.pick(["lease/grant", "lease/grant"]), 4, () => ({ TTL: r.chance(0.7) ? String(2 + r.int(8)) : numberText(r), ID: r.chance(0.7) ? leaseId() : undefined })),
    unary(r.pick(["lease/revoke", "kv/lease/revoke"]), 3, () => ({ ID: leaseId() })),
    unary(r.pick(["lease/timetolive", "kv/lease/timetolive"]), 3, () => ({ ID: leaseId(), keys: r.chance(0.5) ? true : undefined })),
    unary(r.pick(["lease/leases", "kv/lease/leases"]), 2, () => ({})),
    [3, { path: "lease/keepalive", shape: "stream", body: () => Array.from({ length: 1 + r.int(3) }, () => ({ ID: leaseId() })) }],
    [6, { path: "watch", shape: "stream", body: () => Array.from({ length: 1 + r.int(3) }, () => watchLine(r)) }],
    [2, { path: "lock/lock", shape: "blocking", body: () => ({ name: lockName(), lease: leaseId() }) }],
    unary("lock/unlock", 2, () => ({ key: key(r) })),
    [1, { path: "election/campaign", shape: "blocking", body: () => ({ name: lockName(), lease: leaseId(), value: b64(oddString(r)) }) }],
    unary("election/proclaim", 1, () => ({ leader: leaderKey(), value: b64("v") })),
    unary("election/leader", 1, () => ({ name: lockName() })),
    unary("election/resign", 1, () => ({ leader: leaderKey() })),
    [1, { path: "election/observe", shape: "stream", body: () => ({ name: lockName() }) }],
    unary("cluster/member/list", 2, () => ({})),
    unary(r.pick(["cluster/member/add", "cluster/member/remove", "cluster/member/update", "cluster/member/promote"]), 3, () => ({ ID: r.chance(0.5) ? String(r.u32()) : anyJSON(r), peerURLs: r.pick([[], ["not a url"], ["http://h:1/p"], "x", [1], undefined]), isLearner: r.chance(0.3) ? true : undefined })),
    unary(r.pick(["maintenance/status", "maintenance/hash", "maintenance/hashkv", "maintenance/defragment", "maintenance/snapshot", "maintenance/transfer-leadership"]), 3, () => ({ revision: r.chance(0.3) ? int64(r) : undefined })),
    unary("maintenance/alarm", 2, () => ({ action: r.weighted([[3, "GET"], [1, "ACTIVATE"], [4, "DEACTIVATE"], [1, r.pick([0, 1, 2, 9, "x"])]]), memberID: r.chance(0.5) ? String(r.u32()) : int64(r), alarm: r.pick(["NONE", "NOSPACE", "CORRUPT", 0, 1, 2, 7]) })),
    unary(r.pick(AUTH_CALLS), 4, () => authRequest(r)),
    unary(oddString(r), 2, () => ({ key: key(r) })),
  ];
}

/** A v3 call: its path, its message with odd values, and (for some) a field of the wrong type, or one that is not in the message. */
export function v3Request(r: Rng, prefix: string): FuzzRequest & { message: unknown } {
  const call = r.weighted(calls(r));
  let message: unknown = call.body();
  if (!Array.isArray(message) && r.chance(0.2)) message = retyped(r, message as Record<string, unknown>);
  const body = Array.isArray(message) ? message.map((m) => JSON.stringify(m)).join("\n") + (r.chance(0.8) ? "\n" : "") : JSON.stringify(message);
  const version = r.weighted([[9, "v3"], [1, "v3beta"]] as const);
  const method = r.weighted([[95, "POST"], [2, "GET"], [1, "PUT"], [1, "DELETE"], [1, "OPTIONS"]] as const);
  const headers: Record<string, string> = {};
  if (r.chance(0.7)) headers["Content-Type"] = r.pick(["application/json", "application/json", "text/plain", "application/x-www-form-urlencoded", "application/grpc"]);
  if (r.chance(0.05)) headers.Authorization = r.pick(["garbage", "fz.1", ""]);
  const family = call.path.startsWith("auth/") ? "auth" : /^[a-z]+\/[a-z/-]+$/.test(call.path) ? call.path : "other";
  return { family: `v3/${family}`, method, path: onTheWire(`${prefix}/${version}/${call.path}`), headers, body, shape: call.shape, message };
}

/** The message with one field's value swapped for a value of another type, dropped, or joined by a field that is not in the message. */
function retyped(r: Rng, message: Record<string, unknown>): Record<string, unknown> {
  const out = { ...message };
  const names = Object.keys(out).filter((k) => out[k] !== undefined);
  const choice = r.int(3);
  if (choice === 0 && names.length > 0) out[r.pick(names)] = anyJSON(r);
  else if (choice === 1 && names.length > 0) delete out[r.pick(names)];
  else out[r.pick(["Key", "KEY", "unknown", "", "range_end", "rangeEnd", "prevKv"])] = anyJSON(r);
  return out;
}
