/**
 * Durable storage as the Raft core sees it, plus an in-memory implementation.
 *
 * The core only ever reads through `Storage`; writes happen in the driver when
 * it handles a Ready (see rawnode.ts), through `StorageWriter`. A Durable
 * Object driver implements both over SQLite; `MemoryStorage` implements both
 * over arrays for tests and the simulator (where it plays the disk: whatever
 * it holds survives a simulated crash, everything else is lost).
 *
 * Layout: a snapshot covering indexes [1, snapshot.index] followed by the
 * entries (snapshot.index, lastIndex]. firstIndex = snapshot.index + 1.
 * The snapshot's own position (index, term) is always answerable by term(),
 * which is what the AppendEntries consistency check needs at the boundary.
 */
import type { ClusterConfig, Entry, HardState, Snapshot } from "./types";
import { NO_NODE } from "./types";

export interface Storage {
  /** The last persisted hard state (term 0, no vote, commit 0 when new). */
  hardState(): HardState;
  /**
   * Entries with index in [lo, hi), where firstIndex <= lo <= hi <= lastIndex + 1.
   * With maxSize, stop once the entries' data adds up to more than maxSize
   * characters, but always return at least one entry when lo < hi.
   */
  entries(lo: number, hi: number, maxSize?: number): Entry[];
  /**
   * Term of the entry at index i, for firstIndex - 1 <= i <= lastIndex;
   * undefined outside that range (compacted or not yet written).
   */
  term(i: number): number | undefined;
  firstIndex(): number;
  lastIndex(): number;
  /** The latest snapshot (index 0 and an empty config when none was taken). */
  snapshot(): Snapshot;
}

export interface StorageWriter {
  /**
   * Append entries; entries already stored at or after entries[0].index are
   * replaced (a new leader may overwrite an uncommitted suffix, §5.3).
   */
  append(entries: Entry[]): void;
  setHardState(hs: HardState): void;
  /** Replace everything with a snapshot received from the leader. */
  installSnapshot(snapshot: Snapshot): void;
  /**
   * Keep `snapshot` as the latest and drop entries up to its index; ignore it
   * if the stored snapshot is already as new (a snapshot from the leader may
   * have been installed in the same Ready).
   */
  compact(snapshot: Snapshot): void;
}

export function emptySnapshot(config: ClusterConfig = { voters: [], learners: [] }): Snapshot {
  return { meta: { index: 0, term: 0, config }, data: "" };
}

export class MemoryStorage implements Storage, StorageWriter {
  private hs: HardState = { term: 0, vote: NO_NODE, commit: 0 };
  private snap: Snapshot = emptySnapshot();
  /** log[k] has index snap.meta.index + 1 + k. */
  private log: Entry[] = [];

  hardState(): HardState {
    return { ...this.hs };
  }

  firstIndex(): number {
    return this.snap.meta.index + 1;
  }

  lastIndex(): number {
    return this.snap.meta.index + this.log.length;
  }

  term(i: number): number | undefined {
    const offset = this.snap.meta.index;
    if (i === offset) return this.snap.meta.term;
    if (i < offset || i > this.lastIndex()) return undefined;
    return this.log[i - offset - 1].term;
  }

  entries(lo: number, hi: number, maxSize = Infinity): Entry[] {
    if (lo < this.firstIndex() || hi > this.lastIndex() + 1 || lo > hi) {
      throw new RangeError(
        `entries(${lo}, ${hi}) outside stored range [${this.firstIndex()}, ${this.lastIndex() + 1})`,
      );
    }
    const offset = this.snap.meta.index + 1;
    return limitSize(this.log.slice(lo - offset, hi - offset), maxSize);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0].index;
    if (first > this.lastIndex() + 1) {
      throw new RangeError(`append at ${first} leaves a gap after last index ${this.lastIndex()}`);
    }
    if (first <= this.snap.meta.index) {
      throw new RangeError(`append at ${first} overwrites compacted index ${this.snap.meta.index}`);
    }
    this.log.length = first - this.firstIndex();
    for (const e of entries) this.log.push(e);
  }

  setHardState(hs: HardState): void {
    this.hs = { ...hs };
  }

  installSnapshot(snapshot: Snapshot): void {
    this.snap = snapshot;
    this.log = [];
  }

  compact(snapshot: Snapshot): void {
    const index = snapshot.meta.index;
    if (index <= this.snap.meta.index) return;
    if (index > this.lastIndex()) {
      throw new RangeError(`compact to ${index} beyond last index ${this.lastIndex()}`);
    }
    this.log = this.log.slice(index - this.snap.meta.index);
    this.snap = snapshot;
  }
}

/**
 * Write the initial state of a founding member: every founding member gets the
 * same first entry (index 1, term 1) recording the initial voters, already
 * committed. Members added later start from empty storage and learn the
 * config from the leader. Call once, on an empty storage.
 */
export function bootstrap(storage: Storage & StorageWriter, voters: string[]): void {
  if (storage.lastIndex() !== 0 || storage.hardState().term !== 0) {
    throw new Error("bootstrap needs empty storage; this member already has state");
  }
  if (voters.length === 0) throw new Error("bootstrap needs at least one voter");
  const config: ClusterConfig = { voters: [...voters].sort(), learners: [] };
  const data = JSON.stringify({ config });
  storage.append([{ index: 1, term: 1, type: "config", data }]);
  storage.setHardState({ term: 1, vote: NO_NODE, commit: 1 });
}

/** The longest prefix of `entries` whose data fits in maxSize characters, never empty unless entries is. */
export function limitSize(entries: Entry[], maxSize: number): Entry[] {
  if (maxSize === Infinity) return entries;
  let size = 0;
  for (let k = 0; k < entries.length; k++) {
    size += entries[k].data.length;
    if (size > maxSize && k > 0) return entries.slice(0, k);
  }
  return entries;
}
