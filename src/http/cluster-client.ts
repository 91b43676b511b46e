/**
 * How the Worker reaches a cluster: it sends each request to the replica it
 * believes leads, learns the real leader from every answer, and moves on to
 * another member when a replica does not answer. Followers forward what only
 * the leader may do, so a stale hint costs one extra hop, not an error.
 */
import { isReadOnly, type KeysRequest } from "../v2/request.ts";
import { replicaStub } from "../placement.ts";
import { config, type Env } from "../env.ts";
import type {
  FollowerStats,
  KeysReply,
  MemberChange,
  ReplicaStatus,
  ReplicaStub,
  V2AuthReply,
  V2AuthRequest,
  V3MemberStatus,
  V3Reply,
  V3Request,
} from "../server/api.ts";
import { foundingMembers, replicaName } from "../server/members.ts";
import { raftInternalError } from "../v2/errors.ts";
import { GrpcCode } from "../v3/errors.ts";
import { isReadOnlyTxn } from "../v3/validate.ts";
import { goJSON, goJSONLine } from "../go/json.ts";
import type { StoreStats } from "../v2/stats.ts";
import type { MemberDown, MemberMetrics } from "../server/metrics.ts";
import { systemClock, withTimeout } from "../server/clock.ts";
import { batchedKeys, MAX_BATCHED_REQUEST_BYTES, type BatchOutcome } from "./keys-batch.ts";
import { v2WatchOverSocket, v3WatchOverSocket } from "./watch-socket.ts";

/** What the router asks of a cluster. */
export interface ClusterApi {
  keys(req: KeysRequest): Promise<KeysReply>;
  /**
   * A v2 watch (GET with wait=true), held as a watch socket to a member so
   * that the member may sleep until the event (src/http/watch-socket.ts):
   * the member believed to lead first (any member serves watches), then the
   * others while one refuses; `clientGone` ends it.
   */
  v2Watch(req: KeysRequest, clientGone?: AbortSignal): Promise<KeysReply>;
  v3(req: V3Request): Promise<V3Reply>;
  v3Status(withHash: boolean): Promise<V3MemberStatus>;
  /**
   * Opens a v3 watch stream on the member believed to lead (any member
   * serves watches), held as a watch socket so that the member may sleep
   * between events (src/http/watch-socket.ts); `clientGone` ends it.
   */
  v3Watch(requests: ReadableStream<Uint8Array>, clientGone?: AbortSignal): Promise<ReadableStream<Uint8Array>>;
  status(): Promise<ReplicaStatus>;
  storeStats(): Promise<StoreStats>;
  followerStats(): Promise<{ leader: string; followers: FollowerStats[] } | null>;
  /** Every member's metrics, asked of all at once; a member that does not answer in time is down. */
  metrics(): Promise<(MemberMetrics | MemberDown)[]>;
  addMember(peerURLs: string[]): Promise<MemberChange>;
  removeMember(id: string): Promise<MemberChange>;
  updateMember(id: string, peerURLs: string[]): Promise<MemberChange>;
  /** The v2 auth API, or the root check of a members change (resource "root"). */
  v2Auth(req: V2AuthRequest): Promise<V2AuthReply>;
  member(id: string): ReplicaStub;
}

/** Leader hints and known members per cluster, kept for the life of the Worker isolate. */
const leaderHints = new Map<string, string>();
const knownMembers = new Map<string, string[]>();

/** Founding member ids by cluster and size: derived by hashing, so computed once. */
const foundingIdCache = new Map<string, string[]>();

function foundingIds(cluster: string, size: number): string[] {
  const key = `${size}:${cluster}`;
  let ids = foundingIdCache.get(key);
  if (!ids) {
    ids = foundingMembers(cluster, size).map((m) => m.id);
    foundingIdCache.set(key, ids);
  }
  return ids;
}

/** A call that gets no answer in this time counts as failed. */
const CALL_TIMEOUT_MS = 12_000;
/** A scrape must not hang on a member that is gone (Prometheus gives up after 10 s by default). */
const METRICS_TIMEOUT_MS = 3000;

