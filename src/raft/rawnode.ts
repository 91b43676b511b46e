/**
 * RawNode: the driver-facing wrapper around Raft that batches its output into
 * Ready values and takes acknowledgements back through advance().
 *
 * The driver loop, one Ready at a time and without yielding to other events
 * between ready() and advance():
 *
 *   1. send `messages` (allowed before persisting; may also go after)
 *   2. persist, atomically: `snapshot` (installSnapshot), `entries` (append),
 *      `hardState`, then `compaction` (compact)
 *   3. send `messagesAfterPersist`
 *   4. if `snapshot`, restore the application from it; apply
 *      `committedEntries` in order (skip empty "normal" entries: they are the
 *      leader's no-ops; "config" entries are already in force inside raft);
 *      serve the `readStates` whose index is now applied
 *   5. advance(ready)
 *
 * Persistence contract: what a Ready says to persist must be durable before
 * its messagesAfterPersist leave, because they promise it (votes cast, entries
 * acknowledged). A crash anywhere in the loop is safe: restart a RawNode over
 * the same storage and redo.
 */
import { Raft } from "./raft";
import type { RaftOptions } from "./options";
import type { Storage } from "./storage";
import type { ConfigChange, Entry, HardState, Message, NodeId, ProposeResult, ReadState, Role, Snapshot, Status } from "./types";
import { NO_NODE } from "./types";

export interface SoftState {
  role: Role;
  leader: NodeId;
  /** Not ticking (see Raft.quiesce): the driver stops its timer, and starts it again when this turns false. */
  quiescent: boolean;
}

export interface Ready {
  /** Set when role or known leader changed (volatile, not to be persisted). */
  softState?: SoftState;
  /** Set when term, vote or commit changed: persist it. */
  hardState?: HardState;
  /** A snapshot received from the leader: install it in storage and in the application. */
  snapshot?: Snapshot;
  /** Entries to append to storage (replacing any stored entries from entries[0].index on). */
  entries: Entry[];
  /** A snapshot the application asked for via compact(): store it and drop the entries it covers. */
  compaction?: Snapshot;
  /** May be sent before persisting. */
  messages: Message[];
  /** Must be sent only after persisting this Ready. */
  messagesAfterPersist: Message[];
  /** Apply in order, after persisting. */
  committedEntries: Entry[];
  /** Confirmed read points; serve each once the application has applied its index. */
  readStates: ReadState[];
}

export class RawNode {
  private readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private pendingCompaction: Snapshot | undefined;
  private outstanding: Ready | undefined;

  constructor(options: RaftOptions, storage: Storage) {
    this.raft = new Raft(options, storage);
    // As a driver starts out believing: so a member resumed quiet (see
    // RaftOptions.quiescentLeader) reports its role and leader in its first Ready.
    this.prevSoftState = { role: "follower", leader: NO_NODE, quiescent: false };
    this.prevHardState = storage.hardState();
  }

  get id(): NodeId {
    return this.raft.id;
  }

  /** Advance logical time by one tick (heartbeats, election timeouts). */
  tick(): void {
    this.raft.tick();
  }

  /** Deliver a message from another member; messages for someone else are dropped. */
  step(m: Message): void {
    if (m.to !== this.raft.id || m.from === this.raft.id) return;
    this.raft.step(m);
  }

  /** See Raft.canQuiesce. */
  canQuiesce(): boolean {
    return this.raft.canQuiesce();
  }

  /** The leader goes quiet, and tells its followers to (see Raft.quiesce); false if it may not. */
  quiesce(): boolean {
    return this.raft.quiesce();
  }

  /** Ends quiescence from outside Raft (e.g. a deadline the application keeps came). */
  wake(): void {
    this.raft.wake();
  }

  /** The voters a leader's quiet spell leaves behind (see Leadership.canQuiesce); none on a member that does not lead. */
  laggards(): NodeId[] {
    return this.raft.laggards();
  }

  get quiescent(): boolean {
    return this.raft.quiescent;
  }

  /** Start an election without waiting for the timeout. */
  campaign(): void {
    this.raft.campaign();
  }

  /** Propose one entry. On success, watch for an entry with this index and term being applied. */
  propose(data: string): ProposeResult {
    return this.raft.propose([data]);
  }

