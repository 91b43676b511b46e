/**
 * What a leader or candidate knows about the other members (etcd's tracker
 * package): one Progress per peer, the votes of the current election, and the
 * quorum arithmetic over them.
 *
 * The member itself has no Progress: what counts for it is its own log, and a
 * leader counts its entries only once they are durable, so callers pass its
 * durable last index in. Everything here is dropped at each new term or role.
 */
import { hasQuorum, members, quorumIndex, voteResult, type VoteResult } from "./config";
import { Progress } from "./progress";
import type { ClusterConfig, NodeId, ProgressStatus } from "./types";

export class ProgressTracker {
  /** In the order peers were added, which is the order messages go out to them. */
  private readonly peers = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();

  constructor(
    private readonly self: NodeId,
    private readonly maxInflight: number,
  ) {}

  reset(): void {
    this.votes.clear();
    this.peers.clear();
  }

  get(id: NodeId): Progress | undefined {
    return this.peers.get(id);
  }

  /** Every peer's Progress, by id. */
  progress(): IterableIterator<[NodeId, Progress]> {
    return this.peers.entries();
  }

  /** Start tracking `id` in probe state with `next` as the first guess; no-op if tracked already. */
  add(id: NodeId, learner: boolean, next: number): void {
    if (id === this.self || this.peers.has(id)) return;
    this.peers.set(id, new Progress(0, next, this.maxInflight, learner));
  }

  /**
   * Follow a new config: forget removed members, update learner flags and
   * track new members from `next`. Returns the new members, in config order.
   */
  applyConfig(config: ClusterConfig, next: number): NodeId[] {
    const current = members(config);
    for (const [id, pr] of this.peers) {
      if (!current.includes(id)) this.peers.delete(id);
      else pr.learner = config.learners.includes(id);
    }
    const added = current.filter((id) => id !== this.self && !this.peers.has(id));
    for (const id of added) this.add(id, config.learners.includes(id), next);
    return added;
  }

  recordVote(id: NodeId, granted: boolean): void {
    this.votes.set(id, granted);
  }

  tallyVotes(voters: readonly NodeId[]): VoteResult {
    return voteResult(voters, this.votes);
  }

  /** The highest index a quorum of voters holds, counting `selfMatch` for this member. */
  committed(voters: readonly NodeId[], selfMatch: number): number {
    return quorumIndex(voters, (id) => (id === this.self ? selfMatch : (this.peers.get(id)?.match ?? 0)));
  }

  /** Whether a quorum of voters, this member included, was heard from since resetRecentActive. */
  quorumActive(voters: readonly NodeId[]): boolean {
    const active = new Set<NodeId>([this.self]);
    for (const [id, pr] of this.peers) if (pr.recentActive) active.add(id);
    return hasQuorum(voters, active);
  }

  resetRecentActive(): void {
    for (const pr of this.peers.values()) pr.recentActive = false;
  }

  /** Everyone's progress as plain data; this member's own is its log, durable through `self.match`. */
  status(self: { match: number; next: number; learner: boolean }): Record<NodeId, ProgressStatus> {
    const status: Record<NodeId, ProgressStatus> = {};
    for (const [id, pr] of this.peers) status[id] = pr.status();
    status[this.self] = { match: self.match, next: self.next, state: "replicate", learner: self.learner, recentActive: true };
    return status;
  }
}
