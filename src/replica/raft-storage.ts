/**
 * The Raft log, hard state and latest snapshot of one replica, in its Durable
 * Object's SQLite storage (the Storage/StorageWriter contract of src/raft).
 *
 * Every method is synchronous SQL, so a Ready is persisted without yielding
 * to other events, and the Durable Object's output gate holds the messages
 * sent after it (votes, append acknowledgements) until the rows are durable.
 * Snapshots are kept in chunks because a row holds at most 2 MB; the log's
 * rows are in generation tables that compaction drops (see log-tables.ts).
 */
import type { Entry, HardState, Snapshot, SnapshotMeta } from "../raft/index.ts";
import type { DriverStorage, QuiescenceMark } from "../server/driver.ts";
import { NO_NODE, emptySnapshot } from "../raft/index.ts";
import { limitSize } from "../raft/storage.ts";
import { MAX_ENTRY_BYTES } from "../server/limits.ts";
import { utf8Pieces } from "../server/utf8.ts";
import { LogTables, type EntryRow } from "./log-tables.ts";

/**
 * The newest entries (at least this many, fewer than twice as many) are also
 * kept in memory: the leader reads them back right after writing them, to
 * send them to followers.
 */
const CACHED_ENTRIES = 4096;
/**
 * ...and no more than this many characters of entry data once trimmed (twice
 * as many before): entries reach almost 2 MB, and 4096 of those would not
 * fit an isolate's 128 MB. Older entries are read from SQLite.
 */
const CACHED_CHARS = 4 * 1024 * 1024;

export class SqliteRaftStorage implements DriverStorage {
  private hs: HardState;
  private quiet: QuiescenceMark | null;
  private snapMeta: SnapshotMeta;
  private last: number;
  /** Terms of the stored entries, by index, so term() needs no query on the hot path. */
  private terms = new Map<number, number>();
  /** The newest stored entries, contiguous, ending at `last` (see CACHED_ENTRIES). */
  private recent: Entry[] = [];
  /** Characters of data in `recent`; an overestimate after a truncation, made exact at the next trim. */
  private recentChars = 0;

  private readonly sql: SqlStorage;
  private readonly log: LogTables;

  constructor(private readonly storage: DurableObjectStorage) {
    const sql = (this.sql = storage.sql);
    sql.exec(`CREATE TABLE IF NOT EXISTS raft_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS raft_snapshot_chunk (chunk INTEGER PRIMARY KEY, data TEXT NOT NULL)`);
    this.hs = this.readMeta<HardState>("hard_state") ?? { term: 0, vote: NO_NODE, commit: 0 };
    this.snapMeta = this.readMeta<SnapshotMeta>("snapshot_meta") ?? emptySnapshot().meta;
    this.quiet = this.readMeta<QuiescenceMark>("quiescence") ?? null;
    this.log = new LogTables(sql, { read: () => this.readMeta<number[]>("log_tables"), write: (list) => this.writeMeta("log_tables", list) });
    // Rows the snapshot covers may linger until their table is dropped.
    const last = this.log.load((idx, term) => {
      if (idx > this.snapMeta.index) this.terms.set(idx, term);
    });
    this.last = Math.max(last ?? 0, this.snapMeta.index);
  }

  /** Set by fault injection: the next transaction throws before it writes anything. */
  failNext = false;

  /** One SQLite transaction: its writes are durable together, or not at all. */
  transaction(write: () => void): void {
    if (this.failNext) {
      this.failNext = false;
      throw new Error("storage write refused (fault injection)");
    }
    this.storage.transactionSync(write);
  }

  // ---- Storage ----

  hardState(): HardState {
    return { ...this.hs };
  }

  firstIndex(): number {
    return this.snapMeta.index + 1;
  }

  lastIndex(): number {
    return this.last;
  }

  term(i: number): number | undefined {
    if (i === this.snapMeta.index) return this.snapMeta.term;
    if (i < this.snapMeta.index || i > this.last) return undefined;
    return this.terms.get(i);
  }

  entries(lo: number, hi: number, maxSize = Infinity): Entry[] {
    if (lo < this.firstIndex() || hi > this.last + 1 || lo > hi) {
      throw new RangeError(`entries(${lo}, ${hi}) outside stored range [${this.firstIndex()}, ${this.last + 1})`);
    }
    const cachedFrom = this.last - this.recent.length + 1;
    if (lo >= cachedFrom) return limitSize(this.recent.slice(lo - cachedFrom, hi - cachedFrom), maxSize);
    const out: Entry[] = [];
    let size = 0;
    for (const row of this.log.select(lo, hi) as Iterable<EntryRow>) {
      size += row.data.length;
      if (size > maxSize && out.length > 0) break;
      out.push({ index: row.idx, term: row.term, type: row.type as Entry["type"], data: row.data });
    }
    return out;
  }

