/**
 * Quiescence (as CockroachDB's quiesced ranges): a leader whose followers
 * all hold its whole log, with nothing pending, may go quiet. It sends a
 * last heartbeat marked `quiesce`; a follower whose log ends exactly where
 * the leader's does (same index, same term) commits it and goes quiet too,
 * without answering. Quiet members ignore ticks, so an idle cluster sends
 * nothing at all. A local request or any message wakes a member, except
 * what carries no news (keepsQuiet): the quiesce itself, and a plain
 * heartbeat or its answer, which may have been on its way when the leader
 * went quiet. A follower that does not match wakes the leader (a `wake`
 * message); one that missed the quiesce stays awake and, its election
 * timer firing, wakes the others with a pre-vote, which they refuse while
 * their leader lives, and they wake the leader.
 *
 * Here are the two rules a member applies to a message about it, as
 * functions over its state, apart from raft.ts, which keeps the quiet flag
 * and the transitions that touch roles and timers (Raft.quiesce, wake and
 * resumeQuiescent). When a leader tries to go quiet is the driver's choice
 * (src/server/quiescence.ts).
 */
import type { RaftLog } from "./log";
import type { Message, NodeId, Role } from "./types";

/** What of a member keepsQuiet reads; a Raft is one. */
export interface QuietMember {
  readonly term: number;
  readonly role: Role;
  readonly leader: NodeId;
  readonly log: RaftLog;
}

/**
 * Whether a quiet member may take `m` without waking (see the header): a
 * quiesce heartbeat; on a follower, a heartbeat of its leader's that
 * commits nothing new and confirms no read (it is answered, so that a
 * leader that is awake after all keeps hearing from us); on a leader, the
 * answer to such a heartbeat.
 */
export function keepsQuiet(m: Message, member: QuietMember): boolean {
  if (m.type === "heartbeat" && m.quiesce) return true;
  if (m.term !== member.term || m.context !== undefined) return false;
  if (member.role === "leader") return m.type === "heartbeatResp";
  return m.type === "heartbeat" && m.from === member.leader && (m.commit ?? 0) <= member.log.committed;
}

/**
 * A follower given its leader's quiesce heartbeat `m`: if its log ends
 * exactly where the leader's does (same last index, same term there), it
 * holds all of it by log matching, so it commits all of it and may go quiet
 * (true).
 */
export function acceptQuiesce(log: RaftLog, m: Message): boolean {
  const last = log.lastIndex();
  if (m.commit !== last || log.term(last) !== m.logTerm || log.pendingSnapshot() !== undefined) return false;
  log.commitTo(last);
  return true;
}
