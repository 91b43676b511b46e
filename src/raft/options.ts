/**
 * Tunables of one Raft member. Times are in ticks: the driver calls tick() at
 * a fixed interval (say 100 ms) and everything else is counted in those.
 */
import type { NodeId } from "./types";

export interface RaftOptions {
  id: NodeId;
  /** Seed for the election-timeout jitter; use a different one per member and restart. */
  seed: number;
  /**
   * A follower that hears nothing from a leader for a random number of ticks in
   * [electionTicks, 2 * electionTicks) starts an election. Must be well above
   * heartbeatTicks. Default 10.
   */
  electionTicks?: number;
  /** The leader sends heartbeats every heartbeatTicks ticks. Default 1. */
  heartbeatTicks?: number;
  /** Appends a leader may have unanswered per follower in replicate state. Default 256. */
  maxInflight?: number;
  /** Upper bound of entry data characters per append message (at least one entry is sent). Default 1 MiB. */
  maxAppendSize?: number;
  /** Characters of snapshot data per snapshot message. Default 1 MiB. */
  snapshotChunkSize?: number;
  /**
   * A leader whose commit index moved tells followers that lack only that
   * at once, in an append of its own, as etcd does. Default true. Off, the
   * index rides on the next append or heartbeat (a tick later at most):
   * where each message is a billed call and one call at a time goes to each
   * peer (Durable Objects), that notice doubled a lone write's calls and
   * held the next write's append back for a round trip.
   */
  commitNotices?: boolean;
  /** Ask for pre-votes before starting a real election (thesis §9.6). Default true. */
  preVote?: boolean;
  /**
   * A leader steps down when it has not heard from a quorum within an election
   * timeout, and followers that heard from a leader recently ignore vote
   * requests (thesis §6.2, §4.2.3). Default true.
   */
  checkQuorum?: boolean;
  /**
   * Highest index the application has already applied (its own durable state
   * is at least this new). Defaults to the snapshot index: the application
   * rebuilds from the snapshot and raft replays committed entries after it.
   */
  applied?: number;
  /**
   * The member was quiescent when it last stopped, following this leader
   * (itself, if it led), and its log has not changed since: the driver
   * checks its quiescence mark against storage. It resumes quiescent and
   * knowing its leader, instead of waiting out an election timeout to find
   * one; a leader resumes its term's leadership (it still holds its vote).
   */
  quiescentLeader?: NodeId;
}

export type ResolvedOptions = Required<Omit<RaftOptions, "applied" | "quiescentLeader">> & {
  applied: number | undefined;
  quiescentLeader: NodeId | undefined;
};

export function resolveOptions(options: RaftOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    electionTicks: options.electionTicks ?? 10,
    heartbeatTicks: options.heartbeatTicks ?? 1,
    maxInflight: options.maxInflight ?? 256,
    maxAppendSize: options.maxAppendSize ?? 1 << 20,
    snapshotChunkSize: options.snapshotChunkSize ?? 1 << 20,
    commitNotices: options.commitNotices ?? true,
    preVote: options.preVote ?? true,
    checkQuorum: options.checkQuorum ?? true,
    id: options.id,
    seed: options.seed,
    applied: options.applied,
    quiescentLeader: options.quiescentLeader,
  };
  if (!resolved.id) throw new Error("RaftOptions.id must be a non-empty member id");
  if (resolved.heartbeatTicks < 1) throw new Error("RaftOptions.heartbeatTicks must be at least 1");
  if (resolved.electionTicks <= resolved.heartbeatTicks) {
    throw new Error("RaftOptions.electionTicks must be larger than heartbeatTicks (10x is typical)");
  }
  if (resolved.maxInflight < 1) throw new Error("RaftOptions.maxInflight must be at least 1");
  if (resolved.snapshotChunkSize < 1) throw new Error("RaftOptions.snapshotChunkSize must be at least 1");
  return resolved;
}
