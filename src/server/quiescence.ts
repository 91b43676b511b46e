/**
 * Quiescence, the driver's part: when a leader goes quiet, and the mark that
 * lets a member resume quiet after a restart. A leader that has seen no new
 * entry and no request for a while goes quiet (Raft.quiesce), and so do its
 * followers (Raft's part is in src/raft/quiescence.ts). A quiet member wants
 * no ticks (quiescenceChanged tells the host to stop its timer) and keeps a
 * mark in storage, so that after a restart it resumes quiet, knowing its
 * leader and commit index, instead of holding an election.
 *
 * Apart from driver.ts because the Ready loop does not depend on it: the
 * driver hands it each leader tick and each Ready that makes the member
 * quiet or wakes it, and it decides, writes the mark and tells the host.
 */
import type { HardState, RawNode, Ready } from "../raft/index.ts";
import type { DriverHooks, DriverOptions, DriverStorage, QuiescenceMark } from "./driver-interfaces.ts";

/**
 * The leader of the quiet spell this member stopped in, if its mark still
 * holds; a stale mark is removed. Read before Raft is loaded, which then
 * resumes quiet (see RaftOptions.quiescentLeader).
 */
export function resumableLeader(storage: DriverStorage): string | undefined {
  const mark = storage.quiescence();
  if (!mark) return undefined;
  const hs = storage.hardState();
  if (mark.term === hs.term && mark.commit === hs.commit && mark.commit === storage.lastIndex()) return mark.leader;
  storage.transaction(() => storage.setQuiescence(null));
  return undefined;
}

/** What quiescence works with; all of it belongs to the driver. */
export interface QuiescenceContext {
  node: RawNode;
  now(): number;
  storage: DriverStorage;
  settings: DriverOptions["quiesce"];
  hooks: Pick<DriverHooks<unknown>, "nextDeadline" | "quiescenceChanged">;
  /** The latest hard state, possibly with a commit index not yet written. */
  hardState(): HardState;
  /** The leader as this member knows it. */
  leader(): string;
  /** Whether requests wait here on Raft: proposals, quorum reads, or a Ready about to be processed. */
  busy(): boolean;
}

export class Quiescence {
  /** As the last Ready said (see mark). */
  private quiescent = false;
  /** When a leader quiet with laggards wakes to retry them (see laggardRetryMs), or null. */
  retryAt: number | null = null;
  /** This quiet spell left members behind (see Leadership.canQuiesce). */
  leftBehind = false;
  /** The leader's last index when its current quiet spell began, and the ticks since (see maybeQuiesce). */
  private quietIndex = -1;
  private quietTicks = 0;

  constructor(private readonly ctx: QuiescenceContext) {
    // Resumed quiet from its mark (see resumableLeader): the mark stands as
    // written, and a leader retries the laggards it had left behind (a
    // resumed leader's own view of its followers starts afresh).
    if (!ctx.node.quiescent) return;
    this.quiescent = true;
    const mark = ctx.storage.quiescence();
    if (mark?.laggards?.length) this.leaveBehind(mark.since ?? ctx.now());
  }

  /**
   * Members were left behind in a quiet spell that began at `since`: the
   * retry is due a fixed time after it, however often the object reloads
   * meanwhile (a reload must not push it back).
   */
  private leaveBehind(since: number): void {
    this.leftBehind = true;
    const retryMs = this.ctx.settings?.laggardRetryMs;
    this.retryAt = retryMs === undefined ? null : since + retryMs;
  }

  /**
   * On the leader, each tick: go quiet once the log has not grown for
   * `afterTicks` ticks with nothing waiting here and no deadline near;
   * Raft adds its own conditions (everyone caught up, see canQuiesce).
   */
  maybeQuiesce(now: number): void {
    const settings = this.ctx.settings;
    if (!settings) return;
    const last = this.ctx.storage.lastIndex();
    if (last !== this.quietIndex || this.ctx.busy()) {
      this.quietIndex = last;
      this.quietTicks = 0;
      return;
    }
    if (++this.quietTicks < settings.afterTicks) return;
    const due = this.ctx.hooks.nextDeadline?.() ?? null;
    if (due !== null && due - now < settings.marginMs) return;
    this.ctx.node.quiesce();
  }

  /** What a Ready does to the quiet spell: true if the member went quiet, false if it woke, undefined if neither. */
  changeIn(rd: Ready): boolean | undefined {
    return rd.softState && rd.softState.quiescent !== this.quiescent ? rd.softState.quiescent : undefined;
  }

  /**
   * Keeps storage in step with a quiet spell: going quiet writes the mark
   * with the hard state it relies on (the commit index is written lazily
   * otherwise), once the Ready is persisted; waking removes it first.
   */
  mark(quiescent: boolean): void {
    const { storage } = this.ctx;
    this.quiescent = quiescent;
    // A quiet spell starts counting afresh after each wake: heartbeats sent
    // just before going quiet could otherwise still be on their way.
    this.quietTicks = 0;
    this.retryAt = null;
    this.leftBehind = false;
    if (quiescent) {
      const hs = this.ctx.hardState();
      const mark: QuiescenceMark = { term: hs.term, commit: hs.commit, leader: this.ctx.leader() };
      const laggards = this.ctx.node.laggards();
      if (laggards.length > 0) {
        mark.laggards = laggards;
        mark.since = this.ctx.now();
        this.leaveBehind(mark.since);
      }
      storage.transaction(() => {
        storage.setHardState(hs);
        storage.setQuiescence(mark);
      });
    } else if (storage.quiescence()) {
      storage.transaction(() => storage.setQuiescence(null));
    }
  }

  /**
   * Tells the host, after the Ready that changed it. A member that went
   * quiet with requests of its own still waiting (a read whose answer was
   * lost, say) wakes at once: they time out only on ticks.
   */
  changed(quiescent: boolean): void {
    if (quiescent && this.ctx.busy()) {
      this.ctx.node.wake();
      return;
    }
    this.ctx.hooks.quiescenceChanged?.(quiescent);
  }
}
