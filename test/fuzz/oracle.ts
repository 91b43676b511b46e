// What every answer must be: an answer (no hang past the bound, no dropped
// connection), below 500 unless it is one of the 5xx answers etcd itself
// gives (listed below, each with its reason), and JSON that parses wherever
// the server says it answers JSON.
import type { FuzzRequest } from "./request.ts";
import type { Answer } from "./send.ts";

interface Allowed5xx {
  name: string;
  why: string;
  matches(req: FuzzRequest, a: Answer, json: Record<string, unknown> | null): boolean;
}

const isV2Keys = (req: FuzzRequest) => req.family === "v2/keys" || req.family === "discovery/token";
const isV3 = (req: FuzzRequest) => req.family.startsWith("v3/") || req.family.startsWith("discovery/v3/");

const ELECTION_ERRORS = ["election: no leader", "election: not leader", '"leader" field must be provided'];

/** The only 5xx answers a fuzz run accepts. */
export const ALLOWED_5XX: readonly Allowed5xx[] = [
  {
    name: "v2 keys: 500 with error 300 or 301",
    why: "etcd's v2 error table answers EcodeRaftInternal (300: the proposal or quorum read timed out, a leader was lost) and EcodeLeaderElect (301) with 500",
    matches: (req, a, j) => isV2Keys(req) && a.status === 500 && (j?.errorCode === 300 || j?.errorCode === 301),
  },
  {
    name: "v2 keys: 503 with error 300 for a refused watch",
    why: "a watch past the watchers bound (MAX_WATCHES, or the member's 100,000) is refused with error 300 and 503 (README, Limits), where etcd would run out of descriptors",
    matches: (req, a, j) => isV2Keys(req) && a.status === 503 && j?.errorCode === 300,
  },
  {
    name: "/health: 503 {\"health\":\"false\"}",
    why: "etcd's /health answers 503 when there is no leader or its quorum read fails",
    matches: (req, a) => req.family === "misc/health" && a.status === 503 && /"health":"false"/.test(a.body),
  },
  {
    name: "/v2/members/leader: 503 During election",
    why: "etcd answers 503 \"During election\" while the cluster has no leader",
    matches: (req, a) => req.family === "v2/members" && a.status === 503 && a.body.includes("During election"),
  },
  {
    name: "v3 election: 500 Unknown (code 2) with an election error",
    why: "etcd's v3election answers these with plain Go errors (ErrElectionNoLeader, ErrElectionNotLeader, ErrMissingLeaderKey), which gRPC sends as Unknown and the gateway as 500 (the compat suite compares them)",
    matches: (req, a, j) => req.family.startsWith("v3/election/") && a.status === 500 && j?.code === 2 && ELECTION_ERRORS.includes(String(j.error)),
  },
  {
    name: "v3 lock, election, maintenance: 500 Unknown (code 2) for an invalid auth token",
    why: "etcd 3.4 checks an Authorization token even with auth off; its lock and election services and Defragment return the auth error as a plain Go error, so gRPC sends Unknown and the gateway 500 (KV calls get 401)",
    matches: (req, a, j) => isV3(req) && a.status === 500 && j?.code === 2 && /^(etcdserver|auth): invalid auth token$/.test(String(j.error)),
  },
  {
    name: "the runtime: 501 for a method it does not know",
    why: "workerd's HTTP parser answers a request method outside its list (e.g. FUZZ) with 501 before any Worker code runs; etcd (Go) would route it and answer 405. Not ours to change",
    matches: (_req, a) => a.status === 501 && a.body === "ERROR: Unrecognized request method.",
  },
  {
    name: "v3 gateway: 503 Unavailable (code 14)",
    why: "grpc-gateway maps Unavailable to 503; etcd 3.4 answers no leader, a timed-out proposal (\"etcdserver: request timed out\") and too many streams with it",
    matches: (req, a, j) => isV3(req) && a.status === 503 && j?.code === 14,
  },
  {
    name: "v3 gateway: 504 DeadlineExceeded (code 4)",
    why: "grpc-gateway maps DeadlineExceeded to 504",
    matches: (req, a, j) => isV3(req) && a.status === 504 && j?.code === 4,
  },
  {
    name: "v3 gateway: 501 Unimplemented (code 12)",
    why: "grpc-gateway maps Unimplemented to 501 (a method etcd's gateway routes but the server does not serve)",
    matches: (req, a, j) => isV3(req) && a.status === 501 && j?.code === 12,
  },
];

/**
 * A body this large may be refused before it is all sent (its Content-Length,
 * or the part read so far, is over the limit), or left unread by a handler
 * that does not want it (a GET's form, an answer decided from the URL
 * alone); then the connection is closed under the sender, which sees no
 * answer. Go's server, and so etcd, read at most 256 KiB of a body left
 * unread before closing; the router does the same (DRAIN_MAX_BYTES in
 * src/http/go-http.ts).
 */
const REFUSED_UNREAD_BYTES = 256 * 1024;

const bodyBytes = (req: FuzzRequest) => (req.body === undefined ? 0 : typeof req.body === "string" ? Buffer.byteLength(req.body) : req.body.length);

export type Verdict = { ok: true; allowed5xx?: string; blocked?: boolean } | { ok: false; problem: string };

export function judge(req: FuzzRequest, a: Answer): Verdict {
  if (a.status === -1) return { ok: true };
  if (a.status === 0) {
    if (a.failure === "timeout" && req.shape === "blocking") return { ok: true, blocked: true };
    if (/EPIPE|ECONNRESET/.test(a.failure ?? "") && bodyBytes(req) > REFUSED_UNREAD_BYTES) return { ok: true };
    return { ok: false, problem: a.failure === "timeout" ? "no answer within the bound (hang)" : `no answer: ${a.failure}` };
  }
  const json = jsonProblem(req, a);
  if (typeof json === "string") return { ok: false, problem: json };
  if (a.status >= 500) {
    const allowed = ALLOWED_5XX.find((x) => x.matches(req, a, json));
    if (!allowed) return { ok: false, problem: `${a.status} that etcd does not answer here` };
    return { ok: true, allowed5xx: allowed.name };
  }
  return { ok: true };
}

/** The answer's JSON object (null for none), or what is wrong with it when the server says JSON and it does not parse. */
function jsonProblem(req: FuzzRequest, a: Answer): Record<string, unknown> | null | string {
  const type = String(a.headers["content-type"] ?? "");
  if (!type.includes("json") || req.method === "HEAD" || a.body.trim() === "") return null;
  if (!a.cut) {
    try {
      return asObject(JSON.parse(a.body));
    } catch {
      // a stream: one JSON message per line, checked below
    }
  }
  // A stream cut short may end in part of a message.
  const lines = a.body.split("\n").filter((l) => l.trim() !== "");
  if (a.cut && !a.body.endsWith("\n")) lines.pop();
  let first: unknown = null;
  for (const [i, line] of lines.entries()) {
    try {
      const v = JSON.parse(line);
      if (i === 0) first = v;
    } catch {
      return `says ${type} but line ${i + 1} is not JSON: ${line.slice(0, 200)}`;
    }
  }
  return asObject(first);
}

function asObject(v: unknown): Record<string, unknown> | null {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}
