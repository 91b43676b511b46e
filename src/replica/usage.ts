/**
 * What a replica does that Cloudflare bills a Durable Object for: requests
 * it receives (RPC calls and alarms), SQLite rows it reads and writes, and
 * the time it holds a timer (a ticking replica can neither hibernate nor be
 * evicted, so it is billed for duration). Counted so that a test can measure
 * a cluster's bill (COST.md) and /metrics can show it; nothing else reads it.
 */
import type { UsageCounts } from "../server/metrics.ts";

export interface Holds {
  socketMessages: number;
}

export class Usage {
  private counts: UsageCounts = { requests: 0, alarms: 0, rowsRead: 0, rowsWritten: 0, awakeMs: 0 };
  private awakeSince: number | null = null;
  /** What holds the object awake or billed besides the tick timer (see holds). */
  private held: Holds = { socketMessages: 0 };
  /** The newest cursor: its rows are counted once the next statement runs (see meter). */
  private last: SqlStorageCursor<Record<string, SqlStorageValue>> | null = null;

  request(): void {
    this.counts.requests++;
  }

  /** A message received on a watch socket: billed as a request, at 20 messages to one. */
  socketMessage(): void {
    this.held.socketMessages++;
  }

  /** Socket messages received, and what holds the object now besides the tick timer. */
  holds(): Holds {
    return { ...this.held };
  }

  alarm(): void {
    this.counts.alarms++;
  }

  alarmSet(): void {
    this.counts.rowsWritten++;
  }

  /**
   * Counts the rows of every statement run through `sql`. A cursor knows
   * its rows only once it has been read; every statement here is read to
   * the end before the next one runs (all storage code is synchronous), so
   * each cursor is counted when the next statement starts, or when the
   * counts are read.
   */
  meter(sql: SqlStorage): void {
    const exec = sql.exec.bind(sql);
    sql.exec = ((query: string, ...bindings: unknown[]) => {
      this.countLast();
      const cursor = exec(query, ...bindings);
      this.last = cursor;
      return cursor;
    }) as SqlStorage["exec"];
  }

  ticking(now: number): void {
    this.awakeSince ??= now;
  }

  stopped(now: number): void {
    if (this.awakeSince === null) return;
    this.counts.awakeMs += now - this.awakeSince;
    this.awakeSince = null;
  }

  read(now: number): UsageCounts {
    this.countLast();
    const awake = this.awakeSince === null ? 0 : now - this.awakeSince;
    return { ...this.counts, awakeMs: this.counts.awakeMs + awake };
  }

  private countLast(): void {
    if (!this.last) return;
    this.counts.rowsRead += this.last.rowsRead;
    this.counts.rowsWritten += this.last.rowsWritten;
    this.last = null;
  }
}
