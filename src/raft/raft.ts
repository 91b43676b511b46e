/**
 * The Raft state machine of one member: roles, elections, replication,
 * commitment, reads, snapshots, membership and leader transfer.
 *
 * Pure and deterministic: inputs are tick(), step(message) and the local
 * requests (propose, readIndex, ...); outputs accumulate in `msgs`,
 * `msgsAfterPersist`, `readStates` and the log's unstable part, which
 * RawNode hands to the driver as a Ready.
 *
 * Safety rules kept here (Raft paper, Figure 2 and §5):
 * - Terms only grow; a message from a newer term makes us a follower of it,
 *   one from an older term is ignored (or answered with our term).
 * - At most one vote per term, and only for a candidate whose log is at least
 *   as up-to-date as ours (§5.2, §5.4.1). The vote is durable before the
 *   reply leaves: replies go out in msgsAfterPersist.
 * - A leader never overwrites its log; it commits an index only when a quorum
 *   of voters has it durably AND it is from the leader's own term (§5.4.2, the
 *   Figure 8 scenario). Its own log counts only once persisted.
 * - A follower acknowledges only entries that will be durable before the
 *   acknowledgement is sent (again via msgsAfterPersist).
 * - Membership: the latest config in the log is in force, committed or not;
 *   at most one config change is uncommitted, and none is proposed before the
 *   leader has committed an entry of its own term (the single-server change
 *   fix posted by Ongaro to raft-dev in 2015).
 */
import { applyChange, decodeConfigEntry, encodeConfigEntry, isVoter, members, quorum, quorumIndex, voteResult } from "./config";
import { RaftLog } from "./log";
import { resolveOptions, type RaftOptions, type ResolvedOptions } from "./options";
import { Progress } from "./progress";
import { randomInt, seededRandom, type Random } from "./random";
import { ReadOnlyQueue, type ReadRequest } from "./readonly";
import type { Storage } from "./storage";
import type {
  ClusterConfig,
  ConfigChange,
  Entry,
  Message,
  MessageType,
  NodeId,
  ReadState,
  Role,
  Snapshot,
  SnapshotMeta,
  Status,
} from "./types";
import { NO_NODE } from "./types";

/** Vote-request context marking an election started by a leader transfer. */
export const TRANSFER_CONTEXT = "transfer";

export type ProposeRejection =
  | "not-leader"
  | "transferring-leadership"
  | "config-change-pending"
  | "invalid-config-change"
  | "learner-behind";

export type ProposeResult =
  | { ok: true; index: number; term: number }
  | { ok: false; reason: ProposeRejection; leader: NodeId; message: string };

/** Messages a leader may send before its own log write is durable (thesis §10.2.1). */
const LEADER_EARLY_TYPES: ReadonlySet<MessageType> = new Set<MessageType>([
  "append",
  "heartbeat",
  "snapshot",
  "timeoutNow",
  "readIndexResp",
]);

type Outgoing = Omit<Message, "from" | "term"> & { term?: number };

interface SnapshotAssembly {
  meta: SnapshotMeta;
  parts: string[];
  received: number;
}

export class Raft {
  readonly id: NodeId;
  readonly log: RaftLog;
  term = 0;
  vote: NodeId = NO_NODE;
  role: Role = "follower";
  leader: NodeId = NO_NODE;
  /** The config in force: the latest one in the log. */
  config: ClusterConfig;

  /** Messages the driver may send right away. */
  msgs: Message[] = [];
  /** Messages the driver sends only after persisting the Ready they came with. */
  msgsAfterPersist: Message[] = [];
  readStates: ReadState[] = [];
  /** The term the driver has confirmed durable; see send(). */
  persistedTerm: number;

  private readonly options: ResolvedOptions;
  private readonly random: Random;
  /** Config as of the snapshot, and the config entries after it, ascending. */
  private baseConfig: ClusterConfig;
  private configEntries: { index: number; config: ClusterConfig }[] = [];
  private readonly progress = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();
  private readonly reads = new ReadOnlyQueue();
  /** Reads that arrived before the leader committed an entry of its term. */
  private readsAwaitingCommit: { context: string; from: NodeId }[] = [];
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private transferee: NodeId = NO_NODE;
  private assembly: SnapshotAssembly | undefined;
  /** Set by broadcastAppend; the appends go out in flushAppends. */
  private appendsDue = false;

