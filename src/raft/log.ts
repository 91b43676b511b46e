/**
 * The log as one sequence: the durable part (read through Storage) followed by
 * the unstable part (entries and possibly a snapshot accepted in memory but not
 * yet handed to the driver's Ready/advance cycle).
 *
 * Invariants:
 * - applied <= committed <= lastIndex; committed never decreases (Figure 2).
 * - A committed entry is never truncated: appending a conflicting entry at or
 *   below `committed` is a protocol violation and throws.
 * - Unstable entries shadow stored ones at the same index; the driver's append
 *   replaces the stored suffix when it persists them.
 * - Log Matching (§5.3): entries are only appended after the entry preceding
 *   them matched by (index, term), so equal (index, term) implies equal prefixes.
 */
import type { ClusterConfig, Entry, Snapshot } from "./types";
import { limitSize, type Storage } from "./storage";

export interface AppendResult {
  /** Index of the last entry of the append, now matching the leader's log. */
  lastNewIndex: number;
  /** First index whose content changed (new or overwritten), 0 if none. */
  firstChangedIndex: number;
}

export class RaftLog {
  committed: number;
  applied: number;
  private unstableSnapshot: Snapshot | undefined;
  /** Index of unstableEntries[0] (or where the next unstable entry would go). */
  private unstableOffset: number;
  private unstableEntries: Entry[] = [];

  constructor(readonly storage: Storage) {
    this.unstableOffset = storage.lastIndex() + 1;
    this.committed = storage.firstIndex() - 1;
    this.applied = this.committed;
  }

  /**
   * Resume after a restart: commit as stored (`commit`), with the application
   * at `applied`, which must lie between the stored snapshot and the commit.
   */
  resume(commit: number, applied: number, snapshotIndex: number): void {
    if (commit > this.lastIndex()) {
      throw new Error(`stored commit ${commit} is beyond the stored log (last ${this.lastIndex()}); storage is corrupt`);
    }
    this.committed = Math.max(commit, this.committed);
    if (applied < snapshotIndex || applied > this.committed) {
      throw new Error(
        `applied ${applied} must lie between the snapshot index ${snapshotIndex} and commit ${this.committed}; restore the application from the stored snapshot first`,
      );
    }
    this.applied = applied;
  }

  firstIndex(): number {
    if (this.unstableSnapshot) return this.unstableSnapshot.meta.index + 1;
    return this.storage.firstIndex();
  }

