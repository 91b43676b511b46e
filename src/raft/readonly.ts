/**
 * Pending linearizable reads on the leader (ReadIndex, thesis §6.4).
 *
 * A read request records the commit index at the time it arrives. The leader
 * then sends a heartbeat round tagged with the request's context; once a
 * quorum of voters answers that round, no other leader can have been elected
 * with a newer term when the request arrived, so the recorded commit index is
 * at least as new as any write that completed before the read began. The
 * request is then answered with that index and the application serves the
 * read once it has applied up to it.
 *
 * Requests are kept in arrival order; an acknowledged round confirms every
 * request queued before it as well.
 */
import type { NodeId } from "./types";

export interface ReadRequest {
  context: string;
  /** Who asked: the leader itself, or the follower that forwarded it. */
  from: NodeId;
  index: number;
  acks: Set<NodeId>;
}

export class ReadOnlyQueue {
  private readonly queue: ReadRequest[] = [];
  private readonly byContext = new Map<string, ReadRequest>();

  /** Queue a request; false if one with the same context is already pending. */
  add(context: string, from: NodeId, index: number, self: NodeId): boolean {
    if (this.byContext.has(context)) return false;
    const request: ReadRequest = { context, from, index, acks: new Set([self]) };
    this.queue.push(request);
    this.byContext.set(context, request);
    return true;
  }

  /** Record that `from` answered the heartbeat round for context; returns who acked so far. */
  ack(context: string, from: NodeId): ReadonlySet<NodeId> | undefined {
    const request = this.byContext.get(context);
    if (!request) return undefined;
    request.acks.add(from);
    return request.acks;
  }

  /** Remove and return every request up to and including `context`. */
  release(context: string): ReadRequest[] {
    const at = this.queue.findIndex((r) => r.context === context);
    if (at < 0) return [];
    const released = this.queue.splice(0, at + 1);
    for (const r of released) this.byContext.delete(r.context);
    return released;
  }

  /** Context of the newest pending request, to tag the next heartbeat with. */
  lastContext(): string | undefined {
    return this.queue.length > 0 ? this.queue[this.queue.length - 1].context : undefined;
  }

  /** Requests waiting for their heartbeat round. */
  size(): number {
    return this.queue.length;
  }

  clear(): void {
    this.queue.length = 0;
    this.byContext.clear();
  }
}