  constructor(options: RaftOptions, storage: Storage) {
    this.options = resolveOptions(options);
    this.id = this.options.id;
    this.random = seededRandom(this.options.seed);
    this.log = new RaftLog(storage);

    const snapshot = storage.snapshot();
    this.baseConfig = snapshot.meta.config;
    this.noteConfigEntries(storage.entries(storage.firstIndex(), storage.lastIndex() + 1));
    this.config = this.configAt(this.log.lastIndex());

    const hs = storage.hardState();
    if (hs.commit > this.log.lastIndex()) {
      throw new Error(`stored commit ${hs.commit} is beyond the stored log (last ${this.log.lastIndex()}); storage is corrupt`);
    }
    this.log.committed = Math.max(hs.commit, this.log.committed);
    const applied = this.options.applied ?? snapshot.meta.index;
    if (applied < snapshot.meta.index || applied > this.log.committed) {
      throw new Error(
        `applied ${applied} must lie between the snapshot index ${snapshot.meta.index} and commit ${this.log.committed}; restore the application from the stored snapshot first`,
      );
    }
    this.log.applied = applied;
    this.term = hs.term;
    this.vote = hs.vote;
    this.persistedTerm = hs.term;
    this.becomeFollower(this.term, NO_NODE);
  }

  // ---- inputs -------------------------------------------------------------

  tick(): void {
    if (this.role === "leader") this.tickHeartbeat();
    else this.tickElection();
  }

