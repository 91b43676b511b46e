/**
 * The Raft state machine of one member: terms, votes, role transitions, and
 * each message handled according to our role. A leader's work within its
 * term is in leader.ts, a candidate's and a voter's in election.ts, log
 * replication in replication.ts, snapshot transfer in snapshot-transfer.ts,
 * progress tracking in tracker.ts, membership in config.ts, and the rules of
 * quiescence (an idle cluster stops ticking and sending) in quiescence.ts.
 *
 * Pure and deterministic: inputs are tick(), step(message) and the local
 * requests (propose, readIndex, ...); outputs accumulate in the outbox and
 * the log's unstable part, which RawNode hands to the driver as a Ready.
 *
 * Safety rules kept here (Raft paper, Figure 2 and §5):
 * - Terms only grow; a message from a newer term makes us a follower of it,
 *   one from an older term is ignored (or answered with our term).
 * - At most one vote per term, and only for a candidate whose log is at least
 *   as up-to-date as ours (§5.2, §5.4.1; election.ts). The vote is durable
 *   before the reply leaves: replies go out in msgsAfterPersist.
 * - A leader never overwrites its log and commits only by quorum (leader.ts).
 * - A follower acknowledges only entries that will be durable before the
 *   acknowledgement is sent (again via msgsAfterPersist).
 * - Membership: the latest config in the log is in force, committed or not
 *   (config.ts says which changes a leader may propose when).
 */
import { ConfigHistory, isVoter } from "./config";
import { answerVote, Candidacy, TRANSFER_CONTEXT, type ElectionKind } from "./election";
import { Leadership } from "./leader";
import { RaftLog } from "./log";
import { resolveOptions, type RaftOptions, type ResolvedOptions } from "./options";
import { Outbox } from "./outbox";
import { acceptQuiesce, keepsQuiet } from "./quiescence";
import { randomInt, seededRandom, type Random } from "./random";
import { receiveAppend } from "./replication";
import { SnapshotReceiver } from "./snapshot-transfer";
import type { Storage } from "./storage";
import { ProgressTracker } from "./tracker";
import type { ClusterConfig, ConfigChange, Message, NodeId, Outgoing, ProposeResult, Role, Snapshot, Status } from "./types";
import { NO_NODE } from "./types";

export { TRANSFER_CONTEXT } from "./election";

export class Raft {
  readonly id: NodeId;
  readonly log: RaftLog;
  term = 0;
  vote: NodeId = NO_NODE;
  role: Role = "follower";
  leader: NodeId = NO_NODE;
  readonly outbox = new Outbox();
  /** The term the driver has confirmed durable: a leader sends early only in that term (Outbox.push). */
  persistedTerm: number;
  /** Not ticking: the leader went quiet with every follower caught up (see quiescence.ts). */
  quiescent = false;

  private readonly options: ResolvedOptions;
  private readonly random: Random;
  private readonly configs: ConfigHistory;
  private readonly tracker: ProgressTracker;
  /** Present exactly while we are leader. */
  private leadership: Leadership | undefined;
  /** Present exactly while we are pre-candidate or candidate. */
  private candidacy: Candidacy | undefined;
  /** Ticks since we last heard from the leader, granted a vote or changed role (a leader counts in Leadership). */
  private electionElapsed = 0;
  private randomizedElectionTimeout = 0;
  private readonly snapshots: SnapshotReceiver;

  constructor(options: RaftOptions, storage: Storage) {
    this.options = resolveOptions(options);
    this.id = this.options.id;
    this.random = seededRandom(this.options.seed);
    this.log = new RaftLog(storage);
    this.tracker = new ProgressTracker(this.id, this.options.maxInflight);

    const snapshot = storage.snapshot();
    this.configs = new ConfigHistory(snapshot.meta.config, storage.entries(storage.firstIndex(), storage.lastIndex() + 1));
    this.snapshots = new SnapshotReceiver(this.log, this.configs);

    const hs = storage.hardState();
    this.log.resume(hs.commit, this.options.applied ?? snapshot.meta.index, snapshot.meta.index);
    this.term = hs.term;
    this.vote = hs.vote;
    this.persistedTerm = hs.term;
    this.becomeFollower(this.term, NO_NODE);
    if (this.options.quiescentLeader !== undefined) this.resumeQuiescent(this.options.quiescentLeader);
  }

