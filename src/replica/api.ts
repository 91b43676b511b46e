/**
 * The contract between the router (src/http) and a replica: what a replica
 * answers over Durable Object RPC, as plain data.
 */
import type { Member } from "./members.ts";
import type { Replica } from "./replica.ts";

export interface RaftPosition {
  index: number;
  term: number;
}

/** The part of an answer that the HTTP layer turns into status, headers and body. */
export interface KeysReply {
  status: number;
  /** The JSON body, newline included. Empty for a watch, whose body is `stream`. */
  body: string;
  etcdIndex: number;
  /** For X-Raft-Index/X-Raft-Term; etcd omits both on errors. */
  raft: RaftPosition | null;
  stream?: ReadableStream<Uint8Array>;
  /** A live watch: the member holding it and its number there, to end it when the client leaves. */
  watch?: { member: string; id: number };
  /** The leader as this replica knows it, so the router can send the next request there. */
  leader: string;
  /** Set on an error that certainly changed nothing, which another member may serve. */
  retryable?: boolean;
}

/**
 * One answer of keysBatch: the reply, an error that escaped the request
 * (which a single call would have thrown), or a read left out of the batch
 * to keep its message small, for the router to send alone.
 */
export type BatchedKeysReply = KeysReply | { failed: string } | { resend: true };

export type ReplicaRole = "StateLeader" | "StateFollower" | "StateCandidate" | "StatePreCandidate";

export interface ReplicaStatus {
  id: string;
  name: string;
  clusterId: string;
  state: ReplicaRole;
  leader: string;
  startTime: number;
  leaderSince: number;
  raft: RaftPosition;
  members: Member[];
  removed: string[];
  recvAppends: number;
  sendAppends: number;
}

export interface FollowerStats {
  id: string;
  success: number;
  fail: number;
  latencies: number[];
}

/**
 * Answers of the members API, as plain data for the HTTP layer. `retryable`
 * marks a refusal that reached no Raft log (no leader known), which another
 * member may take instead.
 */
export type MemberChange =
  | { ok: true; member?: Member }
  | { ok: false; status: number; message: string; retryable?: boolean };

/** A replica as its callers see it over RPC: every method returns a promise. */
export type ReplicaStub = {
  [K in
    | "keys"
    | "keysBatch"
    | "step"
    | "cancelWatch"
    | "status"
    | "storeStats"
    | "followerStats"
    | "addMember"
    | "removeMember"
    | "updateMember"
    | "crash"
    | "isolateFrom"
    | "logLength"]: Replica[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};