  lastIndex(): number {
    if (this.unstableEntries.length > 0) return this.unstableOffset + this.unstableEntries.length - 1;
    if (this.unstableSnapshot) return this.unstableSnapshot.meta.index;
    return this.storage.lastIndex();
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) as number;
  }

  /** Term at index i, or undefined when i is compacted away or beyond the log. */
  term(i: number): number | undefined {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return undefined;
    if (i >= this.unstableOffset && this.unstableEntries.length > 0) {
      return this.unstableEntries[i - this.unstableOffset].term;
    }
    if (this.unstableSnapshot) {
      return i === this.unstableSnapshot.meta.index ? this.unstableSnapshot.meta.term : undefined;
    }
    return this.storage.term(i);
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term;
  }

  /** §5.4.1: is a log ending at (lastIndex, lastTerm) at least as up-to-date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Entries [lo, hi), limited to maxSize characters of data (at least one).
   * Callers check lo >= firstIndex() first; a compacted range throws.
   */
  slice(lo: number, hi: number, maxSize = Infinity): Entry[] {
    if (lo < this.firstIndex() || hi > this.lastIndex() + 1) {
      throw new RangeError(`slice [${lo}, ${hi}) outside log [${this.firstIndex()}, ${this.lastIndex() + 1})`);
    }
    if (lo >= hi) return [];
    let result: Entry[] = [];
    if (lo < this.unstableOffset) {
      result = this.storage.entries(lo, Math.min(hi, this.unstableOffset), maxSize);
      if (result.length < Math.min(hi, this.unstableOffset) - lo) return result;
    }
    if (hi > this.unstableOffset) {
      const from = Math.max(lo, this.unstableOffset) - this.unstableOffset;
      result = result.concat(this.unstableEntries.slice(from, hi - this.unstableOffset));
    }
    return limitSize(result, maxSize);
  }

  /**
   * The AppendEntries receiver rules (Figure 2, steps 2-5): if our log holds
   * (prevIndex, prevTerm), drop any conflicting suffix, append what is new,
   * and advance commit to min(leaderCommit, index of last new entry).
   * Returns undefined when the consistency check fails.
   */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, entries: Entry[]): AppendResult | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNewIndex = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new Error(`entry ${conflict} conflicts with committed entry (commit ${this.committed})`);
      }
      this.append(entries.slice(conflict - prevIndex - 1));
    }
    this.commitTo(Math.min(leaderCommit, lastNewIndex));
    return { lastNewIndex, firstChangedIndex: conflict };
  }

  /**
   * Index of the first entry that is new or disagrees with our log, 0 if all of
   * them are already present (a duplicate or reordered append must not
   * truncate entries that a later append added).
   */
  private findConflict(entries: Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= index whose term is <= term. Used for fast
   * backtracking: a leader probing at (index, term) cannot match anywhere our
   * log holds a larger term, so skip those positions in one round trip.
   */
  findConflictByTerm(index: number, term: number): number {
    for (let i = index; i > 0; i--) {
      const t = this.term(i);
      if (t === undefined || t <= term) return i;
    }
    return 0;
  }

  /** Append to the unstable tail, replacing anything at or after entries[0].index. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const after = entries[0].index;
    if (after <= this.committed) throw new Error(`append at ${after} would overwrite committed ${this.committed}`);
    if (after > this.lastIndex() + 1) throw new Error(`append at ${after} leaves a gap after ${this.lastIndex()}`);
    if (after === this.unstableOffset + this.unstableEntries.length) {
      this.unstableEntries.push(...entries);
    } else if (after <= this.unstableOffset) {
      this.unstableOffset = after;
      this.unstableEntries = [...entries];
    } else {
      this.unstableEntries = this.unstableEntries.slice(0, after - this.unstableOffset).concat(entries);
    }
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) {
      throw new Error(`commit ${index} is beyond last index ${this.lastIndex()}; the log was lost or corrupted`);
    }
    this.committed = index;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    if (index > this.committed || index < this.applied) {
      throw new Error(`applied ${index} outside [${this.applied}, ${this.committed}]`);
    }
    this.applied = index;
  }

  /** Entries the driver must persist next. */
  unstable(): Entry[] {
    return this.unstableEntries;
  }

  pendingSnapshot(): Snapshot | undefined {
    return this.unstableSnapshot;
  }

  /** The last index known durable: the leader counts only this far for itself. */
  persistedLastIndex(): number {
    return this.unstableOffset - 1;
  }

  /** Entries up to (index, term) are durable, unless they were replaced meanwhile. */
  stableTo(index: number, term: number): void {
    if (index < this.unstableOffset || this.term(index) !== term) return;
    this.unstableEntries = this.unstableEntries.slice(index + 1 - this.unstableOffset);
    this.unstableOffset = index + 1;
  }

  stableSnapshotTo(index: number): void {
    if (this.unstableSnapshot?.meta.index === index) this.unstableSnapshot = undefined;
  }

  /** The snapshot for compacting the log up to `index` (<= applied), with `config` in force there. */
  snapshotAt(index: number, config: ClusterConfig, data: string): Snapshot {
    if (index > this.applied) throw new Error(`cannot compact to ${index}: only ${this.applied} is applied`);
    const term = this.term(index);
    if (term === undefined || index < this.firstIndex()) {
      throw new Error(`cannot compact to ${index}: the log already starts at ${this.firstIndex()}`);
    }
    return { meta: { index, term, config }, data };
  }

  /** Replace the whole log with a snapshot from the leader (§7). */
  restore(snapshot: Snapshot): void {
    this.committed = snapshot.meta.index;
    this.unstableSnapshot = snapshot;
    this.unstableOffset = snapshot.meta.index + 1;
    this.unstableEntries = [];
  }

  /**
   * Committed entries not yet applied. Every entry here is either durable or
   * part of the same Ready's `entries`, which the driver persists before it
   * applies, so nothing is applied that a crash could take back.
   */
  nextCommittedEntries(maxSize = Infinity): Entry[] {
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (lo > this.committed) return [];
    return this.slice(lo, this.committed + 1, maxSize);
  }

  hasNextCommittedEntries(): boolean {
    return Math.max(this.applied + 1, this.firstIndex()) <= this.committed;
  }
}