  /**
   * Propose several entries at once: they go out to followers in the same
   * append. On success `index` is the first entry's; the rest follow in order.
   */
  proposeBatch(datas: string[]): ProposeResult {
    return this.raft.propose(datas);
  }

  proposeConfigChange(change: ConfigChange): ProposeResult {
    return this.raft.proposeConfigChange(change);
  }

  /** Ask for a linearizable read point; see Raft.readIndex. */
  readIndex(context: string): boolean {
    return this.raft.readIndex(context);
  }

  transferLeadership(to: NodeId): boolean {
    return this.raft.transferLeadership(to);
  }

  /**
   * Compact the log up to `index` (at most the applied index), with `data`
   * the application's state as of exactly that index. Takes effect through
   * the next Ready's `compaction`.
   */
  compact(index: number, data: string): void {
    // A snapshot from the leader, not yet handed out, may have got there first.
    if (index < this.raft.log.firstIndex()) return;
    const snapshot = this.raft.snapshotAt(index, data);
    if (!this.pendingCompaction || this.pendingCompaction.meta.index < index) this.pendingCompaction = snapshot;
  }

  hasReady(): boolean {
    const r = this.raft;
    r.flushAppends();
    return (
      !sameSoftState(this.softState(), this.prevSoftState) ||
      !sameHardState(this.hardState(), this.prevHardState) ||
      r.log.unstable().length > 0 ||
      r.log.pendingSnapshot() !== undefined ||
      r.outbox.msgs.length > 0 ||
      r.outbox.msgsAfterPersist.length > 0 ||
      r.outbox.readStates.length > 0 ||
      r.log.hasNextCommittedEntries() ||
      this.pendingCompaction !== undefined
    );
  }

  /** The work to do now. Call advance(ready) before asking for the next one. */
  ready(): Ready {
    if (this.outstanding) throw new Error("ready() called again before advance() of the previous Ready");
    const r = this.raft;
    r.flushAppends();
    const out = r.outbox;
    const rd: Ready = {
      entries: [...r.log.unstable()],
      messages: out.msgs,
      messagesAfterPersist: out.msgsAfterPersist,
      committedEntries: r.log.nextCommittedEntries(),
      readStates: out.readStates,
    };
    out.msgs = [];
    out.msgsAfterPersist = [];
    out.readStates = [];
    const soft = this.softState();
    if (!sameSoftState(soft, this.prevSoftState)) rd.softState = soft;
    const hard = this.hardState();
    if (!sameHardState(hard, this.prevHardState)) rd.hardState = hard;
    const snapshot = r.log.pendingSnapshot();
    if (snapshot) rd.snapshot = snapshot;
    if (this.pendingCompaction) rd.compaction = this.pendingCompaction;
    this.pendingCompaction = undefined;
    this.outstanding = rd;
    return rd;
  }

  /** Everything in `rd` is persisted, sent and applied. */
  advance(rd: Ready): void {
    if (rd !== this.outstanding) throw new Error("advance() must be given the Ready last returned by ready()");
    this.outstanding = undefined;
    const r = this.raft;
    if (rd.softState) this.prevSoftState = rd.softState;
    if (rd.hardState) {
      this.prevHardState = rd.hardState;
      r.persistedTerm = rd.hardState.term;
    }
    if (rd.snapshot) {
      r.log.stableSnapshotTo(rd.snapshot.meta.index);
      if (rd.snapshot.meta.index > r.log.applied) r.log.appliedTo(rd.snapshot.meta.index);
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1];
      r.persisted(last.index, last.term);
    }
    if (rd.committedEntries.length > 0) r.log.appliedTo(rd.committedEntries[rd.committedEntries.length - 1].index);
    if (rd.compaction) r.compacted(rd.compaction.meta.index);
  }

  status(): Status {
    return this.raft.status();
  }

  private softState(): SoftState {
    return { role: this.raft.role, leader: this.raft.leader, quiescent: this.raft.quiescent };
  }

  private hardState(): HardState {
    return { term: this.raft.term, vote: this.raft.vote, commit: this.raft.log.committed };
  }
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader && a.quiescent === b.quiescent;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
