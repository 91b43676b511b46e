/**
 * The Raft log's rows, kept in generation tables so that compaction drops
 * whole tables instead of deleting a row per entry. Cloudflare bills every
 * row a DELETE removes as a row written, and a DROP TABLE as none (measured
 * in workerd: deleting 10 rows wrote 10, dropping a table of 3 wrote 0):
 * with a row deleted per entry, compaction alone cost one row written per
 * write on every replica.
 *
 * A new generation starts at each compaction; an older one is dropped once
 * every entry in it is covered by the snapshot, so a few generations exist
 * at most, and rows the snapshot covers may linger in the newest of the old
 * ones until the next compaction (nothing reads them: reads start after
 * the snapshot). Entries are always written to the newest generation, so
 * the generations hold increasing indexes. Generation 0 is `raft_entry`,
 * the table of earlier versions, so existing logs need no migration.
 */

export interface EntryRow extends Record<string, SqlStorageValue> {
  idx: number;
  term: number;
  type: string;
  data: string;
}

/** Where the list of generations is kept (a row of raft_meta). */
export interface GenerationList {
  read(): number[] | undefined;
  write(generations: number[]): void;
}

interface Generation {
  n: number;
  table: string;
  /** The highest index in the table, or 0 when it holds none. */
  last: number;
}

const ROWS_PER_INSERT = 25;
/**
 * Rows read per query when reading a range back. Each query is read to its
 * end before the next: a cursor left open would keep its table from being
 * dropped (SQLITE_LOCKED), and a reader may stop early (at a size limit).
 */
const ROWS_PER_SELECT = 32;

export class LogTables {
  private generations: Generation[];

  constructor(
    private readonly sql: SqlStorage,
    private readonly list: GenerationList,
  ) {
    this.generations = (list.read() ?? [0]).map((n) => this.create(n));
  }

  /** Every stored (index, term), in index order; returns the highest index, or null for an empty log. */
  load(each: (index: number, term: number) => void): number | null {
    let last: number | null = null;
    for (const g of this.generations) {
      for (const row of this.sql.exec<{ idx: number; term: number }>(`SELECT idx, term FROM ${g.table} ORDER BY idx`)) {
        each(row.idx, row.term);
        g.last = row.idx;
        last = row.idx;
      }
    }
    return last;
  }

  insert(entries: { index: number; term: number; type: string; data: string }[]): void {
    const g = this.generations[this.generations.length - 1];
    // Several rows per statement (a statement binds at most 100 values).
    for (let i = 0; i < entries.length; i += ROWS_PER_INSERT) {
      const rows = entries.slice(i, i + ROWS_PER_INSERT);
      const values: (string | number)[] = [];
      for (const e of rows) values.push(e.index, e.term, e.type, e.data);
      this.sql.exec(`INSERT INTO ${g.table} (idx, term, type, data) VALUES ${Array(rows.length).fill("(?, ?, ?, ?)").join(", ")}`, ...values);
    }
    if (entries.length) g.last = entries[entries.length - 1].index;
  }

  /** Entries with index in [lo, hi), in order. */
  *select(lo: number, hi: number): Generator<EntryRow> {
    for (const g of this.generations) {
      for (let from = lo; g.last >= from && from < hi; ) {
        const rows = this.sql
          .exec<EntryRow>(`SELECT idx, term, type, data FROM ${g.table} WHERE idx >= ? AND idx < ? ORDER BY idx LIMIT ${ROWS_PER_SELECT}`, from, hi)
          .toArray();
        yield* rows;
        if (rows.length < ROWS_PER_SELECT) break;
        from = rows[rows.length - 1].idx + 1;
      }
    }
  }

  /** Drops entries from `first` on: a new leader overwrote an uncommitted suffix (§5.3); rare, so rows may be deleted. */
  truncateFrom(first: number): void {
    for (const g of this.generations) {
      if (g.last < first) continue;
      this.sql.exec(`DELETE FROM ${g.table} WHERE idx >= ?`, first);
      g.last = this.sql.exec<{ m: number | null }>(`SELECT MAX(idx) AS m FROM ${g.table}`).one().m ?? 0;
    }
  }

  /** Compaction through `index`: drops the generations it covers entirely, and starts a new one. */
  compactTo(index: number): void {
    const kept = this.generations.filter((g) => {
      if (g.last > index) return true;
      this.sql.exec(`DROP TABLE ${g.table}`);
      return false;
    });
    this.generations = [...kept, this.create(this.nextNumber())];
    this.list.write(this.generations.map((g) => g.n));
  }

  /** A snapshot replaces the whole log. */
  dropAll(): void {
    for (const g of this.generations) this.sql.exec(`DROP TABLE ${g.table}`);
    this.generations = [this.create(this.nextNumber())];
    this.list.write(this.generations.map((g) => g.n));
  }

  private nextNumber(): number {
    return Math.max(...this.generations.map((g) => g.n), 0) + 1;
  }

  private create(n: number): Generation {
    const table = n === 0 ? "raft_entry" : `raft_entry_${n}`;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ${table} (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL)`);
    return { n, table, last: 0 };
  }
}
