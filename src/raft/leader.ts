/**
 * One term of leadership: taking proposals, turning followers'
 * acknowledgements into commitment, confirming linearizable reads and handing
 * leadership over. Raft passes followers' messages here (step).
 *
 * Raft creates a Leadership when it becomes leader and drops it on any change
 * of role or term, so nothing here outlives the term. Two ways out of the role
 * are decided here (stepDown): our own removal committing, and losing touch
 * with a quorum (check quorum).
 *
 * Safety rules kept here:
 * - A leader never overwrites its log; it commits an index only when a quorum
 *   of voters has it durably AND it is from the leader's own term (§5.4.2, the
 *   Figure 8 scenario). Its own log counts only once persisted.
 * - At most one config change is uncommitted at a time (proposedConfig).
 */
import { encodeConfigEntry, hasQuorum, isVoter, members, proposedConfig, type ConfigHistory } from "./config";
import type { RaftLog } from "./log";
import type { ResolvedOptions } from "./options";
import type { Outbox } from "./outbox";
import type { Progress } from "./progress";
import { ReadOnlyQueue, type ReadRequest } from "./readonly";
import { Replicator } from "./replication";
import type { ProgressTracker } from "./tracker";
import type { ConfigChange, Entry, Message, NodeId, Outgoing, ProgressStatus, ProposeRejection, ProposeResult } from "./types";
import { NO_NODE } from "./types";

/** What a leader works with; all of it belongs to the Raft that leads. */
export interface LeaderContext {
  id: NodeId;
  term: number;
  log: RaftLog;
  configs: ConfigHistory;
  tracker: ProgressTracker;
  outbox: Outbox;
  options: ResolvedOptions;
  send(m: Outgoing): void;
  /** Leave the leader role (our own removal committed, or a quorum went silent). */
  stepDown(): void;
}

export class Leadership {
  /** Target of an ongoing leader transfer, or NO_NODE. */
  transferee: NodeId = NO_NODE;
  private readonly id: NodeId;
  private readonly term: number;
  private readonly log: RaftLog;
  private readonly configs: ConfigHistory;
  private readonly tracker: ProgressTracker;
  private readonly outbox: Outbox;
  private readonly send: (m: Outgoing) => void;
  private readonly stepDown: () => void;
  private readonly options: ResolvedOptions;
  private readonly replicator: Replicator;
  private readonly reads = new ReadOnlyQueue();
  /** Reads that arrived before we committed an entry of our term. */
  private readsAwaitingCommit: { context: string; from: NodeId }[] = [];
  /** Set when we stepped down: whatever was under way stops. */
  private ended = false;
  /** Ticks since the last check-quorum round; a leader transfer also times out on it. */
  private electionElapsed = 0;
  /**
   * Voters not heard from during the whole of the last round (one election
   * timeout awake): down or cut off, as far as we can tell. Quiescence may
   * leave them behind (see canQuiesce).
   */
  private silent = new Set<NodeId>();
  private heartbeatElapsed = 0;

  constructor(ctx: LeaderContext) {
    this.id = ctx.id;
    this.term = ctx.term;
    this.log = ctx.log;
    this.configs = ctx.configs;
    this.tracker = ctx.tracker;
    this.outbox = ctx.outbox;
    this.send = ctx.send;
    this.stepDown = ctx.stepDown;
    this.options = ctx.options;
    this.replicator = new Replicator(ctx.log, ctx.tracker, ctx.options, ctx.send);
  }

  /**
   * Start the term: track every member and append this term's first entry.
   * A leader resumed after a restart while quiet (`resumed`) has its term's
   * entry committed already; it learns its followers' progress afresh.
   */
  start(resumed = false): void {
    const config = this.configs.latest();
    for (const id of members(config)) this.tracker.add(id, config.learners.includes(id), this.log.lastIndex() + 1);
    if (resumed) return;
    // §5.4.2: entries of earlier terms commit only once an entry of this term
    // does, so append one right away rather than wait for a client.
    this.appendEntries([{ index: this.log.lastIndex() + 1, term: this.term, type: "normal", data: "" }]);
  }

  /** A follower's message: the answers to what we sent, or a read to confirm. */
  step(m: Message): void {
    if (m.type === "readIndex") {
      this.handleReadRequest(m.context ?? "", m.from);
      return;
    }
    const pr = this.tracker.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    if (m.type === "appendResp") this.handleAppendResponse(m, pr);
    else if (m.type === "heartbeatResp") this.handleHeartbeatResponse(m, pr);
    else if (m.type === "snapshotResp") this.handleSnapshotResponse(m, pr);
  }

