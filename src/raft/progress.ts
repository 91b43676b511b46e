/**
 * The leader's view of each member's log (Figure 2 nextIndex/matchIndex),
 * extended with flow control.
 *
 * States:
 * - probe: we do not know where the follower's log matches ours; send one
 *   append per heartbeat interval and wait for its answer.
 * - replicate: the follower is matching; stream appends optimistically
 *   (next jumps ahead as soon as we send), at most `maxInflight` unanswered
 *   appends at a time.
 * - snapshot: the follower needs entries we compacted; send it a snapshot
 *   chunk by chunk and send no appends until it reports the snapshot applied.
 *
 * Invariant: match < next. match only grows while we stay leader.
 */
import type { SnapshotTransfer } from "./snapshot-transfer";
import type { ProgressState, ProgressStatus, Snapshot } from "./types";

/** A bounded FIFO of the last index of each append sent and not yet acknowledged. */
export class Inflights {
  private readonly lastIndexes: number[] = [];
  constructor(readonly capacity: number) {}

  add(lastIndex: number): void {
    this.lastIndexes.push(lastIndex);
  }

  /** Acknowledge every append ending at or before index. */
  freeLE(index: number): void {
    let k = 0;
    while (k < this.lastIndexes.length && this.lastIndexes[k] <= index) k++;
    if (k > 0) this.lastIndexes.splice(0, k);
  }

  freeFirst(): void {
    this.lastIndexes.shift();
  }

  full(): boolean {
    return this.lastIndexes.length >= this.capacity;
  }

  reset(): void {
    this.lastIndexes.length = 0;
  }
}

export class Progress {
  state: ProgressState = "probe";
  /** In probe state: an append is outstanding, wait for a reply or heartbeat. */
  probeSent = false;
  /** Heard from since the last check-quorum round. */
  recentActive = true;
  transfer: SnapshotTransfer | undefined;
  /** The commit index carried by the latest append sent (-1: none yet). */
  sentCommit = -1;
  /**
   * Entries went out in an append since the latest heartbeat: their answer
   * may still be on its way, so a heartbeat's answer is no sign they were lost.
   */
  appendSinceBeat = false;
  readonly inflights: Inflights;

  constructor(
    public match: number,
    public next: number,
    maxInflight: number,
    public learner: boolean,
  ) {
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.transfer = undefined;
    this.inflights.reset();
  }

  becomeProbe(): void {
    this.resetState("probe");
    this.next = this.match + 1;
  }

  becomeReplicate(): void {
    this.resetState("replicate");
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshot: Snapshot): void {
    this.resetState("snapshot");
    this.transfer = { snapshot, offset: 0 };
  }

  /** Whether sending another append now would exceed flow control. */
  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }

  /** Record an append of entries ending at lastIndex (lastIndex = next - 1 for an empty one). */
  sentAppend(entryCount: number, lastIndex: number): void {
    if (this.state === "replicate") {
      if (entryCount > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
        this.appendSinceBeat = true;
      }
    } else {
      this.probeSent = true;
    }
  }

  /** An acknowledgement up to index; false if it was stale. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * A rejection of the append whose preceding index was `rejected`, with the
   * follower suggesting `hint` as the place to probe next. False if stale.
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === "replicate") {
      // Appends in flight are optimistic; only a rejection above match is news.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In probe state only the rejection of the probe we sent (next - 1) counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  status(): ProgressStatus {
    return {
      match: this.match,
      next: this.next,
      state: this.state,
      learner: this.learner,
      recentActive: this.recentActive,
    };
  }
}