  /** The config in force: the latest one in the log. */
  get config(): ClusterConfig {
    return this.configs.latest();
  }

  // ---- inputs -------------------------------------------------------------

  tick(): void {
    if (this.quiescent) return;
    if (this.leadership) this.leadership.tick();
    else this.tickElection();
  }

  /** Handle a message from another member (Figure 2 "Rules for Servers"). */
  step(m: Message): void {
    if (this.quiescent && !keepsQuiet(m, this)) this.wake(m.from);
    if (m.term > this.term) {
      if ((m.type === "vote" || m.type === "preVote") && m.context !== TRANSFER_CONTEXT && this.inLease()) {
        // A member that hears from a live leader ignores elections it did not
        // cause, so a partitioned or removed server cannot depose it (thesis §4.2.3).
        return;
      }
      if (m.type === "preVote" || (m.type === "preVoteResp" && !m.reject)) {
        // Pre-votes run in the candidate's future term; nobody's term changes.
      } else {
        const fromLeader = m.type === "append" || m.type === "heartbeat" || m.type === "snapshot";
        this.becomeFollower(m.term, fromLeader ? m.from : NO_NODE);
      }
    } else if (m.term < this.term) {
      if ((this.options.checkQuorum || this.options.preVote) && (m.type === "append" || m.type === "heartbeat")) {
        // A stale leader (e.g. healed from a partition) would otherwise never
        // learn our term: pre-vote keeps us from disrupting it by voting.
        this.send({ type: "appendResp", to: m.from });
      } else if (m.type === "preVote") {
        this.send({ type: "preVoteResp", to: m.from, reject: true });
      }
      return;
    }

    if (m.type === "vote" || m.type === "preVote") {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case "leader":
        this.stepLeader(m);
        break;
      case "candidate":
      case "pre-candidate":
        this.stepCandidate(m);
        break;
      case "follower":
        this.stepFollower(m);
        break;
    }
  }

  /** Start an election now (e.g. a single-member cluster at startup). */
  campaign(): void {
    this.wake();
    if (this.role !== "leader") this.startElection(this.options.preVote ? "pre" : "real");
  }

  propose(datas: string[]): ProposeResult {
    if (!this.leadership) return this.notLeader();
    this.wake();
    return this.leadership.propose(datas);
  }

  proposeConfigChange(change: ConfigChange): ProposeResult {
    if (!this.leadership) return this.notLeader();
    this.wake();
    return this.leadership.proposeConfigChange(change);
  }

  /**
   * Whether this leader may go quiet now: its whole log is durable, committed
   * and applied, every member (no learners) holds all of it, and no read or
   * leader transfer is under way. The driver adds what only it knows (no
   * proposal waiting, nothing due soon) and then calls quiesce().
   */
  canQuiesce(): boolean {
    return !this.quiescent && this.log.applied === this.log.lastIndex() && (this.leadership?.canQuiesce() ?? false);
  }

  /** See Leadership.laggards. */
  laggards(): NodeId[] {
    return this.leadership?.laggards() ?? [];
  }

  /** The leader goes quiet, telling its followers to (see quiescence.ts). False if it may not. */
  quiesce(): boolean {
    if (!this.canQuiesce()) return false;
    this.leadership!.sendQuiesce();
    this.quiescent = true;
    return true;
  }

  /**
   * Ends quiescence: on a local request, on any message but a quiesce
   * heartbeat, or when the driver says so (a deadline came). A follower
   * woken by anyone but its leader tells the leader, so that heartbeats
   * resume before its own election timer can fire.
   */
  wake(cause?: NodeId): void {
    if (!this.quiescent) return;
    this.quiescent = false;
    this.electionElapsed = 0;
    if (this.leadership) this.leadership.wake();
    else if (this.leader !== NO_NODE && cause !== this.leader) this.send({ type: "wake", to: this.leader });
  }

