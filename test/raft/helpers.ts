/**
 * Test harness for unit tests: members over MemoryStorage, a driver loop that
 * follows the Ready contract, and a manual network where each test decides
 * which messages arrive.
 */
import { MemoryStorage, RawNode, bootstrap } from "../../src/raft";
import type { Entry, Message, NodeId, RaftOptions, ReadState, Ready } from "../../src/raft";

export interface Member {
  id: NodeId;
  storage: MemoryStorage;
  node: RawNode;
  applied: Entry[];
  readStates: ReadState[];
  readies: Ready[];
}

export type Options = Partial<Omit<RaftOptions, "id">>;

export function newMember(id: NodeId, storage: MemoryStorage, options: Options = {}): Member {
  const node = new RawNode({ seed: hash(id), ...options, id }, storage);
  return { id, storage, node, applied: [], readStates: [], readies: [] };
}

/** Handle every pending Ready of m; returns the messages to send. */
export function drain(m: Member): Message[] {
  const out: Message[] = [];
  while (m.node.hasReady()) {
    const rd = m.node.ready();
    m.readies.push(rd);
    out.push(...rd.messages);
    if (rd.snapshot) m.storage.installSnapshot(rd.snapshot);
    m.storage.append(rd.entries);
    if (rd.hardState) m.storage.setHardState(rd.hardState);
    if (rd.compaction) m.storage.compact(rd.compaction);
    out.push(...rd.messagesAfterPersist);
    m.applied.push(...rd.committedEntries);
    m.readStates.push(...rd.readStates);
    m.node.advance(rd);
  }
  return out;
}

export class Cluster {
  readonly members = new Map<NodeId, Member>();
  /** Messages sent and not yet delivered, in send order. */
  queue: Message[] = [];
  /** Members cut off from everyone. */
  readonly isolated = new Set<NodeId>();

  constructor(voters: NodeId[], options: Options = {}, extra: NodeId[] = []) {
    for (const id of voters) {
      const storage = new MemoryStorage();
      bootstrap(storage, voters);
      this.members.set(id, newMember(id, storage, options));
    }
    for (const id of extra) this.members.set(id, newMember(id, new MemoryStorage(), options));
  }

  get(id: NodeId): Member {
    const m = this.members.get(id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }

  node(id: NodeId): RawNode {
    return this.get(id).node;
  }

  /** Drain every member's Ready into the queue. */
  flush(): void {
    for (const m of this.members.values()) this.queue.push(...drain(m));
  }

  /** Deliver queued messages (those `accept` lets through; others are dropped) until quiet. */
  deliverAll(accept: (m: Message) => boolean = () => true, maxRounds = 1000): void {
    this.flush();
    for (let round = 0; this.queue.length > 0; round++) {
      if (round > maxRounds) throw new Error("network did not go quiet");
      const batch = this.queue;
      this.queue = [];
      for (const msg of batch) {
        if (this.isolated.has(msg.from) || this.isolated.has(msg.to) || !accept(msg)) continue;
        this.members.get(msg.to)?.node.step(msg);
      }
      this.flush();
    }
  }

  /** Take queued messages matching `pick` out of the queue. */
  take(pick: (m: Message) => boolean): Message[] {
    this.flush();
    const picked = this.queue.filter(pick);
    this.queue = this.queue.filter((m) => !pick(m));
    return picked;
  }

  tick(id: NodeId, times = 1): void {
    for (let k = 0; k < times; k++) this.node(id).tick();
  }

  /** Tick everyone once and deliver; repeat. */
  tickAll(times: number): void {
    for (let k = 0; k < times; k++) {
      for (const id of this.members.keys()) this.node(id).tick();
      this.deliverAll();
    }
  }

  /** Make `id` leader by campaigning and delivering everything. */
  elect(id: NodeId): void {
    this.node(id).campaign();
    this.deliverAll();
    const s = this.node(id).status();
    if (s.role !== "leader") throw new Error(`${id} did not become leader (role ${s.role})`);
  }

  leaders(): NodeId[] {
    return [...this.members.values()].filter((m) => m.node.status().role === "leader").map((m) => m.id);
  }

  /** Data of the normal, non-empty entries m has applied. */
  appliedData(id: NodeId): string[] {
    return this.get(id).applied.filter((e) => e.type === "normal" && e.data !== "").map((e) => e.data);
  }
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
