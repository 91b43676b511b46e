/**
 * A replica's durable state in its Durable Object's SQLite: a snapshot of the
 * store (in chunks, since a row holds at most 2 MB) plus the log of commands
 * applied since. Loading replays the log on top of the snapshot, so an
 * acknowledged write survives restarts and resets. Every call here is
 * synchronous SQL: the Durable Object's output gate holds the reply to a
 * write until these rows are durable.
 */
import type { Command } from "../store/command.ts";
import { loadStore, saveStore } from "../store/snapshot.ts";
import { Store } from "../store/store.ts";

/** Commands kept before the log is folded into a new snapshot. */
export const SNAPSHOT_EVERY = 10_000;
/** Characters per snapshot row: at most 3 UTF-8 bytes each, well under the 2 MB row limit. */
const CHUNK_CHARS = 512 * 1024;

export class ReplicaStorage {
  /** Sequence number of the last command in the log (or folded into the snapshot). */
  lastSeq = 0;
  private snapshotSeq = 0;

  constructor(private readonly sql: SqlStorage, private readonly transaction: (fn: () => void) => void) {
    sql.exec(`CREATE TABLE IF NOT EXISTS command_log (seq INTEGER PRIMARY KEY, command TEXT NOT NULL)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS store_snapshot (chunk INTEGER PRIMARY KEY, data TEXT NOT NULL)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS replica_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
  }

  /** Rebuilds the store: the snapshot, then every logged command after it. */
  load(): Store {
    const meta = this.sql.exec<{ value: string }>(`SELECT value FROM replica_meta WHERE key = 'snapshot_seq'`).toArray();
    this.snapshotSeq = meta.length ? Number(meta[0].value) : 0;
    const chunks = this.sql.exec<{ data: string }>(`SELECT data FROM store_snapshot ORDER BY chunk`).toArray();
    const store = chunks.length ? loadStore(chunks.map((c) => c.data).join("")) : new Store();
    this.lastSeq = this.snapshotSeq;
    for (const row of this.sql.exec<{ seq: number; command: string }>(
      `SELECT seq, command FROM command_log WHERE seq > ? ORDER BY seq`,
      this.snapshotSeq,
    )) {
      store.apply(JSON.parse(row.command) as Command);
      this.lastSeq = row.seq;
    }
    return store;
  }

  append(command: Command): void {
    this.lastSeq++;
    this.sql.exec(`INSERT INTO command_log (seq, command) VALUES (?, ?)`, this.lastSeq, JSON.stringify(command));
  }

  /** Folds the log into a fresh snapshot once it has grown long enough. */
  maybeSnapshot(store: Store): void {
    if (this.lastSeq - this.snapshotSeq < SNAPSHOT_EVERY) return;
    this.snapshot(store);
  }

  snapshot(store: Store): void {
    const data = saveStore(store);
    const seq = this.lastSeq;
    this.transaction(() => {
      this.sql.exec(`DELETE FROM store_snapshot`);
      for (let i = 0, chunk = 0; i < data.length; i += CHUNK_CHARS, chunk++) {
        this.sql.exec(`INSERT INTO store_snapshot (chunk, data) VALUES (?, ?)`, chunk, data.slice(i, i + CHUNK_CHARS));
      }
      this.sql.exec(`INSERT OR REPLACE INTO replica_meta (key, value) VALUES ('snapshot_seq', ?)`, String(seq));
      this.sql.exec(`DELETE FROM command_log WHERE seq <= ?`, seq);
    });
    this.snapshotSeq = seq;
  }

  /** Rows in the command log, for tests and stats. */
  logLength(): number {
    return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM command_log`).one().n;
  }
}
