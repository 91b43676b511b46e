/**
 * Cluster membership: applying single-server changes, counting quorums, and
 * following the config in force as the log changes.
 *
 * Membership follows Ongaro's thesis §4.1: one server is added or removed at a
 * time, so any majority of the old voters and any majority of the new voters
 * overlap, and a member uses the latest config in its log whether or not it
 * is committed (the config "takes effect when appended"). Learners receive the
 * log but never vote and never count towards a quorum; promoting a learner to
 * voter is its own single-server change, made once the learner has caught up.
 */
import type { ClusterConfig, ConfigChange, ConfigEntryData, Entry, NodeId, ProposeRejection } from "./types";

export function isVoter(config: ClusterConfig, id: NodeId): boolean {
  return config.voters.includes(id);
}

export function isMember(config: ClusterConfig, id: NodeId): boolean {
  return config.voters.includes(id) || config.learners.includes(id);
}

export function members(config: ClusterConfig): NodeId[] {
  return [...config.voters, ...config.learners];
}

/** The config after `change`, or an error message saying why it is not allowed. */
export function applyChange(config: ClusterConfig, change: ConfigChange): ClusterConfig | string {
  const voters = config.voters.filter((id) => id !== change.node);
  const learners = config.learners.filter((id) => id !== change.node);
  switch (change.type) {
    case "addVoter":
      if (isVoter(config, change.node)) return `${change.node} is already a voter`;
      voters.push(change.node);
      break;
    case "addLearner":
      if (isVoter(config, change.node)) return `${change.node} is a voter; remove it before re-adding it as a learner`;
      if (config.learners.includes(change.node)) return `${change.node} is already a learner`;
      learners.push(change.node);
      break;
    case "removeNode":
      if (!isMember(config, change.node)) return `${change.node} is not a member`;
      if (voters.length === 0) return `removing ${change.node} would leave no voters`;
      break;
  }
  return { voters: voters.sort(), learners: learners.sort() };
}

/** Where the leader stands when asked to propose a config change. */
export interface ChangeContext {
  /** An earlier config change is still uncommitted. */
  pending: boolean;
  /** The leader has committed an entry of its own term. */
  committedInTerm: boolean;
  committed: number;
  /** The changed node's match index (0 if unknown). */
  match: number;
}

/**
 * The config after `change` if the leader may propose it now, or why not.
 * At most one config change is uncommitted, and none is proposed before the
 * leader has committed an entry of its own term (the single-server change fix
 * posted by Ongaro to raft-dev in 2015).
 */
export function proposedConfig(
  config: ClusterConfig,
  change: ConfigChange,
  at: ChangeContext,
): ClusterConfig | { reason: ProposeRejection; message: string } {
  if (at.pending) {
    return { reason: "config-change-pending", message: "a config change is still uncommitted; retry when it has committed" };
  }
  if (!at.committedInTerm) {
    return {
      reason: "config-change-pending",
      message: "the new leader has not committed an entry of its term yet; retry shortly",
    };
  }
  if (change.type === "addVoter" && !isVoter(config, change.node)) {
    // A voter that has to catch up first could stall commits meanwhile
    // (thesis §4.2.1), so new voters start as learners.
    if (!config.learners.includes(change.node)) {
      return {
        reason: "invalid-config-change",
        message: `${change.node} is not a learner; add it as a learner first and promote it once it has caught up`,
      };
    }
    if (at.match < at.committed) {
      return {
        reason: "learner-behind",
        message: `learner ${change.node} holds ${at.match} of ${at.committed} committed entries; promote it once it has caught up`,
      };
    }
  }
  const next = applyChange(config, change);
  return typeof next === "string" ? { reason: "invalid-config-change", message: next } : next;
}

export function encodeConfigEntry(data: ConfigEntryData): string {
  return JSON.stringify(data);
}

export function decodeConfigEntry(data: string): ConfigEntryData {
  return JSON.parse(data) as ConfigEntryData;
}

export function quorum(voters: readonly NodeId[]): number {
  return Math.floor(voters.length / 2) + 1;
}

/** Whether `ids` include a quorum of the voters. */
export function hasQuorum(voters: readonly NodeId[], ids: ReadonlySet<NodeId>): boolean {
  let n = 0;
  for (const id of voters) if (ids.has(id)) n++;
  return n >= quorum(voters);
}

/**
 * The largest index replicated on a majority of voters: sort the voters' match
 * indexes descending and take the quorum-th one.
 */
export function quorumIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[quorum(voters) - 1];
}

export type VoteResult = "won" | "lost" | "pending";

/** Outcome of an election so far: granted votes by voter id. */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const q = quorum(voters);
  if (granted >= q) return "won";
  if (rejected > voters.length - q) return "lost";
  return "pending";
}

/**
 * The configs a member's log holds: the one as of its snapshot, then one per
 * config entry after it, ascending by index. The config in force at an index
 * is the latest one at or below it, so when an uncommitted config entry is
 * overwritten the config rolls back with the log.
 */
export class ConfigHistory {
  private entries: { index: number; config: ClusterConfig }[] = [];

  constructor(
    private base: ClusterConfig,
    logEntries: Entry[],
  ) {
    this.note(logEntries);
  }

  /** The config in force at `index`. */
  at(index: number): ClusterConfig {
    let config = this.base;
    for (const c of this.entries) {
      if (c.index > index) break;
      config = c.config;
    }
    return config;
  }

  /** The config in force: the latest one in the log. */
  latest(): ClusterConfig {
    const n = this.entries.length;
    return n > 0 ? this.entries[n - 1].config : this.base;
  }

  /** Index of the latest config entry, or 0 if there is none after the snapshot. */
  latestIndex(): number {
    const n = this.entries.length;
    return n > 0 ? this.entries[n - 1].index : 0;
  }

  /**
   * `entries` were just written to the log, replacing anything from
   * entries[0].index on. True if a config entry was dropped or added, that
   * is, if the config in force may have changed.
   */
  logChanged(entries: Entry[]): boolean {
    if (entries.length === 0) return false;
    const from = entries[0].index;
    const before = this.entries.length;
    this.entries = this.entries.filter((c) => c.index < from);
    const dropped = this.entries.length !== before;
    const hasConfig = entries.some((e) => e.type === "config");
    if (!dropped && !hasConfig) return false;
    this.note(entries);
    return true;
  }

  /** The log now starts after a snapshot at `index`. */
  compacted(index: number): void {
    this.base = this.at(index);
    this.entries = this.entries.filter((c) => c.index > index);
  }

  /** The log was replaced by a snapshot whose config is `config`. */
  restored(config: ClusterConfig): void {
    this.base = config;
    this.entries = [];
  }

  private note(entries: Entry[]): void {
    for (const e of entries) {
      if (e.type === "config") this.entries.push({ index: e.index, config: decodeConfigEntry(e.data).config });
    }
  }
}