/**
 * `keepAlive` (the Worker's waitUntil) keeps a batched call running when the
 * request that made it goes away first, for the requests riding on it.
 */
export function clusterClient(
  env: Env,
  cluster: string,
  keepAlive: (work: Promise<unknown>) => void = () => {},
): ClusterApi {
  const stub = (id: string): ReplicaStub => replicaStub(env, cluster, id);
  /** One call to a member, failed after CALL_TIMEOUT_MS without an answer. */
  const ask = <T>(id: string, fn: (replica: ReplicaStub) => Promise<T>): Promise<T> =>
    withTimeout(systemClock, fn(stub(id)), CALL_TIMEOUT_MS, `member ${id} did not answer`);

  /** The hinted leader first, then every other member we know of. */
  const candidates = (): string[] => {
    const members = knownMembers.get(cluster) ?? foundingIds(cluster, config(env).clusterSize);
    const hint = leaderHints.get(cluster);
    return hint ? [hint, ...members.filter((m) => m !== hint)] : members;
  };

  const learn = (leader: string) => {
    if (leader) leaderHints.set(cluster, leader);
  };

  /** Runs a read-only `fn` on the first member that answers: retrying a read elsewhere is harmless. */
  async function call<T>(fn: (replica: ReplicaStub) => Promise<T>): Promise<T> {
    let lastError: unknown;
    for (const id of candidates()) {
      try {
        return await ask(id, fn);
      } catch (err) {
        lastError = err;
        forget(id);
      }
    }
    throw lastError;
  }

  const forget = (id: string) => {
    if (leaderHints.get(cluster) === id) leaderHints.delete(cluster);
  };

  /**
   * Runs a request on the members in turn until one takes it. A member that
   * refuses before anything reached a Raft log (it knows no leader) lets the
   * next one try. For a change, a call that fails or times out may still
   * have been proposed, so it is never sent again: the client gets an unknown
   * outcome, as etcd reports it, instead of a change applied twice. A read
   * is simply tried on the next member.
   */
  async function attempt<T>(
    fn: (replica: ReplicaStub) => Promise<T>,
    refused: (answer: T) => boolean,
    unknown: (cause: string) => T,
    isChange: boolean,
    triedFirst?: string,
  ): Promise<T> {
    let answer: T | undefined;
    // A member that just failed this request is asked last, not first.
    const order = candidates().filter((id) => id !== triedFirst);
    if (triedFirst) order.push(triedFirst);
    for (const id of order) {
      try {
        answer = await ask(id, fn);
      } catch (err) {
        forget(id);
        const reason = (err as Error).message;
        if (isChange) return unknown(changeTimedOut(reason));
        answer = unknown(`etcdserver: request failed (${reason})`);
        continue;
      }
      if (!refused(answer)) return answer;
      forget(id);
    }
    return answer ?? unknown("etcdserver: no leader");
  }

  return {
    async keys(req) {
      const isChange = !isReadOnly(req);
      let tried: string | undefined;
      if (batchable(req)) {
        // First, together with concurrent requests, to the member we believe leads.
        const id = candidates()[0];
        const call = (reqs: KeysRequest[]) => ask(id, (r) => r.keysBatch(reqs));
        const outcome: BatchOutcome = await batchedKeys({ name: replicaName(cluster, id), call }, req, CALL_TIMEOUT_MS, keepAlive);
        if ("body" in outcome) {
          learn(outcome.leader);
          if (!outcome.retryable) return outcome;
        }
        if (!("resend" in outcome)) {
          forget(id);
          tried = id;
        }
        if ("failed" in outcome && isChange) {
          return unknownKeysOutcome(changeTimedOut(outcome.failed));
        }
        // What is left goes the single way: a refusal that changed nothing,
        // a read that may go elsewhere, or a read too large for the batch.
      }
      const reply = await attempt((r) => r.keys(req), (a) => a.retryable === true, unknownKeysOutcome, isChange, tried);
      learn(reply.leader);
      return reply;
    },
    async v2Watch(req, clientGone) {
      const reply = await attempt((r) => v2WatchOverSocket(r, req, clientGone), (a) => a.retryable === true, unknownKeysOutcome, false);
      learn(reply.leader);
      return reply;
    },
    async v3(req) {
      const reply = await attempt((r) => r.v3(req), (a) => !a.ok && a.retryable === true, unknownV3Outcome, isV3Change(req));
      learn(reply.leader);
      return reply;
    },
    async v3Status(withHash) {
      const s = await call((r) => r.v3Status(withHash));
      learn(s.leader);
      return s;
    },
    v3Watch: (requests, clientGone) => ask(candidates()[0], (r) => v3WatchOverSocket(r, requests, clientGone)),
    async status() {
      const s = await call((r) => r.status());
      learn(s.leader);
      knownMembers.set(cluster, s.members.map((m) => m.id));
      return s;
    },
    storeStats: () => call((r) => r.storeStats()),
    async followerStats() {
      const s = await this.status();
      if (!s.leader) return null;
      const followers = await stub(s.leader).followerStats();
      return followers ? { leader: s.leader, followers } : null;
    },
    async metrics() {
      const members = (await this.status()).members.map((m) => m.id);
      return Promise.all(
        members.map((id) =>
          withTimeout(systemClock, stub(id).metrics(), METRICS_TIMEOUT_MS, "no answer").catch((): MemberDown => ({ memberId: id, down: true })),
        ),
      );
    },
    addMember: (peerURLs) => attempt((r) => r.addMember(peerURLs), memberRefused, unknownMemberOutcome, true),
    removeMember: (id) => attempt((r) => r.removeMember(id), memberRefused, unknownMemberOutcome, true),
    updateMember: (id, peerURLs) => attempt((r) => r.updateMember(id, peerURLs), memberRefused, unknownMemberOutcome, true),
    async v2Auth(req) {
      const isChange = req.method !== "GET" && req.resource !== "root";
      const reply = await attempt((r) => r.v2Auth(req), (a) => a.retryable === true, unknownAuthOutcome, isChange);
      learn(reply.leader);
      return reply;
    },
    member: stub,
  };
}