  /**
   * See Raft.canQuiesce: everything committed in this term, nothing under
   * way, no learner, and every voter either caught up (holding all of it
   * and heard from lately) or a laggard (silent for a whole round and
   * since), with the caught-up ones a quorum. "Heard from lately" keeps a
   * leader that woke to find its followers cut off from going quiet again
   * on what it knew before; leaving laggards behind keeps a member that is
   * down from holding the rest of the cluster awake (as CockroachDB
   * quiesces a range with a dead replica). The driver wakes the leader now
   * and then to retry them (see laggards).
   */
  canQuiesce(): boolean {
    const last = this.log.lastIndex();
    if (this.transferee !== NO_NODE || this.log.committed !== last || this.log.persistedLastIndex() !== last || !this.committedInTerm()) return false;
    if (this.reads.size() > 0 || this.readsAwaitingCommit.length > 0) return false;
    const config = this.configs.latest();
    if (config.learners.length > 0) return false;
    const caughtUp = new Set(config.voters.filter((id) => this.caughtUp(id, last)));
    if (!hasQuorum(config.voters, caughtUp)) return false;
    return config.voters.every((id) => caughtUp.has(id) || (this.silent.has(id) && !this.tracker.get(id)?.recentActive));
  }

  /** The voters that do not hold our whole log or were not heard from lately: those a quiet spell leaves behind. */
  laggards(): NodeId[] {
    const last = this.log.lastIndex();
    return this.configs.latest().voters.filter((id) => !this.caughtUp(id, last));
  }

  private caughtUp(id: NodeId, last: number): boolean {
    if (id === this.id) return true;
    const pr = this.tracker.get(id);
    return pr !== undefined && pr.match === last && pr.recentActive;
  }

  /** The last heartbeat before going quiet: it carries our last index and its term (see Raft.acceptQuiesce). */
  sendQuiesce(): void {
    const last = this.log.lastIndex();
    const logTerm = this.log.term(last);
    for (const [id] of this.tracker.progress()) this.send({ type: "heartbeat", to: id, commit: last, logTerm, quiesce: true });
  }

  /**
   * Awake again: heartbeats resume at once, and check quorum counts afresh
   * from now, so that neither a quiet spell looks like a quorum gone silent
   * nor what was heard before it counts as heard lately.
   */
  wake(): void {
    this.electionElapsed = 0;
    this.heartbeatElapsed = this.options.heartbeatTicks;
    this.tracker.resetRecentActive();
    // Who is silent is learned afresh, over a whole round awake.
    this.silent.clear();
  }