  /** Handle a message from another member (Figure 2 "Rules for Servers"). */
  step(m: Message): void {
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
    if (this.role !== "leader") this.startElection(this.options.preVote ? "pre" : "real");
  }

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
    if (this.latestConfigIndex() > this.log.committed) {
      return this.rejection("config-change-pending", "a config change is still uncommitted; retry when it has committed");
    }
    if (!this.committedInCurrentTerm()) {
      return this.rejection("config-change-pending", "the new leader has not committed an entry of its term yet; retry shortly");
    }
    if (change.type === "addVoter" && !isVoter(this.config, change.node)) {
      // A voter that has to catch up first could stall commits meanwhile
      // (thesis §4.2.1), so new voters start as learners.
      if (!this.config.learners.includes(change.node)) {
        return this.rejection(
          "invalid-config-change",
          `${change.node} is not a learner; add it as a learner first and promote it once it has caught up`,
        );
      }
      const match = this.progress.get(change.node)?.match ?? 0;
      if (match < this.log.committed) {
        return this.rejection(
          "learner-behind",
          `learner ${change.node} holds ${match} of ${this.log.committed} committed entries; promote it once it has caught up`,
        );
      }
    }
    const config = applyChange(this.config, change);
    if (typeof config === "string") return this.rejection("invalid-config-change", config);
    const index = this.log.lastIndex() + 1;
    this.appendEntries([{ index, term: this.term, type: "config", data: encodeConfigEntry({ change, config }) }]);
    return { ok: true, index, term: this.term };
  }

  /**
   * Request a linearizable read point. The answer arrives as a ReadState with
   * this context (on this member) or never, if leadership changes meanwhile:
   * callers retry after a timeout. Returns false if no leader is known.
   */
  readIndex(context: string): boolean {
    if (this.role === "leader") {
      this.handleReadRequest(context, this.id);
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
    if (this.role !== "leader" || to === this.id || !isVoter(this.config, to)) return false;
    if (this.transferee === to) return true;
    this.transferee = to;
    this.electionElapsed = 0;
    const pr = this.progress.get(to) as Progress;
    if (pr.match === this.log.lastIndex()) this.send({ type: "timeoutNow", to });
    else this.sendAppend(to);
    return true;
  }

  /** Build the snapshot for compacting the log up to `index` (<= applied). */
  snapshotAt(index: number, data: string): Snapshot {
    if (index > this.log.applied) throw new Error(`cannot compact to ${index}: only ${this.log.applied} is applied`);
    const term = this.log.term(index);
    if (term === undefined || index < this.log.firstIndex()) {
      throw new Error(`cannot compact to ${index}: the log already starts at ${this.log.firstIndex()}`);
    }
    return { meta: { index, term, config: this.configAt(index) }, data };
  }

  /** The driver stored a snapshot at `index` and dropped the entries it covers. */
  compacted(index: number): void {
    this.baseConfig = this.configAt(index);
    this.configEntries = this.configEntries.filter((c) => c.index > index);
  }

  /** The driver persisted the log through `index` (of `term`). */
  persisted(index: number, term: number): void {
    this.log.stableTo(index, term);
    if (this.role === "leader") this.maybeCommit();
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
      transferee: this.transferee,
    };
    if (this.role === "leader") {
      status.progress = {};
      for (const [id, pr] of this.progress) status.progress[id] = pr.status();
      const persisted = this.log.persistedLastIndex();
      status.progress[this.id] = {
        match: persisted,
        next: this.log.lastIndex() + 1,
        state: "replicate",
        learner: this.config.learners.includes(this.id),
        recentActive: true,
      };
    }
    return status;
  }

  // ---- role transitions ---------------------------------------------------

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = NO_NODE;
    }
    this.leader = NO_NODE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = randomInt(this.random, this.options.electionTicks, 2 * this.options.electionTicks);
    this.transferee = NO_NODE;
    this.votes.clear();
    this.progress.clear();
    this.appendsDue = false;
    this.reads.clear();
    this.readsAwaitingCommit = [];
  }

  private becomeFollower(term: number, leader: NodeId): void {
    this.reset(term);
    this.role = "follower";
    this.leader = leader;
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.role = "leader";
    this.leader = this.id;
    for (const id of members(this.config)) this.addProgress(id);
    // §5.4.2: entries of earlier terms commit only once an entry of this term
    // does, so append one right away rather than wait for a client.
    this.appendEntries([{ index: this.log.lastIndex() + 1, term: this.term, type: "normal", data: "" }]);
  }

  private startElection(kind: "pre" | "real" | "transfer"): void {
    if (!this.promotable()) return;
    let type: "preVote" | "vote";
    let term: number;
    if (kind === "pre") {
      // Same term, no vote cast: a pre-candidate that loses leaves no trace.
      this.reset(this.term);
      this.role = "pre-candidate";
      type = "preVote";
      term = this.term + 1;
    } else {
      this.reset(this.term + 1);
      this.role = "candidate";
      this.vote = this.id;
      type = "vote";
      term = this.term;
    }
    this.votes.set(this.id, true);
    if (this.tallyVotes()) return;
    for (const id of this.config.voters) {
      if (id === this.id) continue;
      const m: Outgoing = { type, to: id, term, index: this.log.lastIndex(), logTerm: this.log.lastTerm() };
      if (kind === "transfer") m.context = TRANSFER_CONTEXT;
      this.send(m);
    }
  }

  /** Act on the votes so far; true if the election ended. */
  private tallyVotes(): boolean {
    switch (voteResult(this.config.voters, this.votes)) {
      case "won":
        if (this.role === "pre-candidate") this.startElection("real");
        else this.becomeLeader();
        return true;
      case "lost":
        this.becomeFollower(this.term, NO_NODE);
        return true;
      case "pending":
        return false;
    }
  }

  // ---- ticks --------------------------------------------------------------

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.startElection(this.options.preVote ? "pre" : "real");
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.options.electionTicks) {
      this.electionElapsed = 0;
      if (this.options.checkQuorum) {
        if (!this.quorumActive()) {
          // §6.2 of the thesis: a leader cut off from a majority stops acting
          // as one, so clients go look for the real leader.
          this.becomeFollower(this.term, NO_NODE);
          return;
        }
        for (const pr of this.progress.values()) pr.recentActive = false;
      }
      this.transferee = NO_NODE;
    }
    if (this.heartbeatElapsed >= this.options.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat();
    }
  }

  // ---- votes --------------------------------------------------------------

  private inLease(): boolean {
    return this.options.checkQuorum && this.leader !== NO_NODE && this.electionElapsed < this.options.electionTicks;
  }

  /** Figure 2 RequestVote receiver rules, plus the pre-vote variant. */
  private handleVoteRequest(m: Message): void {
    const respType = m.type === "vote" ? "voteResp" : "preVoteResp";
    const canVote =
      this.vote === m.from ||
      (this.vote === NO_NODE && this.leader === NO_NODE) ||
      (m.type === "preVote" && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.index ?? 0, m.logTerm ?? 0)) {
      // Answer in the candidate's term: for a pre-vote that is its future term.
      this.send({ type: respType, to: m.from, term: m.term });
      if (m.type === "vote") {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, to: m.from, reject: true });
    }
  }

  // ---- role handlers ------------------------------------------------------

  private stepLeader(m: Message): void {
    if (m.type === "readIndex") {
      this.handleReadRequest(m.context ?? "", m.from);
      return;
    }
    const pr = this.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    switch (m.type) {
      case "appendResp":
        this.handleAppendResponse(m, pr);
        break;
      case "heartbeatResp":
        this.handleHeartbeatResponse(m, pr);
        break;
      case "snapshotResp":
        if (pr.state === "snapshot" && pr.transfer && m.index === pr.transfer.snapshot.meta.index) {
          // The follower says where it stands; resume there (a reply equal to
          // our offset is a duplicate: that chunk is already on its way).
          if (m.offset !== pr.transfer.offset) {
            pr.transfer.offset = m.offset ?? 0;
            this.sendSnapshotChunk(m.from, pr);
          }
        }
        break;
      default:
        break;
    }
  }

  private stepCandidate(m: Message): void {
    const respType = this.role === "pre-candidate" ? "preVoteResp" : "voteResp";
    switch (m.type) {
      case "append":
      case "heartbeat":
      case "snapshot":
        // A leader of our term exists (§5.2): give up the election.
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        break;
      case respType:
        this.votes.set(m.from, !m.reject);
        this.tallyVotes();
        break;
      default:
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
        this.log.commitTo(m.commit ?? 0);
        const resp: Outgoing = { type: "heartbeatResp", to: m.from };
        if (m.context !== undefined) resp.context = m.context; // the read round it confirms
        this.send(resp);
        break;
      }
      case "snapshot":
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleSnapshotChunk(m);
        break;
      case "timeoutNow":
        this.startElection("transfer");
        break;
      case "readIndexResp":
        this.readStates.push({ context: m.context ?? "", index: m.index ?? 0 });
        break;
      default:
        break;
    }
  }

  // ---- replication: follower side -----------------------------------------

  private handleAppend(m: Message): void {
    const prevIndex = m.index ?? 0;
    if (prevIndex < this.log.committed) {
      // Everything up to our commit index matches any leader (§5.4); say so.
      this.send({ type: "appendResp", to: m.from, index: this.log.committed });
      return;
    }
    const entries = m.entries ?? [];
    const result = this.log.maybeAppend(prevIndex, m.logTerm ?? 0, m.commit ?? 0, entries);
    if (result) {
      if (result.firstChangedIndex !== 0) {
        this.onLogChanged(entries.filter((e) => e.index >= result.firstChangedIndex));
      }
      this.send({ type: "appendResp", to: m.from, index: result.lastNewIndex });
      return;
    }
    // Consistency check failed. Suggest where to probe next: the last index at
    // or below the probe whose term is not newer than the leader's term there.
    const hint = this.log.findConflictByTerm(Math.min(prevIndex, this.log.lastIndex()), m.logTerm ?? 0);
    this.send({
      type: "appendResp",
      to: m.from,
      index: prevIndex,
      reject: true,
      rejectHint: hint,
      logTerm: this.log.term(hint) ?? 0,
    });
  }

  private handleSnapshotChunk(m: Message): void {
    const chunk = m.chunk;
    if (!chunk) return;
    if (chunk.meta.index <= this.log.committed) {
      this.assembly = undefined;
      this.send({ type: "appendResp", to: m.from, index: this.log.committed });
      return;
    }
    const a = this.assembly;
    const same = a !== undefined && a.meta.index === chunk.meta.index && a.meta.term === chunk.meta.term;
    if (same && chunk.offset !== a.received) {
      this.send({ type: "snapshotResp", to: m.from, index: chunk.meta.index, offset: a.received });
      return;
    }
    if (!same) {
      if (chunk.offset !== 0) {
        this.send({ type: "snapshotResp", to: m.from, index: chunk.meta.index, offset: 0 });
        return;
      }
      this.assembly = { meta: chunk.meta, parts: [], received: 0 };
    }
    const assembly = this.assembly as SnapshotAssembly;
    assembly.parts.push(chunk.data);
    assembly.received += chunk.data.length;
    if (assembly.received < chunk.total) {
      this.send({ type: "snapshotResp", to: m.from, index: chunk.meta.index, offset: assembly.received });
      return;
    }
    this.assembly = undefined;
    this.restore({ meta: assembly.meta, data: assembly.parts.join("") });
    this.send({ type: "appendResp", to: m.from, index: chunk.meta.index });
  }

  /** Install a complete snapshot unless our log already covers it (§7). */
  private restore(snapshot: Snapshot): void {
    const { index, term } = snapshot.meta;
    if (this.log.matchTerm(index, term)) {
      // Our log already has the snapshot's last entry, hence (log matching)
      // everything before it: keep the log, just learn the commit.
      this.log.commitTo(index);
      return;
    }
    this.log.restore(snapshot);
    this.baseConfig = snapshot.meta.config;
    this.configEntries = [];
    this.config = this.baseConfig;
  }

  // ---- replication: leader side -------------------------------------------

  private refuseProposal(): ProposeResult | undefined {
    if (this.role !== "leader") return this.rejection("not-leader", "propose to the leader");
    if (this.transferee !== NO_NODE) {
      return this.rejection("transferring-leadership", `leadership is moving to ${this.transferee}; retry there`);
    }
    return undefined;
  }

  private rejection(reason: ProposeRejection, message: string): ProposeResult {
    return { ok: false, reason, leader: this.leader, message };
  }

  private appendEntries(entries: Entry[]): void {
    this.log.append(entries);
    this.broadcastAppend();
    this.onLogChanged(entries);
  }

  private addProgress(id: NodeId): void {
    if (id === this.id || this.progress.has(id)) return;
    const learner = this.config.learners.includes(id);
    this.progress.set(id, new Progress(0, this.log.lastIndex() + 1, this.options.maxInflight, learner));
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    const index = m.index ?? 0;
    if (m.reject) {
      let hint = m.rejectHint ?? 0;
      // Skip our own entries from terms the follower cannot have either.
      if ((m.logTerm ?? 0) > 0) hint = this.log.findConflictByTerm(hint, m.logTerm ?? 0);
      if (pr.maybeDecrTo(index, hint)) {
        if (pr.state === "replicate") pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    // A probe answered at the current match still proves where we stand.
    const matched = pr.maybeUpdate(index) || (pr.state === "probe" && pr.match === index);
    if (!matched) return;
    if (pr.state === "probe") pr.becomeReplicate();
    else if (pr.state === "snapshot" && pr.transfer && pr.match >= pr.transfer.snapshot.meta.index) pr.becomeReplicate();
    else if (pr.state === "replicate") pr.inflights.freeLE(index);

    if (!this.maybeCommit() && wasPaused) this.sendAppend(m.from);
    if (this.role !== "leader") return;
    // Fill the window: this is what pipelines appends to a healthy follower.
    while (this.sendAppend(m.from, false)) {
      /* keep sending */
    }
    if (m.from === this.transferee && pr.match === this.log.lastIndex()) {
      this.send({ type: "timeoutNow", to: m.from });
    }
  }

  private handleHeartbeatResponse(m: Message, pr: Progress): void {
    pr.probeSent = false;
    // A lost append would keep a full window stuck; let one more through.
    if (pr.state === "replicate" && pr.inflights.full()) pr.inflights.freeFirst();
    if (pr.state === "snapshot") this.sendSnapshotChunk(m.from, pr);
    else if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);

    if (m.context) {
      const acks = this.reads.ack(m.context, m.from);
      if (acks && this.hasQuorum(acks)) {
        for (const r of this.reads.release(m.context)) this.answerRead(r);
      }
    }
  }

  /**
   * Send `to` the entries it lacks (or a snapshot, if we compacted them).
   * With sendIfEmpty false, send only if there are entries. True if sent.
   */
  private sendAppend(to: NodeId, sendIfEmpty = true): boolean {
    const pr = this.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) {
      if (pr.state !== "snapshot") pr.becomeSnapshot(this.log.storage.snapshot());
      this.sendSnapshotChunk(to, pr);
      return false;
    }
    const entries = this.log.slice(pr.next, this.log.lastIndex() + 1, this.options.maxAppendSize);
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({ type: "append", to, index: prevIndex, logTerm: prevTerm, entries, commit: this.log.committed });
    pr.sentCommit = this.log.committed;
    pr.sentAppend(entries.length, prevIndex + entries.length);
    return true;
  }

  private sendSnapshotChunk(to: NodeId, pr: Progress): void {
    const transfer = pr.transfer;
    if (!transfer) return;
    const { snapshot, offset } = transfer;
    const data = snapshot.data.slice(offset, offset + this.options.snapshotChunkSize);
    this.send({ type: "snapshot", to, chunk: { meta: snapshot.meta, offset, total: snapshot.data.length, data } });
  }

  /**
   * Every follower is due the entries and commit index it lacks. The appends
   * go out once, when the driver next asks for a Ready (flushAppends), so that
   * the proposals and acknowledgements handled in between make one append per
   * follower instead of one each.
   */
  private broadcastAppend(): void {
    this.appendsDue = true;
  }

  /** Sends the appends broadcastAppend asked for (RawNode calls it before building a Ready). */
  flushAppends(): void {
    if (!this.appendsDue) return;
    this.appendsDue = false;
    if (this.role !== "leader") return;
    for (const [id, pr] of this.progress) {
      // An append with nothing new is only worth sending to carry the commit index.
      this.sendAppend(id, pr.sentCommit < this.log.committed);
    }
  }

  private broadcastHeartbeat(): void {
    const context = this.reads.lastContext();
    for (const [id, pr] of this.progress) {
      // Never tell a follower to commit beyond what it is known to hold.
      const m: Outgoing = { type: "heartbeat", to: id, commit: Math.min(pr.match, this.log.committed) };
      if (context !== undefined) m.context = context;
      this.send(m);
    }
  }

  /**
   * Advance commit to the highest index a quorum of voters holds durably, if
   * that entry is from our term (§5.4.2). True if commit moved.
   */
  private maybeCommit(): boolean {
    const index = quorumIndex(this.config.voters, (id) =>
      id === this.id ? this.log.persistedLastIndex() : (this.progress.get(id)?.match ?? 0),
    );
    if (index <= this.log.committed || this.log.term(index) !== this.term) return false;
    const firstCommitOfTerm = !this.committedInCurrentTerm();
    this.log.commitTo(index);
    this.broadcastAppend();
    if (firstCommitOfTerm) {
      const waiting = this.readsAwaitingCommit;
      this.readsAwaitingCommit = [];
      for (const r of waiting) this.handleReadRequest(r.context, r.from);
    }
    if (!isVoter(this.configAt(this.log.committed), this.id)) {
      // Our own removal is committed: the cluster no longer needs us (thesis §4.2.2).
      this.becomeFollower(this.term, NO_NODE);
    }
    return true;
  }

  private committedInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private quorumActive(): boolean {
    const active = new Set<NodeId>([this.id]);
    for (const [id, pr] of this.progress) if (pr.recentActive) active.add(id);
    return this.hasQuorum(active);
  }

  private hasQuorum(ids: ReadonlySet<NodeId>): boolean {
    let n = 0;
    for (const id of this.config.voters) if (ids.has(id)) n++;
    return n >= quorum(this.config.voters);
  }

  // ---- reads --------------------------------------------------------------

  private handleReadRequest(context: string, from: NodeId): void {
    if (!this.committedInCurrentTerm()) {
      // Until an entry of our term commits, our commit index may lag entries
      // an earlier leader committed (§8): wait for the no-op to commit.
      this.readsAwaitingCommit.push({ context, from });
      return;
    }
    const index = this.log.committed;
    if (this.hasQuorum(new Set([this.id]))) {
      this.answerRead({ context, from, index, acks: new Set() });
      return;
    }
    if (this.reads.add(context, from, index, this.id)) this.broadcastHeartbeat();
  }

  private answerRead(r: ReadRequest): void {
    if (r.from === this.id) this.readStates.push({ context: r.context, index: r.index });
    else this.send({ type: "readIndexResp", to: r.from, context: r.context, index: r.index });
  }

  // ---- membership ---------------------------------------------------------

  private promotable(): boolean {
    return isVoter(this.config, this.id) && this.log.pendingSnapshot() === undefined;
  }

  private configAt(index: number): ClusterConfig {
    let config = this.baseConfig;
    for (const c of this.configEntries) {
      if (c.index > index) break;
      config = c.config;
    }
    return config;
  }

  private latestConfigIndex(): number {
    const n = this.configEntries.length;
    return n > 0 ? this.configEntries[n - 1].index : 0;
  }

  private noteConfigEntries(entries: Entry[]): void {
    for (const e of entries) {
      if (e.type === "config") this.configEntries.push({ index: e.index, config: decodeConfigEntry(e.data).config });
    }
  }

  /**
   * `entries` were just written to the log, replacing anything from
   * entries[0].index on. The config in force follows the log, including a
   * rollback when an uncommitted config entry is overwritten.
   */
  private onLogChanged(entries: Entry[]): void {
    if (entries.length === 0) return;
    const from = entries[0].index;
    const before = this.configEntries.length;
    this.configEntries = this.configEntries.filter((c) => c.index < from);
    const dropped = this.configEntries.length !== before;
    const hasConfig = entries.some((e) => e.type === "config");
    if (!dropped && !hasConfig) return;
    this.noteConfigEntries(entries);
    this.config = this.configAt(this.log.lastIndex());
    if (this.role !== "leader") return;
    const current = members(this.config);
    for (const [id, pr] of this.progress) {
      if (!current.includes(id)) this.progress.delete(id);
      else pr.learner = this.config.learners.includes(id);
    }
    for (const id of current) {
      if (id !== this.id && !this.progress.has(id)) {
        this.addProgress(id);
        this.sendAppend(id);
      }
    }
    if (!isVoter(this.config, this.transferee)) this.transferee = NO_NODE;
    // Fewer voters may mean a smaller quorum already holds more entries.
    this.maybeCommit();
  }

  // ---- output -------------------------------------------------------------

  /**
   * Folds an acknowledgement into the one queued just before it for the same
   * leader and term: acknowledgements are cumulative (the leader keeps the
   * highest match), so appends stepped together get one answer.
   */
  private mergeAck(msg: Message): boolean {
    const last = this.msgsAfterPersist[this.msgsAfterPersist.length - 1];
    if (!last || last.type !== "appendResp" || last.reject || last.to !== msg.to || last.term !== msg.term) return false;
    last.index = Math.max(last.index ?? 0, msg.index ?? 0);
    return true;
  }

  /**
   * Queue a message. A leader's appends, heartbeats and snapshot chunks may go
   * out before its own log write is durable, because it does not count itself
   * until then; but only once its term is durable, so that a crash cannot make
   * it lead the same term twice with different entries. Everything else (votes,
   * acknowledgements) waits for persistence.
   */
  private send(m: Outgoing): void {
    const msg: Message = { ...m, from: this.id, term: m.term ?? this.term };
    if (msg.type === "appendResp" && !msg.reject && this.mergeAck(msg)) return;
    if (this.role === "leader" && this.persistedTerm === this.term && LEADER_EARLY_TYPES.has(msg.type)) {
      this.msgs.push(msg);
    } else {
      this.msgsAfterPersist.push(msg);
    }
  }
}
