/**
 * What Raft has produced for the driver besides log entries, until RawNode
 * collects it into a Ready: messages that may leave at once, messages that
 * must wait until that Ready is persisted, and confirmed read points.
 */
import type { Message, MessageType, ReadState } from "./types";

/** Messages a leader may send before its own log write is durable (thesis §10.2.1). */
const LEADER_EARLY_TYPES: ReadonlySet<MessageType> = new Set<MessageType>([
  "append",
  "heartbeat",
  "snapshot",
  "timeoutNow",
  "readIndexResp",
]);

export class Outbox {
  /** Messages the driver may send right away. */
  msgs: Message[] = [];
  /** Messages the driver sends only after persisting the Ready they came with. */
  msgsAfterPersist: Message[] = [];
  readStates: ReadState[] = [];

  /**
   * Queue a message. A leader's appends, heartbeats and snapshot chunks may go
   * out before its own log write is durable, because it does not count itself
   * until then; but only once its term is durable (`leaderTermDurable`), so
   * that a crash cannot make it lead the same term twice with different
   * entries. Everything else (votes, acknowledgements) waits for persistence.
   */
  push(msg: Message, leaderTermDurable: boolean): void {
    if (msg.type === "appendResp" && !msg.reject && this.mergeAck(msg)) return;
    if (leaderTermDurable && LEADER_EARLY_TYPES.has(msg.type)) {
      this.msgs.push(msg);
    } else {
      this.msgsAfterPersist.push(msg);
    }
  }

  /**
   * Folds an acknowledgement into the one queued just before it for the same
   * leader and term: acknowledgements are cumulative (the leader keeps the
   * highest match), so appends stepped together get one answer.
   */
  private mergeAck(msg: Message): boolean {
    const last = this.msgsAfterPersist[this.msgsAfterPersist.length - 1];
    if (!last || last.type !== "appendResp" || last.reject || last.to !== msg.to || last.term !== msg.term) return false;
    last.index = Math.max(last.index ?? 0, msg.index ?? 0);
    return true;
  }
}