  /** Heartbeats, and once per election timeout the check-quorum round. */
  tick(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.options.electionTicks) {
      this.electionElapsed = 0;
      const voters = this.configs.latest().voters;
      if (this.options.checkQuorum && !this.tracker.quorumActive(voters)) {
        // §6.2 of the thesis: a leader cut off from a majority stops acting
        // as one, so clients go look for the real leader.
        this.ended = true;
        this.stepDown();
        return;
      }
      this.silent = new Set(voters.filter((id) => id !== this.id && !this.tracker.get(id)?.recentActive));
      this.tracker.resetRecentActive();
      this.transferee = NO_NODE;
    }
    if (this.heartbeatElapsed >= this.options.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat();
    }
  }

  /** Sends the appends that proposals and commits made due since the last call. */
  flushAppends(): void {
    this.replicator.flushAppends();
  }

  /** Heartbeats carry the newest pending read round, which the answers confirm. */
  private broadcastHeartbeat(): void {
    this.replicator.broadcastHeartbeat(this.reads.lastContext());
  }

  /** Every member's replication progress; ours is our log, counted as far as it is durable. */
  progress(): Record<NodeId, ProgressStatus> {
    const learner = this.configs.latest().learners.includes(this.id);
    return this.tracker.status({ match: this.log.persistedLastIndex(), next: this.log.lastIndex() + 1, learner });
  }

  // ---- proposals ------------------------------------------------------------

  propose(datas: string[]): ProposeResult {
    const refusal = this.refuseProposal();
    if (refusal) return refusal;
    const first = this.log.lastIndex() + 1;
    const entries = datas.map((data, k): Entry => ({ index: first + k, term: this.term, type: "normal", data }));
    this.appendEntries(entries);
    return { ok: true, index: first, term: this.term };
  }

  proposeConfigChange(change: ConfigChange): ProposeResult {
    const refusal = this.refuseProposal();
    if (refusal) return refusal;
    const config = proposedConfig(this.configs.latest(), change, {
      pending: this.configs.latestIndex() > this.log.committed,
      committedInTerm: this.committedInTerm(),
      committed: this.log.committed,
      match: this.tracker.get(change.node)?.match ?? 0,
    });
    if ("reason" in config) return this.rejection(config.reason, config.message);
    const index = this.log.lastIndex() + 1;
    this.appendEntries([{ index, term: this.term, type: "config", data: encodeConfigEntry({ change, config }) }]);
    return { ok: true, index, term: this.term };
  }

  private refuseProposal(): ProposeResult | undefined {
    if (this.transferee === NO_NODE) return undefined;
    return this.rejection("transferring-leadership", `leadership is moving to ${this.transferee}; retry there`);
  }

  private rejection(reason: ProposeRejection, message: string): ProposeResult {
    return { ok: false, reason, leader: this.id, message };
  }

  private appendEntries(entries: Entry[]): void {
    this.log.append(entries);
    this.replicator.broadcastAppend();
    if (this.configs.logChanged(entries)) this.configChanged();
  }

  /** Our log's latest config changed: replicate to whoever is a member now. */
  private configChanged(): void {
    const config = this.configs.latest();
    for (const id of this.tracker.applyConfig(config, this.log.lastIndex() + 1)) this.replicator.sendAppend(id);
    if (!isVoter(config, this.transferee)) this.transferee = NO_NODE;
    // Fewer voters may mean a smaller quorum already holds more entries.
    this.maybeCommit();
  }

  // ---- followers' answers ---------------------------------------------------

  private handleAppendResponse(m: Message, pr: Progress): void {
    if (m.reject) {
      this.replicator.appendRejected(m, pr);
      return;
    }
    const wasPaused = pr.isPaused();
    if (!this.replicator.appendAccepted(m.index ?? 0, pr)) return;
    if (!this.maybeCommit() && wasPaused) this.replicator.sendAppend(m.from);
    if (this.ended) return;
    // Fill the window: this is what pipelines appends to a healthy follower.
    this.replicator.fillWindow(m.from);
    if (m.from === this.transferee && pr.match === this.log.lastIndex()) {
      this.send({ type: "timeoutNow", to: m.from });
    }
  }

  private handleHeartbeatResponse(m: Message, pr: Progress): void {
    this.replicator.heartbeatAnswered(m.from, pr);
    if (m.context) {
      const acks = this.reads.ack(m.context, m.from);
      if (acks && hasQuorum(this.configs.latest().voters, acks)) {
        for (const r of this.reads.release(m.context)) this.answerRead(r);
      }
    }
  }

  private handleSnapshotResponse(m: Message, pr: Progress): void {
    this.replicator.snapshotAnswered(m, pr);
  }

  // ---- commitment -----------------------------------------------------------

  /**
   * Advance commit to the highest index a quorum of voters holds durably, if
   * that entry is from our term (§5.4.2). True if commit moved.
   */
  maybeCommit(): boolean {
    const index = this.tracker.committed(this.configs.latest().voters, this.log.persistedLastIndex());
    if (index <= this.log.committed || this.log.term(index) !== this.term) return false;
    const firstCommitOfTerm = !this.committedInTerm();
    this.log.commitTo(index);
    this.replicator.broadcastAppend();
    if (firstCommitOfTerm) {
      const waiting = this.readsAwaitingCommit;
      this.readsAwaitingCommit = [];
      for (const r of waiting) this.handleReadRequest(r.context, r.from);
    }
    if (!isVoter(this.configs.at(this.log.committed), this.id)) {
      // Our own removal is committed: the cluster no longer needs us (thesis §4.2.2).
      this.ended = true;
      this.stepDown();
    }
    return true;
  }

  private committedInTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  // ---- reads ----------------------------------------------------------------

  /** A linearizable read request (ReadIndex, thesis §6.4), ours or forwarded by `from`. */
  handleReadRequest(context: string, from: NodeId): void {
    if (!this.committedInTerm()) {
      // Until an entry of our term commits, our commit index may lag entries
      // an earlier leader committed (§8): wait for the no-op to commit.
      this.readsAwaitingCommit.push({ context, from });
      return;
    }
    const index = this.log.committed;
    if (hasQuorum(this.configs.latest().voters, new Set([this.id]))) {
      this.answerRead({ context, from, index, acks: new Set() });
      return;
    }
    if (this.reads.add(context, from, index, this.id)) this.broadcastHeartbeat();
  }

  private answerRead(r: ReadRequest): void {
    if (r.from === this.id) this.outbox.readStates.push({ context: r.context, index: r.index });
    else this.send({ type: "readIndexResp", to: r.from, context: r.context, index: r.index });
  }

  // ---- leader transfer --------------------------------------------------------

  /** See Raft.transferLeadership; the attempt is abandoned after an election timeout (tick). */
  transferTo(to: NodeId): void {
    if (this.transferee === to) return;
    this.transferee = to;
    this.electionElapsed = 0;
    const pr = this.tracker.get(to) as Progress;
    if (pr.match === this.log.lastIndex()) this.send({ type: "timeoutNow", to });
    else this.replicator.sendAppend(to);
  }
}
