/**
 * Raft's safety properties (paper, Figure 3), checked as the simulation goes,
 * from what each member persists and applies:
 * - election safety: at most one leader per term;
 * - log matching: an (index, term) pair always names the same entry with the
 *   same predecessor term, on every member, at every moment;
 * - leader completeness: a new leader holds every entry known committed (a
 *   leader resumed quiet after a restart, in the term it won before, holds
 *   every entry committed in its term or earlier ones: later terms may have
 *   moved on without it, and it finds out at its first message);
 * - state machine safety: members commit and apply the same entry at each
 *   index, in order.
 */
import type { Entry, MemoryStorage, Ready } from "../../../src/raft/index.ts";

export class SafetyChecker {
  private readonly leaderOfTerm = new Map<number, string>();
  private readonly entryAt = new Map<string, { data: string; prevTerm: number | undefined }>();
  /** Every entry known committed, by index. */
  readonly committed = new Map<number, Entry>();
  /** Per member: the highest commit index already checked. */
  private readonly checkedCommit = new Map<string, number>();
  /** Per member: the last index applied (in this incarnation or a snapshot's). */
  private readonly appliedTo = new Map<string, number>();
  /** Per member: whether it leads, as its last Ready said (reset at each start). */
  private readonly leading = new Map<string, boolean>();
  leaders = 0;

  constructor(
    private readonly fail: (message: string) => never,
    private readonly log: (line: string) => void,
  ) {}

  /** A member starts (or restarts) with state restored up to `applied`. */
  started(member: string, applied: number): void {
    this.appliedTo.set(member, applied);
    this.leading.set(member, false);
  }

  /** After a member persisted a Ready. */
  persisted(member: string, storage: MemoryStorage, rd: Ready): void {
    const hs = storage.hardState();
    const wasLeading = this.leading.get(member) ?? false;
    if (rd.softState) this.leading.set(member, rd.softState.role === "leader");
    if (rd.softState?.role === "leader" && !wasLeading) {
      this.leaders++;
      const resumed = rd.softState.quiescent;
      const other = this.leaderOfTerm.get(hs.term);
      if (other !== undefined && other !== member) this.fail(`election safety: ${other} and ${member} both lead term ${hs.term}`);
      this.leaderOfTerm.set(hs.term, member);
      this.log(`${member} leads term ${hs.term}${resumed ? " (resumed quiet)" : ""}`);
      for (const [index, e] of this.committed) {
        if (index < storage.firstIndex() || (resumed && e.term > hs.term)) continue;
        if (storage.term(index) !== e.term) {
          this.fail(`leader completeness: ${member} leads term ${hs.term} without committed entry ${index} (term ${e.term})`);
        }
      }
    }
    const checked = this.checkedCommit.get(member) ?? 0;
    for (const e of rd.entries) {
      const key = `${e.index}:${e.term}`;
      const seen = this.entryAt.get(key);
      const prevTerm = storage.term(e.index - 1);
      if (!seen) this.entryAt.set(key, { data: e.data, prevTerm });
      else if (seen.data !== e.data || seen.prevTerm !== prevTerm) {
        this.fail(`log matching: ${member} has a different entry or predecessor at ${key}`);
      }
      if (e.index <= checked) {
        const c = this.committed.get(e.index);
        if (c && (c.term !== e.term || c.data !== e.data)) this.fail(`${member} overwrote its committed entry ${e.index}`);
      }
    }
    if (rd.snapshot) this.appliedTo.set(member, rd.snapshot.meta.index);
    const from = Math.max(checked + 1, storage.firstIndex());
    for (let i = from; i <= hs.commit; i++) this.record(member, storage.entries(i, i + 1)[0], "committed");
    this.checkedCommit.set(member, Math.max(checked, hs.commit));
  }

  /** After a member applied an entry. */
  applied(member: string, e: Entry): void {
    const last = this.appliedTo.get(member) ?? 0;
    if (e.index !== last + 1) this.fail(`${member} applied index ${e.index} right after ${last}`);
    this.appliedTo.set(member, e.index);
    this.record(member, e, "applied");
  }

  private record(member: string, e: Entry, how: string): void {
    const known = this.committed.get(e.index);
    if (!known) this.committed.set(e.index, e);
    else if (known.term !== e.term || known.data !== e.data) {
      this.fail(`state machine safety: ${member} ${how} ${JSON.stringify(e)} but ${JSON.stringify(known)} is committed there`);
    }
  }
}