  snapshot(): Snapshot {
    const chunks = this.sql.exec<{ data: string }>(`SELECT data FROM raft_snapshot_chunk ORDER BY chunk`).toArray();
    return { meta: this.snapMeta, data: chunks.map((c) => c.data).join("") };
  }

  // ---- StorageWriter ----

  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0].index;
    if (first > this.last + 1) throw new RangeError(`append at ${first} leaves a gap after last index ${this.last}`);
    if (first <= this.snapMeta.index) throw new RangeError(`append at ${first} overwrites compacted index ${this.snapMeta.index}`);
    if (first <= this.last) {
      // A new leader overwrote an uncommitted suffix (§5.3): drop it first.
      this.log.truncateFrom(first);
      for (let i = first; i <= this.last; i++) this.terms.delete(i);
      this.recent.length = Math.max(0, this.recent.length - (this.last - first + 1));
    }
    this.log.insert(entries);
    for (const e of entries) {
      this.terms.set(e.index, e.term);
      this.recent.push(e);
      this.recentChars += e.data.length;
    }
    // Trimmed back only once it has doubled: trimming on every append copied
    // the whole cache each time, and was the largest source of garbage on
    // the write path.
    if (this.recent.length >= 2 * CACHED_ENTRIES || this.recentChars >= 2 * CACHED_CHARS) this.trimCache();
    this.last = entries[entries.length - 1].index;
  }

  setHardState(hs: HardState): void {
    this.hs = { ...hs };
    this.writeMeta("hard_state", hs);
  }

  quiescence(): QuiescenceMark | null {
    return this.quiet;
  }

  setQuiescence(mark: QuiescenceMark | null): void {
    this.quiet = mark;
    if (mark) this.writeMeta("quiescence", mark);
    else this.sql.exec(`DELETE FROM raft_meta WHERE key = 'quiescence'`);
  }

  installSnapshot(snapshot: Snapshot): void {
    this.log.dropAll();
    this.terms.clear();
    this.recent = [];
    this.writeSnapshot(snapshot);
    this.last = snapshot.meta.index;
  }

  compact(snapshot: Snapshot): void {
    const index = snapshot.meta.index;
    if (index <= this.snapMeta.index) return;
    if (index > this.last) throw new RangeError(`compact to ${index} beyond last index ${this.last}`);
    this.log.compactTo(index);
    for (const i of [...this.terms.keys()]) if (i <= index) this.terms.delete(i);
    const keep = this.last - index;
    if (this.recent.length > keep) this.recent = keep > 0 ? this.recent.slice(-keep) : [];
    this.writeSnapshot(snapshot);
  }

  /** Rows in the log, for tests and stats. */
  entryCount(): number {
    return this.terms.size;
  }

  /** Keeps the newest entries, at most CACHED_ENTRIES of them and CACHED_CHARS of data (always the newest one). */
  private trimCache(): void {
    let keep = 0;
    let chars = 0;
    for (let i = this.recent.length - 1; i >= 0 && keep < CACHED_ENTRIES; i--, keep++) {
      const size = this.recent[i].data.length;
      if (keep > 0 && chars + size > CACHED_CHARS) break;
      chars += size;
    }
    this.recent = this.recent.slice(this.recent.length - keep);
    this.recentChars = chars;
  }

  /**
   * The snapshot in rows of at most MAX_ENTRY_BYTES each, cut by UTF-8 size
   * (what the row limit counts) and never inside a surrogate pair, whose
   * halves SQLite would each store as U+FFFD.
   */
  private writeSnapshot(snapshot: Snapshot): void {
    this.sql.exec(`DELETE FROM raft_snapshot_chunk`);
    utf8Pieces(snapshot.data, MAX_ENTRY_BYTES).forEach((piece, chunk) => {
      this.sql.exec(`INSERT INTO raft_snapshot_chunk (chunk, data) VALUES (?, ?)`, chunk, piece);
    });
    this.snapMeta = snapshot.meta;
    this.writeMeta("snapshot_meta", snapshot.meta);
  }

  private readMeta<T>(key: string): T | undefined {
    const rows = this.sql.exec<{ value: string }>(`SELECT value FROM raft_meta WHERE key = ?`, key).toArray();
    return rows.length ? (JSON.parse(rows[0].value) as T) : undefined;
  }

  /**
   * An upsert, not INSERT OR REPLACE: a replace deletes the old row and
   * inserts a new one, two rows written (and billed) where this writes one.
   */
  private writeMeta(key: string, value: unknown): void {
    this.sql.exec(`INSERT INTO raft_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, JSON.stringify(value));
  }
}

