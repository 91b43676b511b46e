/**
 * Raft messages between replicas over Durable Object RPC. Two lanes per
 * peer, each with one call in flight: heartbeats on one, everything else
 * (appends, votes, snapshots) on the other, as etcd keeps a stream for
 * appends apart from its other messages. Messages queued on a lane while its
 * call is out go together in the next call, which batches and keeps order
 * within the lane. With one lane, a heartbeat in flight held back the next
 * append a whole round trip: between regions a write waited twice the delay. The peer answers with the messages its
 * handling produced for us (append and heartbeat responses), so a round trip
 * is one call, not two. Every call has a timeout (RPC has none), a failed
 * call loses its messages (Raft retransmits), and a test hook can cut links
 * to simulate partitions. Per-peer counts and latencies feed /v2/stats/leader.
 */
import type { Message } from "../raft/index.ts";
import type { StepAnswer } from "../server/api.ts";
import { sleep, systemClock, withTimeout } from "../server/clock.ts";

export interface PeerStub {
  /** Delivers messages; resolves to the peer's messages addressed back to the sender. */
  step(messages: Message[]): Promise<StepAnswer>;
}

export interface PeerStats {
  success: number;
  fail: number;
  latencies: number[];
  /** Message sizes as estimated by messageBytes, both ways. */
  sentBytes: number;
  receivedBytes: number;
}

/**
 * A message's size on the wire, estimated without serialising it (which
 * would cost as much as sending it): its payload (entries, a snapshot
 * chunk, a read context) plus a fixed allowance for the header fields.
 */
export function messageBytes(messages: Message[]): number {
  let bytes = 0;
  for (const m of messages) {
    bytes += 64 + (m.context?.length ?? 0) + (m.chunk?.data.length ?? 0);
    for (const e of m.entries ?? []) bytes += 24 + e.data.length;
  }
  return bytes;
}

const RPC_TIMEOUT_MS = 2000;
const LATENCY_SAMPLES = 100;

interface Lane {
  queue: Message[];
  busy: boolean;
}

interface Peer {
  beats: Lane;
  data: Lane;
  stub: PeerStub | null;
  stats: PeerStats;
}

export class Transport {
  private peers = new Map<string, Peer>();
  /** Peers this replica cannot reach (fault injection). */
  blocked = new Set<string>();
  sentAppends = 0;

  constructor(
    private readonly connect: (id: string) => PeerStub,
    private readonly receive: (messages: Message[]) => void,
    /** A peer says this replica was removed from the cluster. */
    private readonly removed: () => void,
    /** Added before every call (PEER_DELAY_MS): what members far apart would cost, measured locally. */
    private readonly delayMs = 0,
  ) {}

  send(messages: Message[]): void {
    for (const m of messages) {
      if (this.blocked.has(m.to)) continue;
      if (m.type === "append") this.sentAppends++;
      const peer = this.peer(m.to);
      const lane = m.type === "heartbeat" ? peer.beats : peer.data;
      lane.queue.push(m);
      if (!lane.busy) void this.flush(m.to, peer, lane);
    }
  }

  /** Counts a call from a peer: what it brought in, and the answer that rides back on it. */
  answered(from: string, received: Message[], answer: Message[]): void {
    const stats = this.peer(from).stats;
    stats.receivedBytes += messageBytes(received);
    stats.sentBytes += messageBytes(answer);
  }

  /** Whether a message from `id` may be delivered here. */
  accepts(id: string): boolean {
    return !this.blocked.has(id);
  }

  stats(): Map<string, PeerStats> {
    return new Map([...this.peers].map(([id, p]) => [id, p.stats]));
  }

  private peer(id: string): Peer {
    let p = this.peers.get(id);
    if (!p) {
      p = { beats: { queue: [], busy: false }, data: { queue: [], busy: false }, stub: null, stats: { success: 0, fail: 0, latencies: [], sentBytes: 0, receivedBytes: 0 } };
      this.peers.set(id, p);
    }
    return p;
  }

  private async flush(id: string, peer: Peer, lane: Lane): Promise<void> {
    lane.busy = true;
    try {
      while (lane.queue.length > 0) {
        const batch = lane.queue;
        lane.queue = [];
        const started = Date.now();
        try {
          peer.stub ??= this.connect(id);
          peer.stats.sentBytes += messageBytes(batch);
          if (this.delayMs > 0) await sleep(systemClock, this.delayMs);
          const replies = await withTimeout(systemClock, peer.stub.step(batch), RPC_TIMEOUT_MS);
          recordLatency(peer.stats, Date.now() - started);
          peer.stats.success++;
          if (!Array.isArray(replies)) {
            this.removed();
            return;
          }
          // Replies from a peer cut off since the call left are dropped like any other.
          peer.stats.receivedBytes += messageBytes(replies);
          if (replies.length > 0 && !this.blocked.has(id)) this.receive(replies);
        } catch {
          // A broken stub stays broken: reconnect next time.
          peer.stub = null;
          peer.stats.fail++;
        }
      }
    } finally {
      lane.busy = false;
    }
  }
}

function recordLatency(stats: PeerStats, ms: number): void {
  stats.latencies.push(ms);
  if (stats.latencies.length > LATENCY_SAMPLES) stats.latencies.shift();
}
