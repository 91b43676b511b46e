/**
 * Quorum reads (ReadIndex, §6.4), in shared rounds: the reads made in one
 * turn (a router batch) share one ReadIndex round, as etcd's server shares
 * one among concurrent linearizable reads: one heartbeat per follower
 * instead of one per read. A round's reads are answered once the leader has
 * confirmed it still leads and this member has applied up to the read point.
 *
 * Apart from driver.ts because it keeps its own waiters: the driver hands it
 * each Ready's read states and, after each Ready, how far it has applied.
 */
import type { RawNode, ReadState } from "../raft/index.ts";
import type { DriverHost } from "./driver-interfaces.ts";
import { RaftError } from "./raft-error.ts";
import { Waiters } from "./waiters.ts";

/** What read rounds work with; all of it belongs to the driver. */
export interface ReadRoundsContext {
  id: string;
  node: RawNode;
  host: DriverHost;
  /** How long a round may wait before etcd's "request timed out". */
  timeoutMs: number;
  /** Processes the Ready that starting a round made. */
  process(): void;
}

export class ReadRounds {
  /** Quorum reads that will share the next round (see read). */
  private next: { resolve(): void; reject(err: Error): void }[] = [];
  /** Rounds waiting for ReadIndex, by context; `index` is set once confirmed. */
  private readonly rounds = new Waiters<string, void, { index: number | null }>();
  /** Rounds started by this instance (each serves every quorum read of its turn). */
  started = 0;

  constructor(private readonly ctx: ReadRoundsContext) {}

  /** A quorum read: resolves once its round is confirmed and applied (see the header). */
  read(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.next.push({ resolve, reject });
      if (this.next.length === 1) this.ctx.host.defer(() => this.start());
    });
  }

  /** Whether any quorum read waits, in a round or for the next. */
  waiting(): boolean {
    return this.rounds.size > 0 || this.next.length > 0;
  }

  /** A Ready's read state: the leader confirmed the round, with its read point. */
  confirmed(rs: ReadState): void {
    const round = this.rounds.get(rs.context);
    if (round) round.index = rs.index;
  }

  /** Answers the rounds confirmed at or below `applied`. */
  serve(applied: number): void {
    for (const [context, round] of this.rounds.entries()) {
      if (round.index !== null && round.index <= applied) this.rounds.take(context)!.resolve();
    }
  }

  /** Refuses the rounds whose time ran out. */
  expire(now: number, timeout: () => Error): void {
    this.rounds.expire(now, timeout);
  }

  private start(): void {
    const round = this.next;
    this.next = [];
    const context = `${this.ctx.id}:${++this.started}`;
    if (!this.ctx.node.readIndex(context)) {
      for (const r of round) r.reject(new RaftError("etcdserver: no leader", true));
      return;
    }
    this.rounds.add(context, {
      index: null,
      resolve: () => round.forEach((r) => r.resolve()),
      reject: (err: Error) => round.forEach((r) => r.reject(err)),
      deadline: this.ctx.host.now() + this.ctx.timeoutMs,
    });
    this.ctx.process();
  }
}
