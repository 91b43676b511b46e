/**
 * The v3 watchers of each watch socket, by socket id and watch id, in
 * SQLite: what a watcher selects (key, range end, filters, prev_kv,
 * progress_notify), written once when it is created and deleted when it is
 * canceled. A socket's attachment cannot hold a stream of thousands of
 * watchers (16 KiB); it keeps only their progress (see v3-watch-socket.ts).
 * One row written per create and per cancel; nothing per event.
 */
import type { WatchSelector } from "../v3/watch.ts";

export interface WatcherSpec {
  id: number;
  selector: WatchSelector;
  progressNotify: boolean;
}

export class WatchSpecs {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS watch_v3 (socket TEXT NOT NULL, id INTEGER NOT NULL, spec TEXT NOT NULL, PRIMARY KEY (socket, id))`);
  }

  put(socket: string, spec: WatcherSpec): void {
    this.sql.exec(`INSERT OR REPLACE INTO watch_v3 (socket, id, spec) VALUES (?, ?, ?)`, socket, spec.id, JSON.stringify(spec));
  }

  remove(socket: string, id: number): void {
    this.sql.exec(`DELETE FROM watch_v3 WHERE socket = ? AND id = ?`, socket, id);
  }

  of(socket: string): WatcherSpec[] {
    return [...this.sql.exec<{ spec: string }>(`SELECT spec FROM watch_v3 WHERE socket = ?`, socket)].map((r) => JSON.parse(r.spec) as WatcherSpec);
  }

  /** Forgets every socket but `open` (their sockets closed while the object was gone). */
  keepOnly(open: string[]): void {
    const live = new Set(open);
    const sockets = [...this.sql.exec<{ socket: string }>(`SELECT DISTINCT socket FROM watch_v3`)].map((r) => r.socket);
    for (const socket of sockets) if (!live.has(socket)) this.drop(socket);
  }

  drop(socket: string): void {
    this.sql.exec(`DELETE FROM watch_v3 WHERE socket = ?`, socket);
  }
}