  private notLeader(): ProposeResult {
    return { ok: false, reason: "not-leader", leader: this.leader, message: "propose to the leader" };
  }

  /**
   * Request a linearizable read point. The answer arrives as a ReadState with
   * this context (on this member) or never, if leadership changes meanwhile:
   * callers retry after a timeout. Returns false if no leader is known.
   */
  readIndex(context: string): boolean {
    this.wake();
    if (this.leadership) {
      this.leadership.handleReadRequest(context, this.id);
      return true;
    }
    if (this.role === "follower" && this.leader !== NO_NODE) {
      this.send({ type: "readIndex", to: this.leader, context });
      return true;
    }
    return false;
  }

  /**
   * Hand leadership to `to` (thesis §3.10): bring it up to date, then tell it
   * to campaign at once. Proposals are refused meanwhile; the attempt is
   * abandoned after an election timeout.
   */
  transferLeadership(to: NodeId): boolean {
    if (!this.leadership || to === this.id || !isVoter(this.config, to)) return false;
    this.wake();
    this.leadership.transferTo(to);
    return true;
  }

  /** Build the snapshot for compacting the log up to `index` (<= applied). */
  snapshotAt(index: number, data: string): Snapshot {
    return this.log.snapshotAt(index, this.configs.at(index), data);
  }

  /** The driver stored a snapshot at `index` and dropped the entries it covers. */
  compacted(index: number): void {
    this.configs.compacted(index);
  }

  /** The driver persisted the log through `index` (of `term`). */
  persisted(index: number, term: number): void {
    this.log.stableTo(index, term);
    this.leadership?.maybeCommit();
  }

  status(): Status {
    const status: Status = {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leader: this.leader,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      firstIndex: this.log.firstIndex(),
      config: { voters: [...this.config.voters], learners: [...this.config.learners] },
      transferee: this.leadership?.transferee ?? NO_NODE,
      quiescent: this.quiescent,
    };
    if (this.leadership) status.progress = this.leadership.progress();
    return status;
  }

  /** Sends the appends that became due since the last call (RawNode calls it before building a Ready). */
  flushAppends(): void {
    this.leadership?.flushAppends();
  }

