/**
 * Elections (§5.2, and the thesis's §9.6 pre-vote), one at a time: standing
 * as a candidate, asking the voters and counting their answers (Candidacy),
 * and the rule by which a member grants its vote (answerVote).
 *
 * Raft creates a Candidacy when it stands, as a pre-candidate or candidate,
 * and drops it on any change of role or term, as it does a Leadership. The
 * transitions themselves (a new term, the vote for ourselves, leading or
 * following) stay in raft.ts, which the outcome is handed back to.
 *
 * Safety rule kept here: at most one vote per term, and only for a candidate
 * whose log is at least as up-to-date as ours (§5.2, §5.4.1). Raft records
 * the vote; the answer leaves only once it is durable (msgsAfterPersist).
 */
import type { ConfigHistory } from "./config";
import type { RaftLog } from "./log";
import type { ProgressTracker } from "./tracker";
import type { Message, NodeId, Outgoing } from "./types";
import { NO_NODE } from "./types";

/** Vote-request context marking an election started by a leader transfer. */
export const TRANSFER_CONTEXT = "transfer";

/** A pre-vote (nobody's term changes), a real election, or a real one that a leader transfer asked for. */
export type ElectionKind = "pre" | "real" | "transfer";

/** What a candidate works with; all of it belongs to the Raft that stands. */
export interface CandidateContext {
  id: NodeId;
  kind: ElectionKind;
  /** The term we stand in: for a pre-vote, the one after ours. */
  term: number;
  log: RaftLog;
  configs: ConfigHistory;
  tracker: ProgressTracker;
  send(m: Outgoing): void;
  /** A quorum of voters granted its vote. */
  won(): void;
  /** Enough voters refused that we cannot win. */
  lost(): void;
}

export class Candidacy {
  constructor(private readonly ctx: CandidateContext) {}

  /** Vote for ourselves and ask every other voter; alone in the config, we win at once. */
  start(): void {
    const { id, kind, term, log, configs } = this.ctx;
    this.ctx.tracker.recordVote(id, true);
    if (this.tallyVotes()) return;
    const type = kind === "pre" ? "preVote" : "vote";
    for (const voter of configs.latest().voters) {
      if (voter === id) continue;
      const m: Outgoing = { type, to: voter, term, index: log.lastIndex(), logTerm: log.lastTerm() };
      if (kind === "transfer") m.context = TRANSFER_CONTEXT;
      this.ctx.send(m);
    }
  }

  /** Count an answer to our requests; any other message is ignored. */
  handleVoteResponse(m: Message): void {
    if (m.type !== (this.ctx.kind === "pre" ? "preVoteResp" : "voteResp")) return;
    this.ctx.tracker.recordVote(m.from, !m.reject);
    this.tallyVotes();
  }

  /** Act on the votes so far; true if the election ended. */
  private tallyVotes(): boolean {
    switch (this.ctx.tracker.tallyVotes(this.ctx.configs.latest().voters)) {
      case "won":
        this.ctx.won();
        return true;
      case "lost":
        this.ctx.lost();
        return true;
      case "pending":
        return false;
    }
  }
}

/** What of a member answerVote reads; a Raft is one. */
export interface Voter {
  readonly term: number;
  readonly vote: NodeId;
  readonly leader: NodeId;
  readonly log: RaftLog;
}

/**
 * Figure 2 RequestVote receiver rules, plus the pre-vote variant: our answer
 * to a vote or pre-vote request of our term or a later one, and whether it
 * grants the vote (then Raft records a real vote as cast).
 */
export function answerVote(m: Message, voter: Voter): { answer: Outgoing; granted: boolean } {
  const type = m.type === "vote" ? "voteResp" : "preVoteResp";
  const canVote =
    voter.vote === m.from ||
    (voter.vote === NO_NODE && voter.leader === NO_NODE) ||
    (m.type === "preVote" && m.term > voter.term);
  if (canVote && voter.log.isUpToDate(m.index ?? 0, m.logTerm ?? 0)) {
    // Answer in the candidate's term: for a pre-vote that is its future term.
    return { answer: { type, to: m.from, term: m.term }, granted: true };
  }
  return { answer: { type, to: m.from, reject: true }, granted: false };
}
