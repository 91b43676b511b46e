/**
 * Log replication (Figure 2 AppendEntries, §5.3).
 *
 * Leader side (Replicator): what each follower is sent, given what its
 * Progress says it holds, and how its answers move that Progress. Flow
 * control is Progress's (progress.ts); a follower whose next entries were
 * compacted gets the snapshot instead (snapshot-transfer.ts). Commitment and
 * leader transfer are the Leadership's (leader.ts), which hands in its send().
 *
 * Follower side (receiveAppend): the consistency check and the answer.
 */
import type { RaftLog } from "./log";
import type { ResolvedOptions } from "./options";
import type { Progress } from "./progress";
import { nextChunk, resumeTransfer } from "./snapshot-transfer";
import type { ProgressTracker } from "./tracker";
import type { Entry, Message, NodeId, Outgoing } from "./types";

export class Replicator {
  /** Set by broadcastAppend; the appends go out in flushAppends. */
  private appendsDue = false;

  constructor(
    private readonly log: RaftLog,
    private readonly tracker: ProgressTracker,
    private readonly options: Pick<ResolvedOptions, "maxAppendSize" | "snapshotChunkSize" | "commitNotices">,
    private readonly send: (m: Outgoing) => void,
  ) {}

  /**
   * Send `to` the entries it lacks (or a snapshot, if we compacted them).
   * With sendIfEmpty false, send only if there are entries. True if sent.
   */
  sendAppend(to: NodeId, sendIfEmpty = true): boolean {
    const pr = this.tracker.get(to);
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

  /**
   * Every follower is due the entries and commit index it lacks. The appends
   * go out once, when the driver next asks for a Ready (flushAppends), so that
   * the proposals and acknowledgements handled in between make one append per
   * follower instead of one each.
   */
  broadcastAppend(): void {
    this.appendsDue = true;
  }

  /**
   * Sends the appends broadcastAppend asked for: to each follower, the
   * entries it lacks, and (with commitNotices) an append with no entries to
   * one that lacks only the new commit index; without, that index rides on
   * the next append or heartbeat.
   */
  flushAppends(): void {
    if (!this.appendsDue) return;
    this.appendsDue = false;
    for (const [id, pr] of this.tracker.progress()) {
      this.sendAppend(id, this.options.commitNotices && pr.sentCommit < this.log.committed);
    }
  }

  /** Send `to` appends until nothing is left or its window is full: this pipelines a healthy follower. */
  fillWindow(to: NodeId): void {
    while (this.sendAppend(to, false)) {
      /* keep sending */
    }
  }

  /** Heartbeats to every follower, tagged with the read-index round `context` if any. */
  broadcastHeartbeat(context: string | undefined): void {
    for (const [id, pr] of this.tracker.progress()) {
      // Never tell a follower to commit beyond what it is known to hold.
      const m: Outgoing = { type: "heartbeat", to: id, commit: Math.min(pr.match, this.log.committed) };
      pr.appendSinceBeat = false;
      if (context !== undefined) m.context = context;
      this.send(m);
    }
  }

  /** The follower refused an append: its log does not match at m.index. */
  appendRejected(m: Message, pr: Progress): void {
    let hint = m.rejectHint ?? 0;
    // Skip our own entries from terms the follower cannot have either.
    if ((m.logTerm ?? 0) > 0) hint = this.log.findConflictByTerm(hint, m.logTerm ?? 0);
    if (pr.maybeDecrTo(m.index ?? 0, hint)) {
      if (pr.state === "replicate") pr.becomeProbe();
      this.sendAppend(m.from);
    }
  }

  /** The follower holds our log through `index`. False if that told us nothing new. */
  appendAccepted(index: number, pr: Progress): boolean {
    // A probe answered at the current match still proves where we stand.
    const matched = pr.maybeUpdate(index) || (pr.state === "probe" && pr.match === index);
    if (!matched) return false;
    if (pr.state === "probe") pr.becomeReplicate();
    else if (pr.state === "snapshot" && pr.transfer && pr.match >= pr.transfer.snapshot.meta.index) pr.becomeReplicate();
    else if (pr.state === "replicate") pr.inflights.freeLE(index);
    return true;
  }

  /** The follower answered a heartbeat, so it is reachable: send what was held back. */
  heartbeatAnswered(from: NodeId, pr: Progress): void {
    pr.probeSent = false;
    // A lost append would keep a full window stuck; let one more through.
    if (pr.state === "replicate" && pr.inflights.full()) pr.inflights.freeFirst();
    if (pr.state === "snapshot") this.sendSnapshotChunk(from, pr);
    else if (pr.match < this.log.lastIndex() && !this.onItsWay(pr)) this.sendAppend(from);
  }

  /**
   * Every entry the follower lacks left in an append sent after the latest
   * heartbeat. Its answer will come, or, if it was lost, the next heartbeat's
   * answer sends the append again. Sending an empty append meanwhile (as
   * etcd does) would cost an RPC and, with one call in flight per peer, hold
   * the next write's append back a whole round trip.
   */
  private onItsWay(pr: Progress): boolean {
    return pr.state === "replicate" && pr.appendSinceBeat && pr.next > this.log.lastIndex();
  }

  /** The follower says how much of the snapshot we are sending it has arrived. */
  snapshotAnswered(m: Message, pr: Progress): void {
    if (pr.state === "snapshot" && pr.transfer && resumeTransfer(pr.transfer, m.index, m.offset)) {
      this.sendSnapshotChunk(m.from, pr);
    }
  }

  private sendSnapshotChunk(to: NodeId, pr: Progress): void {
    if (!pr.transfer) return;
    this.send({ type: "snapshot", to, chunk: nextChunk(pr.transfer, this.options.snapshotChunkSize) });
  }
}

/**
 * A follower's handling of an append: apply it to `log` if it passes the
 * consistency check, and answer. `changed` are the entries that changed the
 * log (new or overwritten), for the caller to follow config entries in.
 */
export function receiveAppend(log: RaftLog, m: Message): { reply: Outgoing; changed: Entry[] } {
  const prevIndex = m.index ?? 0;
  if (prevIndex < log.committed) {
    // Everything up to our commit index matches any leader (§5.4); say so.
    return { reply: { type: "appendResp", to: m.from, index: log.committed }, changed: [] };
  }
  const entries = m.entries ?? [];
  const result = log.maybeAppend(prevIndex, m.logTerm ?? 0, m.commit ?? 0, entries);
  if (result) {
    const changed = result.firstChangedIndex !== 0 ? entries.filter((e) => e.index >= result.firstChangedIndex) : [];
    return { reply: { type: "appendResp", to: m.from, index: result.lastNewIndex }, changed };
  }
  // Consistency check failed. Suggest where to probe next: the last index at
  // or below the probe whose term is not newer than the leader's term there.
  const hint = log.findConflictByTerm(Math.min(prevIndex, log.lastIndex()), m.logTerm ?? 0);
  const reply: Outgoing = {
    type: "appendResp",
    to: m.from,
    index: prevIndex,
    reject: true,
    rejectHint: hint,
    logTerm: log.term(hint) ?? 0,
  };
  return { reply, changed: [] };
}
