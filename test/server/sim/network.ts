/**
 * The simulated network: messages and calls between members arrive after a
 * seeded delay (which also reorders them), may be dropped or duplicated
 * while faults are on, and never cross a partition. Everything crossing it
 * is JSON round-tripped, as DO RPC serializes it in production.
 */
import type { Message, Random } from "../../../src/raft/index.ts";

export type Delivery = () => void;

export interface Faults {
  dropRate: number;
  dupRate: number;
}

export class Network {
  private readonly inflight = new Map<number, Delivery[]>();
  private partition: Map<string, number> | undefined;

  constructor(
    private readonly rng: Random,
    private readonly maxDelay: number,
    readonly faults: Faults,
  ) {}

  connected(a: string, b: string): boolean {
    return !this.partition || this.partition.get(a) === this.partition.get(b);
  }

  partitionInto(sides: Map<string, number>): void {
    this.partition = sides;
  }

  heal(): void {
    this.partition = undefined;
  }

  describePartition(): string {
    return this.partition ? JSON.stringify([...this.partition]) : "none";
  }

  /** Sends Raft messages; `deliver` runs at arrival, if the link is up then. */
  sendMessages(now: number, messages: Message[], deliver: (m: Message) => void): void {
    for (const m of messages) {
      if (this.rng() < this.faults.dropRate) continue;
      const arrive = () => {
        if (this.connected(m.from, m.to)) deliver(copyMessage(m));
      };
      this.schedule(now, arrive);
      if (this.rng() < this.faults.dupRate) this.schedule(now, arrive);
    }
  }

  /** One leg of a call (request or response) from `from` to `to`; lost like any message. */
  sendCall(now: number, from: string, to: string, deliver: Delivery): void {
    if (this.rng() < this.faults.dropRate) return;
    this.schedule(now, () => {
      if (this.connected(from, to)) deliver();
    });
  }

  /** Runs the deliveries due at `now`, in a seeded order. */
  deliverDue(now: number): void {
    const due = this.inflight.get(now);
    if (!due) return;
    this.inflight.delete(now);
    shuffle(due, this.rng);
    for (const d of due) d();
  }

  private schedule(now: number, d: Delivery): void {
    const at = now + 1 + Math.floor(this.rng() * this.maxDelay);
    const bucket = this.inflight.get(at);
    if (bucket) bucket.push(d);
    else this.inflight.set(at, [d]);
  }
}

/**
 * The receiver's own copy of a message, as DO RPC gives it in production:
 * nothing the sender keeps (entries, a snapshot chunk) is shared. A JSON
 * round trip per message would also prove plain data, at a quarter of the
 * simulator's time; the workers tests send every message through real RPC.
 */
function copyMessage(m: Message): Message {
  const copy: Message = { ...m };
  if (m.entries) copy.entries = m.entries.map((e) => ({ ...e }));
  if (m.chunk) copy.chunk = { ...m.chunk, meta: structuredClone(m.chunk.meta) };
  return copy;
}

/** A value as it arrives across a serialization boundary (an answer to a call between members). */
export function plain<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

function shuffle<T>(items: T[], rng: Random): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
}
