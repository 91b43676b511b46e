/**
 * Cluster membership: applying single-server changes and counting quorums.
 *
 * Membership follows Ongaro's thesis §4.1: one server is added or removed at a
 * time, so any majority of the old voters and any majority of the new voters
 * overlap, and a member uses the latest config in its log whether or not it
 * is committed (the config "takes effect when appended"). Learners receive the
 * log but never vote and never count towards a quorum; promoting a learner to
 * voter is its own single-server change, made once the learner has caught up.
 */
import type { ClusterConfig, ConfigChange, ConfigEntryData, NodeId } from "./types";

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

export function encodeConfigEntry(data: ConfigEntryData): string {
  return JSON.stringify(data);
}

export function decodeConfigEntry(data: string): ConfigEntryData {
  return JSON.parse(data) as ConfigEntryData;
}

export function quorum(voters: readonly NodeId[]): number {
  return Math.floor(voters.length / 2) + 1;
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