  // ---- role transitions ---------------------------------------------------

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = NO_NODE;
    }
    this.leader = NO_NODE;
    this.quiescent = false;
    this.electionElapsed = 0;
    this.randomizedElectionTimeout = randomInt(this.random, this.options.electionTicks, 2 * this.options.electionTicks);
    this.leadership = undefined;
    this.candidacy = undefined;
    this.tracker.reset();
  }

  private becomeFollower(term: number, leader: NodeId): void {
    this.reset(term);
    this.role = "follower";
    this.leader = leader;
  }

  /** `resumed`: leading on after a restart in the same term (see resumeQuiescent), so no new no-op entry. */
  private becomeLeader(resumed = false): void {
    this.reset(this.term);
    this.role = "leader";
    this.leader = this.id;
    this.leadership = new Leadership({
      id: this.id,
      term: this.term,
      log: this.log,
      configs: this.configs,
      tracker: this.tracker,
      outbox: this.outbox,
      options: this.options,
      send: (m) => this.send(m),
      stepDown: () => this.becomeFollower(this.term, NO_NODE),
    });
    this.leadership.start(resumed);
  }

  /**
   * Back from storage as it was when quiet (see RaftOptions.quiescentLeader).
   * A leader takes up its term's leadership again: it won that term's
   * election and its vote for itself is durable, so no one else can lead in
   * this term; it still commits only by quorum, as any leader.
   */
  private resumeQuiescent(leader: NodeId): void {
    if (leader === this.id) {
      if (this.vote !== this.id || !this.promotable()) return;
      this.becomeLeader(true);
    } else {
      this.leader = leader;
    }
    this.quiescent = true;
  }

  private startElection(kind: ElectionKind): void {
    if (!this.promotable()) return;
    if (kind === "pre") {
      // Same term, no vote cast: a pre-candidate that loses leaves no trace.
      this.reset(this.term);
      this.role = "pre-candidate";
    } else {
      this.reset(this.term + 1);
      this.role = "candidate";
      this.vote = this.id;
    }
    this.candidacy = new Candidacy({
      id: this.id,
      kind,
      term: kind === "pre" ? this.term + 1 : this.term,
      log: this.log,
      configs: this.configs,
      tracker: this.tracker,
      send: (m) => this.send(m),
      won: () => (kind === "pre" ? this.startElection("real") : this.becomeLeader()),
      lost: () => this.becomeFollower(this.term, NO_NODE),
    });
    this.candidacy.start();
  }

  /** Whether we may stand for election: only voters, and not while a received snapshot awaits persisting. */
  private promotable(): boolean {
    return isVoter(this.config, this.id) && this.log.pendingSnapshot() === undefined;
  }

  // ---- elections (a candidate's side is in election.ts) --------------------

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.startElection(this.options.preVote ? "pre" : "real");
    }
  }

  private inLease(): boolean {
    return this.options.checkQuorum && this.leader !== NO_NODE && this.electionElapsed < this.options.electionTicks;
  }

  /** Answers a vote or pre-vote request (see answerVote); a vote granted is cast. */
  private handleVoteRequest(m: Message): void {
    const { answer, granted } = answerVote(m, this);
    this.send(answer);
    if (granted && m.type === "vote") {
      this.electionElapsed = 0;
      this.vote = m.from;
    }
  }

  // ---- role handlers ------------------------------------------------------

  private stepLeader(m: Message): void {
    (this.leadership as Leadership).step(m);
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case "append":
      case "heartbeat":
      case "snapshot":
        // A leader of our term exists (§5.2): give up the election.
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        break;
      default:
        (this.candidacy as Candidacy).handleVoteResponse(m);
        break;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "append":
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleAppend(m);
        break;
      case "heartbeat": {
        this.electionElapsed = 0;
        this.leader = m.from;
        if (m.quiesce) {
          if (acceptQuiesce(this.log, m)) {
            this.quiescent = true;
            return;
          }
          // Not caught up (a laggard the leader left behind, say): stay
          // awake, and have the leader wake up too. The commit index it
          // carries is the leader's last, which this log may not hold.
          this.wake(m.from);
          this.send({ type: "wake", to: m.from });
          return;
        }
        this.log.commitTo(m.commit ?? 0);
        const resp: Outgoing = { type: "heartbeatResp", to: m.from };
        if (m.context !== undefined) resp.context = m.context; // the read round it confirms
        this.send(resp);
        break;
      }
      case "snapshot":
        this.electionElapsed = 0;
        this.leader = m.from;
        if (m.chunk) this.send(this.snapshots.receive(m.from, m.chunk));
        break;
      case "timeoutNow":
        this.startElection("transfer");
        break;
      case "readIndexResp":
        this.outbox.readStates.push({ context: m.context ?? "", index: m.index ?? 0 });
        break;
      default:
        break;
    }
  }

  // ---- replication: follower side -----------------------------------------

  private handleAppend(m: Message): void {
    const { reply, changed } = receiveAppend(this.log, m);
    // The config in force follows the log, including a rollback when an
    // uncommitted config entry is overwritten.
    this.configs.logChanged(changed);
    this.send(reply);
  }

  // ---- output -------------------------------------------------------------

  /** Queue a message from us; the outbox decides whether it may leave before the next Ready is persisted. */
  private send(m: Outgoing): void {
    const msg: Message = { ...m, from: this.id, term: m.term ?? this.term };
    this.outbox.push(msg, this.role === "leader" && this.persistedTerm === this.term);
  }
}
