/**
 * What the Raft driver (driver.ts) is plugged into: the storage, state
 * machine, host and hooks it reaches everything through, and its settings.
 * The Durable Object (src/replica) and the seeded simulator (test/server/sim)
 * each implement these, so both run exactly the driver's code.
 *
 * Apart from driver.ts so that this contract reads on its own, and so that
 * the driver's parts (quiescence.ts) can use it without importing the
 * driver. driver.ts re-exports all of it.
 */
import type { Entry, Message, RaftOptions, Ready, Role, Storage, StorageWriter } from "../raft/index.ts";
import type { Clock } from "./clock.ts";

/** The disk: Raft's storage plus a transaction that is all durable or, after a crash, not there at all. */
export interface DriverStorage extends Storage, StorageWriter {
  transaction(write: () => void): void;
  /** The mark a member leaves when it goes quiet, or null (see QuiescenceMark). */
  quiescence(): QuiescenceMark | null;
  setQuiescence(mark: QuiescenceMark | null): void;
}

/**
 * Written when a member goes quiet, removed when it wakes. It holds only
 * while the log and hard state are exactly as they were then: same term,
 * commit index at the end of the log (checked at load).
 */
export interface QuiescenceMark {
  term: number;
  commit: number;
  leader: string;
  /** On a leader's mark: the voters its quiet spell left behind, which it wakes now and then to retry. */
  laggards?: string[];
  /** With laggards: when the quiet spell began (the host's clock), which the retry counts from. */
  since?: number;
}

/** What committed entries are applied to; deterministic, so every member holds the same state. */
export interface StateMachine<R> {
  apply(entry: Entry): R;
  /** The whole state, for a snapshot. */
  encode(): string;
  /** Replaces the whole state with that of a snapshot taken at log index `index`. */
  restore(data: string, index: number): void;
}

/** The driver's way out: time, deferred work and the network. */
export interface DriverHost extends Clock {
  /** Runs `fn` once the current turn's synchronous work is done, before any timer. */
  defer(fn: () => void): void;
  /** Hands messages to the transport; they may be lost, as Raft allows. */
  send(messages: Message[]): void;
  /**
   * The member cannot go on (see RaftDriver.failed): the host must restart
   * it from what storage holds, as after a crash.
   */
  fail(err: Error): void;
}

/** Optional observers and duties, called from inside the loop. */
export interface DriverHooks<R> {
  roleChanged?(role: Role, leader: string): void;
  /** After each entry is applied, with what applying it returned. */
  applied?(entry: Entry, result: R): void;
  /** After each Ready is durable, before it is applied. */
  persisted?(rd: Ready): void;
  /** Right after a Ready's storage transaction (not called for a Ready with nothing to write). */
  wrote?(): void;
  /** On the leader, each tick, before the Ready is processed (e.g. to propose TTL expiries). */
  leaderTick?(now: number): void;
  /** The member went quiet (stop ticking) or woke (tick again). */
  quiescenceChanged?(quiescent: boolean): void;
  /** The earliest time a leaderTick duty falls due (a TTL, a lease), or null: the leader stays awake when it is near. */
  nextDeadline?(): number | null;
}

export interface DriverOptions {
  id: string;
  seed: number;
  /** Raft settings beyond id and seed (election and heartbeat ticks, flow control). */
  raft: Omit<RaftOptions, "id" | "seed" | "applied">;
  /** How long a proposal or quorum read may wait before etcd's "request timed out". */
  requestTimeoutMs: number;
  /** How long a follower waits for a leader to appear. */
  leaderWaitMs: number;
  /** How often waitForLeader looks again. */
  leaderPollMs: number;
  /**
   * Applied entries between snapshots; the log is compacted up to each one.
   * A member going quiet takes one sooner, once a tenth as many are
   * applied since the last: a quiet object may be evicted, and the next
   * request then waits for whatever log its reload replays. Not a leader
   * that left members behind: they will want the entries.
   */
  snapshotEvery: number;
  /** Group commit: from `minBatch` entries in the leader's last Ready, proposals wait `waitMs`. */
  groupCommit: { minBatch: number; waitMs: number };
  /** Stand for election at once instead of after an election timeout (a new cluster's first member). */
  campaign?: boolean;
  /**
   * The leader goes quiet after `afterTicks` ticks with no new entry and
   * nothing pending, unless a deadline (nextDeadline) is within `marginMs`.
   * Absent: never.
   */
  quiesce?: {
    afterTicks: number;
    marginMs: number;
    /**
     * A leader quiet with laggards (voters down or cut off, see
     * Leadership.canQuiesce) wakes this long after going quiet to retry
     * them; the host wakes it (laggardRetryAt). Absent: only the next
     * request or message does.
     */
    laggardRetryMs?: number;
  };
}
