/**
 * Plain data types shared by the Raft core and its drivers.
 *
 * Everything here is a JSON-able object: messages, entries and snapshots cross
 * Durable Object RPC and land in SQLite rows, so they carry no classes, no
 * Maps and no undefined-vs-missing distinctions that matter. Terms and indexes
 * are JS numbers (safe up to 2^53, far beyond any realistic log).
 *
 * Index 0 / term 0 is the empty position before the first entry; every real
 * entry has index >= 1 and term >= 1.
 */

/** A member's identity. Never reuse the id of a removed member. */
export type NodeId = string;

/** The empty id: "no vote" in HardState, "no known leader" in status. */
export const NO_NODE: NodeId = "";

export type Role = "follower" | "pre-candidate" | "candidate" | "leader";

/**
 * "normal" entries carry application data, opaque to raft (an empty string is
 * the no-op a new leader appends, §5.4.2; applications must skip it).
 * "config" entries carry a ConfigEntryData (JSON) and are owned by raft.
 */
export type EntryType = "normal" | "config";

export interface Entry {
  index: number;
  term: number;
  type: EntryType;
  data: string;
}

/** Voting members and learners (non-voting members that receive the log). */
export interface ClusterConfig {
  voters: NodeId[];
  learners: NodeId[];
}

/**
 * A single-server membership change (Ongaro's thesis §4.1). "addVoter" of a
 * current learner promotes it; "removeNode" removes a voter or a learner.
 * `context` is carried through untouched (e.g. the member's address).
 */
export interface ConfigChange {
  type: "addVoter" | "addLearner" | "removeNode";
  node: NodeId;
  context?: string;
}

/**
 * The JSON stored in a "config" entry: the resulting config, and the change
 * that produced it (absent in the bootstrap entry).
 */
export interface ConfigEntryData {
  change?: ConfigChange;
  config: ClusterConfig;
}

/** What must survive a crash besides the log (Figure 2 "persistent state"). */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export interface SnapshotMeta {
  /** Last index covered by the snapshot, and its term. */
  index: number;
  term: number;
  /** Membership as of `index`. */
  config: ClusterConfig;
}

export interface Snapshot {
  meta: SnapshotMeta;
  /** Application state, opaque to raft. */
  data: string;
}

/** One piece of a snapshot in flight; `data` is `total` characters long in all. */
export interface SnapshotChunk {
  meta: SnapshotMeta;
  offset: number;
  total: number;
  data: string;
}

export type MessageType =
  | "preVote"
  | "preVoteResp"
  | "vote"
  | "voteResp"
  | "append"
  | "appendResp"
  | "heartbeat"
  | "heartbeatResp"
  | "snapshot"
  | "snapshotResp"
  | "timeoutNow"
  | "readIndex"
  | "readIndexResp"
  | "wake";

/**
 * A message between members. One flat shape (only the fields a type needs
 * are set), so it serializes trivially. Field meaning by type:
 *
 * - preVote/vote: index/logTerm = candidate's last log position; context
 *   "transfer" marks an election started by leader transfer.
 * - preVoteResp/voteResp: reject = vote refused.
 * - append: index/logTerm = position preceding `entries`; commit = leader commit.
 * - appendResp: accepted: index = last index now durable and matching.
 *   rejected: index = the rejected append's `index`, rejectHint/logTerm = where
 *   the follower suggests probing next (fast backtracking).
 * - heartbeat: commit; context = read-index round being confirmed (if any);
 *   quiesce = the leader goes quiet (see Raft.quiesce): commit is then its
 *   last index and logTerm that entry's term.
 * - heartbeatResp: context echoed.
 * - snapshot: chunk.  snapshotResp: index = snapshot index, offset = characters
 *   received so far (the next chunk the follower expects).
 * - readIndex: context = request id.  readIndexResp: context, index = read index.
 * - wake: a follower that stopped being quiescent on its own asks its quiet
 *   leader to resume heartbeats (so it need not hold an election to find out).
 */
export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  index?: number;
  logTerm?: number;
  entries?: Entry[];
  commit?: number;
  reject?: boolean;
  rejectHint?: number;
  context?: string;
  chunk?: SnapshotChunk;
  offset?: number;
  quiesce?: boolean;
}

/** Why a leader refused a proposal; `message` in the result says what to do instead. */
export type ProposeRejection =
  | "not-leader"
  | "transferring-leadership"
  | "config-change-pending"
  | "invalid-config-change"
  | "learner-behind";

export type ProposeResult =
  | { ok: true; index: number; term: number }
  | { ok: false; reason: ProposeRejection; leader: NodeId; message: string };

/** A message as Raft's send() takes it: it fills in the sender, and the term unless given. */
export type Outgoing = Omit<Message, "from" | "term"> & { term?: number };

/** A confirmed linearizable read point: serve request `context` once applied >= index. */
export interface ReadState {
  context: string;
  index: number;
}

export type ProgressState = "probe" | "replicate" | "snapshot";

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  learner: boolean;
  recentActive: boolean;
}

export interface Status {
  id: NodeId;
  role: Role;
  term: number;
  vote: NodeId;
  leader: NodeId;
  commit: number;
  applied: number;
  lastIndex: number;
  firstIndex: number;
  config: ClusterConfig;
  /** Per-member replication progress; only present on the leader. */
  progress?: Record<NodeId, ProgressStatus>;
  /** Target of an ongoing leader transfer, or NO_NODE. */
  transferee: NodeId;
  /** Not ticking: the cluster went quiet with every member caught up (see Raft.quiesce). */
  quiescent: boolean;
}
