/**
 * The Raft log, hard state and latest snapshot of one replica, in its Durable
 * Object's SQLite storage (the Storage/StorageWriter contract of src/raft).
 *
 * Every method is synchronous SQL, so a Ready is persisted without yielding
 * to other events, and the Durable Object's output gate holds the messages
 * sent after it (votes, append acknowledgements) until the rows are durable.
 * Snapshots are kept in chunks because a row holds at most 2 MB.
 */
import type { Entry, HardState, Snapshot, SnapshotMeta } from "../raft/index.ts";
import type { DriverStorage } from "../server/driver.ts";
import { NO_NODE, emptySnapshot } from "../raft/index.ts";
import { limitSize } from "../raft/storage.ts";

/** Characters per snapshot row: at most 3 UTF-8 bytes each, well under the 2 MB row limit. */
const CHUNK_CHARS = 512 * 1024;
/**
 * The newest entries (at least this many, fewer than twice as many) are also
 * kept in memory: the leader reads them back right after writing them, to
 * send them to followers.
 */
const CACHED_ENTRIES = 4096;
const ROWS_PER_INSERT = 25;

interface EntryRow extends Record<string, SqlStorageValue> {
  idx: number;
  term: number;
  type: string;
  data: string;
}

export class SqliteRaftStorage implements DriverStorage {
  private hs: HardState;
  private snapMeta: SnapshotMeta;
  private last: number;
  /** Terms of the stored entries, by index, so term() needs no query on the hot path. */
  private terms = new Map<number, number>();
  /** The newest stored entries, contiguous, ending at `last` (see CACHED_ENTRIES). */
  private recent: Entry[] = [];

  private readonly sql: SqlStorage;

  constructor(private readonly storage: DurableObjectStorage) {
    const sql = (this.sql = storage.sql);
    sql.exec(`CREATE TABLE IF NOT EXISTS raft_entry (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS raft_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS raft_snapshot_chunk (chunk INTEGER PRIMARY KEY, data TEXT NOT NULL)`);
    this.hs = this.readMeta<HardState>("hard_state") ?? { term: 0, vote: NO_NODE, commit: 0 };
    this.snapMeta = this.readMeta<SnapshotMeta>("snapshot_meta") ?? emptySnapshot().meta;
    for (const row of sql.exec<{ idx: number; term: number }>(`SELECT idx, term FROM raft_entry ORDER BY idx`)) {
      this.terms.set(row.idx, row.term);
    }
    const max = sql.exec<{ m: number | null }>(`SELECT MAX(idx) AS m FROM raft_entry`).one().m;
    this.last = max ?? this.snapMeta.index;
  }

  /** One SQLite transaction: its writes are durable together, or not at all. */
  transaction(write: () => void): void {
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
    for (const row of this.sql.exec<EntryRow>(
      `SELECT idx, term, type, data FROM raft_entry WHERE idx >= ? AND idx < ? ORDER BY idx`,
      lo,
      hi,
    )) {
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
      this.sql.exec(`DELETE FROM raft_entry WHERE idx >= ?`, first);
      for (let i = first; i <= this.last; i++) this.terms.delete(i);
      this.recent.length = Math.max(0, this.recent.length - (this.last - first + 1));
    }
    // Several rows per statement (a statement binds at most 100 values).
    for (let i = 0; i < entries.length; i += ROWS_PER_INSERT) {
      const rows = entries.slice(i, i + ROWS_PER_INSERT);
      const values: (string | number)[] = [];
      for (const e of rows) values.push(e.index, e.term, e.type, e.data);
      this.sql.exec(insertStatement(rows.length), ...values);
    }
    for (const e of entries) {
      this.terms.set(e.index, e.term);
      this.recent.push(e);
    }
    // Trimmed back to CACHED_ENTRIES only once it has doubled: trimming on
    // every append copied the whole cache each time, and was the largest
    // source of garbage on the write path.
    if (this.recent.length >= 2 * CACHED_ENTRIES) this.recent = this.recent.slice(-CACHED_ENTRIES);
    this.last = entries[entries.length - 1].index;
  }

  setHardState(hs: HardState): void {
    this.hs = { ...hs };
    this.writeMeta("hard_state", hs);
  }

  installSnapshot(snapshot: Snapshot): void {
    this.sql.exec(`DELETE FROM raft_entry`);
    this.terms.clear();
    this.recent = [];
    this.writeSnapshot(snapshot);
    this.last = snapshot.meta.index;
  }

  compact(snapshot: Snapshot): void {
    const index = snapshot.meta.index;
    if (index <= this.snapMeta.index) return;
    if (index > this.last) throw new RangeError(`compact to ${index} beyond last index ${this.last}`);
    this.sql.exec(`DELETE FROM raft_entry WHERE idx <= ?`, index);
    for (const i of [...this.terms.keys()]) if (i <= index) this.terms.delete(i);
    const keep = this.last - index;
    if (this.recent.length > keep) this.recent = keep > 0 ? this.recent.slice(-keep) : [];
    this.writeSnapshot(snapshot);
  }

  /** Rows in the log, for tests and stats. */
  entryCount(): number {
    return this.terms.size;
  }

  private writeSnapshot(snapshot: Snapshot): void {
    this.sql.exec(`DELETE FROM raft_snapshot_chunk`);
    const data = snapshot.data;
    for (let i = 0, chunk = 0; i < data.length; i += CHUNK_CHARS, chunk++) {
      this.sql.exec(`INSERT INTO raft_snapshot_chunk (chunk, data) VALUES (?, ?)`, chunk, data.slice(i, i + CHUNK_CHARS));
    }
    this.snapMeta = snapshot.meta;
    this.writeMeta("snapshot_meta", snapshot.meta);
  }

  private readMeta<T>(key: string): T | undefined {
    const rows = this.sql.exec<{ value: string }>(`SELECT value FROM raft_meta WHERE key = ?`, key).toArray();
    return rows.length ? (JSON.parse(rows[0].value) as T) : undefined;
  }

  private writeMeta(key: string, value: unknown): void {
    this.sql.exec(`INSERT OR REPLACE INTO raft_meta (key, value) VALUES (?, ?)`, key, JSON.stringify(value));
  }
}

const insertStatements: string[] = [];

/** The INSERT for `rows` entries, built once per row count. */
function insertStatement(rows: number): string {
  return (insertStatements[rows] ??= `INSERT INTO raft_entry (idx, term, type, data) VALUES ${Array(rows).fill("(?, ?, ?, ?)").join(", ")}`);
}