/** Requests carrying a large value stay a call of their own (watches never come this way: see v2Watch). */
function batchable(req: KeysRequest): boolean {
  return req.value.length + req.prevValue.length + req.path.length <= MAX_BATCHED_REQUEST_BYTES;
}

/** The cause etcd gives for a change whose outcome is unknown. */
function changeTimedOut(reason: string): string {
  return `etcdserver: request timed out, possibly due to previous leader failure (${reason})`;
}

/** etcd's error 300 for a request whose outcome is unknown. */
function unknownKeysOutcome(cause: string): KeysReply {
  return { status: 500, body: goJSONLine(raftInternalError(cause)), etcdIndex: 0, raft: null, leader: "" };
}

/** Whether a v3 request may change something, so that it is never sent twice. */
function isV3Change(req: V3Request): boolean {
  if (req.method === "txn") return !isReadOnlyTxn(req.req);
  if (req.method === "alarm") return req.req.action !== "GET";
  if (req.method === "auth") return !["userGet", "userList", "roleGet", "roleList"].includes(req.req.op);
  return ["put", "deleteRange", "compact", "leaseGrant", "leaseRevoke"].includes(req.method);
}

/** etcd's answer to a v3 request whose outcome is unknown (gRPC Unavailable). */
function unknownV3Outcome(cause: string): V3Reply {
  return { ok: false, error: { code: GrpcCode.Unavailable, message: cause }, leader: "" };
}

function unknownMemberOutcome(cause: string): MemberChange {
  return { ok: false, status: 500, message: cause };
}

const memberRefused = (c: MemberChange) => !c.ok && c.retryable === true;

/** etcd's answer to an auth call that failed inside the server (it hides the cause). */
function unknownAuthOutcome(cause: string): V2AuthReply {
  console.error(`v2 auth call failed: ${cause}`);
  return { status: 500, body: goJSON({ message: "Internal Server Error" }), clusterHeader: true, leader: "" };
}
