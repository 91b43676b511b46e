/**
 * The contract between the router (src/http) and a replica: what a replica
 * answers over Durable Object RPC, as plain data.
 */
import type { Member } from "./members.ts";
import type { MemberMetrics } from "./metrics.ts";
import type { Message } from "../raft/index.ts";
import type { Credentials } from "../v2/auth-roles.ts";
import type { KeysRequest } from "../v2/request.ts";
import type { StoreStats } from "../v2/stats.ts";
import type { AlarmMember, AlarmRequest, AlarmResponse } from "../v3/alarms.ts";
import type { AuthInfo } from "../v3/auth-store.ts";
import type { V3AuthRequest, V3AuthResponse } from "../v3/gateway-auth.ts";
import type { V3ErrorBody } from "../v3/errors.ts";
import type {
  Bytes,
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseKeepAliveRequest,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  TxnRequest,
  TxnResponse,
} from "../v3/types.ts";

export interface RaftPosition {
  index: number;
  term: number;
}

export type StepAnswer = Message[] | { removed: true };

/** The part of an answer that the HTTP layer turns into status, headers and body. */
export interface KeysReply {
  status: number;
  /** The JSON body, newline included. Empty for a watch, whose body is `stream`. */
  body: string;
  etcdIndex: number;
  /** For X-Raft-Index/X-Raft-Term; etcd omits both on errors. */
  raft: RaftPosition | null;
  /** A watch's events, as the Worker reads them from its watch socket (src/http/watch-socket.ts); never sent over RPC. */
  stream?: ReadableStream<Uint8Array>;
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

/** A v3 KV request, as the router hands it to a member; `forwarded` once a follower passed it to the leader. */
export type V3Request = (
  | { method: "range"; req: RangeRequest }
  | { method: "put"; req: PutRequest }
  | { method: "deleteRange"; req: DeleteRangeRequest }
  | { method: "txn"; req: TxnRequest }
  | { method: "compact"; req: CompactionRequest }
  | { method: "leaseGrant"; req: LeaseGrantRequest }
  | { method: "leaseRevoke"; req: LeaseRevokeRequest }
  | { method: "leaseTimeToLive"; req: LeaseTimeToLiveRequest }
  | { method: "leaseLeases"; req: Record<string, never> }
  | { method: "leaseKeepAlive"; req: LeaseKeepAliveRequest }
  | { method: "alarm"; req: AlarmRequest }
  | { method: "auth"; req: V3AuthRequest }
  /** Only the root check that member changes and some maintenance calls take (etcd's IsAdminPermitted). */
  | { method: "adminCheck"; req: Record<string, never> }
  /** Only the read check a watch's creation takes (see src/http/v3-watch-auth.ts). */
  | { method: "watchCheck"; req: { key: Bytes; rangeEnd: Bytes } }
) & {
  forwarded?: boolean;
  /**
   * Who the request comes from, once a member resolved its identity (see
   * src/server/v3-auth-service.ts): null for nobody. Until then, what it
   * presented: the fields of V3Identity.
   */
  by?: AuthInfo | null;
} & V3Identity;

/** What a v3 request presents as its identity: etcd's simple token, or a verified client certificate's common name. */
export interface V3Identity {
  token?: string;
  certUser?: string;
}

export type V3Response =
  | RangeResponse
  | PutResponse
  | DeleteRangeResponse
  | TxnResponse
  | CompactionResponse
  | LeaseGrantResponse
  | LeaseRevokeResponse
  | LeaseTimeToLiveResponse
  | LeaseLeasesResponse
  | LeaseKeepAliveResponse
  | AlarmResponse
  | V3AuthResponse
  | WatchCheckResponse
  | { revision: number };

/** A watch's check: answered, with the error that refuses the watch when it is refused. */
export interface WatchCheckResponse {
  revision: number;
  refused?: V3ErrorBody;
}

/**
 * A member's answer to a v3 request: the response with what its header
 * needs from the member, or etcd's error. `retryable` marks an error that
 * certainly changed nothing, which another member may take instead.
 */
export type V3Reply =
  | { ok: true; response: V3Response; memberId: string; raftTerm: number; leader: string }
  | { ok: false; error: V3ErrorBody; retryable?: boolean; leader: string };

/** What maintenance/status and maintenance/hash report about one member. */
export interface V3MemberStatus {
  memberId: string;
  leader: string;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  /** The keyspace's current revision. */
  revision: number;
  dbSize: number;
  /** The raised alarms (the same on every member). */
  alarms: AlarmMember[];
  /** The keyspace's hash at `revision` (see src/v3/hash.ts); only when asked for. */
  hash?: number;
}

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
  /** Quiet (see quiescence): no ticks and no heartbeats until something wakes it. */
  quiescent: boolean;
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

/**
 * A /v2/auth call as the router hands it to a member (its method and path
 * already checked), or only the root check that a members change needs
 * (resource "root").
 */
export interface V2AuthRequest {
  resource: "enable" | "users" | "roles" | "root";
  method: "GET" | "PUT" | "DELETE";
  /** The user or role the path names; null for the whole list. */
  name: string | null;
  /** The body of a PUT of a user or role, as sent. */
  body: string;
  /**
   * The client's basic credentials, until a member has checked them:
   * undefined without an Authorization header, null for one that is not
   * valid basic auth. Never passed on once checked.
   */
  credentials?: Credentials | null;
  /**
   * With CLIENT_CERT_AUTH on and no Authorization header: the common name of
   * the client certificate Cloudflare verified, the user the request is made
   * as (etcd's --client-cert-auth). Never passed on once checked.
   */
  certificateUser?: string;
  /** Set by the member that checked the request, so that the leader it passes it to does not check again. */
  authorized?: boolean;
  /** Set by a follower that passed the request on to its leader (at most one hop). */
  forwarded?: boolean;
}

/** The answer to a V2AuthRequest: etcd's status and JSON body. */
export interface V2AuthReply {
  status: number;
  body: string;
  /** etcd sets X-Etcd-Cluster-Id only once the root check has passed. */
  clusterHeader: boolean;
  leader: string;
  /** Set on an error that certainly changed nothing, which another member may serve. */
  retryable?: boolean;
}

/**
 * A replica's RPC surface: what the router and the other members call. The
 * Durable Object implements it; its stubs, which the runtime makes from it,
 * answer every method with a promise.
 */
export interface ReplicaApi {
  keys(req: KeysRequest): Promise<KeysReply>;
  keysBatch(reqs: KeysRequest[]): Promise<BatchedKeysReply[]>;
  v3(req: V3Request): Promise<V3Reply>;
  v3Status(withHash: boolean): V3MemberStatus | Promise<V3MemberStatus>;
  /** A watch socket from the router (see src/replica/watch-sockets.ts); nothing else is served over fetch. */
  fetch(request: Request): Promise<Response>;
  /**
   * Raft messages from a peer; answers with the messages produced for that
   * peer, or tells a sender that was removed from the cluster so (as etcd's
   * peers answer a removed member with 410 Gone).
   */
  step(messages: Message[]): StepAnswer | Promise<StepAnswer>;
  status(): ReplicaStatus | Promise<ReplicaStatus>;
  storeStats(): StoreStats | Promise<StoreStats>;
  /** What the member counts, for /metrics (see src/server/metrics.ts). */
  metrics(): MemberMetrics | Promise<MemberMetrics>;
  followerStats(): FollowerStats[] | null | Promise<FollowerStats[] | null>;
  addMember(peerURLs: string[]): Promise<MemberChange>;
  removeMember(id: string): Promise<MemberChange>;
  updateMember(id: string, peerURLs: string[]): Promise<MemberChange>;
  /** The v2 auth API (see src/server/v2-auth-service.ts). */
  v2Auth(req: V2AuthRequest): Promise<V2AuthReply>;
  /** Whether this member's cluster exists (see src/server/founding.ts). */
  created(): boolean | Promise<boolean>;
  /** Founds this member of a named cluster; answers whether it was new. */
  create(): Promise<boolean>;
  /** Fault injection (the router exposes these only with DEBUG_FAULTS). */
  crash(): void | Promise<void>;
  /** The next storage transaction of the Raft log fails, as a refused write would on Cloudflare. */
  failNextWrite(): void | Promise<void>;
  isolateFrom(peers: string[]): void | Promise<void>;
  logLength(): number | Promise<number>;
}

/** A replica as its callers hold it: every method answers with a promise. */
export type ReplicaStub = {
  [K in keyof ReplicaApi]: ReplicaApi[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};
