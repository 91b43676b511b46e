/**
 * A deterministic cluster simulator for the Raft core.
 *
 * Everything is driven by one seeded generator: message delays (which also
 * reorder), drops, duplicates, partitions, crashes and restarts, membership
 * changes, leader transfers and client operations. Each member's storage
 * (a MemoryStorage) is its disk; its RawNode, key-value state and pending
 * reads are its memory and vanish in a crash. A crash may strike while a
 * Ready is half handled: after its early messages left, before anything was
 * persisted.
 *
 * Safety checks run as the simulation goes (Raft paper Figure 3):
 * - election safety: at most one leader per term;
 * - log matching: an (index, term) pair always names the same entry with the
 *   same predecessor term, on every member, at every moment;
 * - leader completeness: a new leader holds every entry known committed;
 * - state machine safety: members commit and apply the same entry at each
 *   index, in order.
 * After the faults stop, the cluster must converge (liveness), and the
 * clients' history must be linearizable.
 */
import { RawNode, MemoryStorage, bootstrap, decodeConfigEntry, members, seededRandom } from "../../../src/raft";
import type { ClusterConfig, Entry, Message, NodeId, RaftOptions, Random, ReadState, Ready } from "../../../src/raft";
import { checkLinearizability } from "../linearizability";
import { KvStateMachine, kvModel, type KvCommand, type KvInput, type KvOperation, type KvOutput } from "./kv";

export interface SimParams {
  seed: number;
  /** Founding voters. */
  nodes: number;
  /** Time units with faults; a tick happens every TICK units. */
  faultyTime: number;
  /** Time units without faults at the end, in which the cluster must converge. */
  settleTime: number;
  verbose?: boolean;
}

export class SimulationFailure extends Error {}

const TICK = 10;
const KEYS = ["x", "y"];
const CLIENTS = 3;
const OP_TIMEOUT = 400;

interface SimNode {
  id: NodeId;
  index: number;
  storage: MemoryStorage;
  /** Undefined while crashed. */
  node: RawNode | undefined;
  kv: KvStateMachine;
  applied: number;
  readStates: ReadState[];
  restarts: number;
  restartAt: number;
  tickPhase: number;
  /** Highest commit index already checked against the committed record. */
  checkedCommit: number;
  /** Stopped for good (removed from the cluster). */
  retired: boolean;
}

interface PendingOp {
  client: Client;
  input: KvInput;
  call: number;
  deadline: number;
  /** Writes: where the proposal sits. Reads: the read context. */
  node: NodeId;
  index: number;
  term: number;
  commandId: string;
}

interface Client {
  slot: number;
  generation: number;
  id: string;
  pending: PendingOp | undefined;
  nextActionAt: number;
  leaderHint: NodeId;
}

export interface SimStats {
  operations: number;
  committed: number;
  leaders: number;
  crashes: number;
  configChanges: number;
  snapshotsInstalled: number;
}

export class Simulation {
  private readonly rng: Random;
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly inflight = new Map<number, Message[]>();
  private partition: Map<NodeId, number> | undefined;
  private now = 0;
  private clock = 0;
  private readonly trace: string[] = [];
  private readonly clients: Client[] = [];
  private readonly pendingWrites = new Map<string, PendingOp>();
  private readonly pendingReads = new Map<string, PendingOp>();
  private readonly history: KvOperation[] = [];
  /** Writes whose client gave up waiting; resolved at the end (see checkHistory). */
  private readonly unresolved: PendingOp[] = [];
  /** When each command first took effect on any member, and its result. */
  private readonly firstApplied = new Map<string, { output: KvOutput; at: number }>();
  private nextCommandId = 0;

  /** Checkers' memory. */
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly entryAt = new Map<string, { data: string; prevTerm: number | undefined }>();
  private readonly committed = new Map<number, Entry>();

  // Fault knobs, drawn from the seed.
  private readonly maxDelay: number;
  private dropRate: number;
  private dupRate: number;
  private readonly nemesisRate: number;
  private readonly crashInReadyRate: number;
  private readonly membership: boolean;
  private readonly compactAfter: number;
  private readonly raftOptions: Omit<RaftOptions, "id" | "seed">;
  private faulty = true;
  private readonly description: string;
  private nodeCounter = 0;

  readonly stats: SimStats = { operations: 0, committed: 0, leaders: 0, crashes: 0, configChanges: 0, snapshotsInstalled: 0 };

  constructor(private readonly params: SimParams) {
    this.rng = seededRandom(params.seed);
    const r = this.rng;
    this.maxDelay = 2 + Math.floor(r() * 28);
    this.dropRate = r() * 0.1;
    this.dupRate = r() * 0.05;
    this.nemesisRate = 1 / (80 + r() * 300);
    this.crashInReadyRate = [0, 0.005, 0.02][Math.floor(r() * 3)];
    this.membership = r() < 0.5;
    this.compactAfter = 4 + Math.floor(r() * 40);
    const features = r();
    this.raftOptions = {
      electionTicks: 10,
      heartbeatTicks: 1 + Math.floor(r() * 2),
      maxInflight: 1 + Math.floor(r() * 16),
      maxAppendSize: 16 + Math.floor(r() * 256),
      snapshotChunkSize: 8 + Math.floor(r() * 64),
      preVote: features < 0.8 || r() < 0.5,
      checkQuorum: features < 0.8 || r() < 0.5,
    };
    this.description = this.describeSettings();
    const founders: NodeId[] = [];
    for (let k = 0; k < params.nodes; k++) founders.push(`n${++this.nodeCounter}`);
    for (const id of founders) {
      const n = this.addNode(id);
      bootstrap(n.storage, founders);
      this.start(n);
    }
    for (let slot = 0; slot < CLIENTS; slot++) {
      this.clients.push({ slot, generation: 0, id: `c${slot}.0`, pending: undefined, nextActionAt: 0, leaderHint: "" });
    }
  }

  /** A digest of everything committed and observed, to prove runs replay exactly. */
  fingerprint(): string {
    const committed = [...this.committed.values()].map((e) => `${e.index}:${e.term}`).join(",");
    return `${committed}|${JSON.stringify(this.history)}|${JSON.stringify(this.stats)}`;
  }

  /** The schedule's fault settings (as drawn from the seed, before the final heal). */
  describe(): string {
    return this.description;
  }

  private describeSettings(): string {
    return JSON.stringify({
      nodes: this.params.nodes,
      maxDelay: this.maxDelay,
      dropRate: +this.dropRate.toFixed(3),
      dupRate: +this.dupRate.toFixed(3),
      membership: this.membership,
      compactAfter: this.compactAfter,
      crashInReadyRate: this.crashInReadyRate,
      ...this.raftOptions,
    });
  }

  run(): SimStats {
    const end = this.params.faultyTime + this.params.settleTime;
    for (this.now = 0; this.now < end; this.now++) {
      if (this.now === this.params.faultyTime) this.healAll();
      this.deliverDue();
      for (const n of this.nodes.values()) {
        if (n.node && (this.now + n.tickPhase) % TICK === 0) {
          n.node.tick();
          this.process(n);
        }
        if (!n.node && !n.retired && n.restartAt <= this.now) this.start(n);
      }
      const clientsActive = this.now < this.params.faultyTime + this.params.settleTime / 2;
      for (const c of this.clients) this.clientStep(c, clientsActive);
      if (this.faulty && this.rng() < this.nemesisRate) this.nemesis();
    }
    this.checkConverged();
    this.checkHistory();
    return this.stats;
  }

  // ---- members -------------------------------------------------------------

  private addNode(id: NodeId): SimNode {
    const n: SimNode = {
      id,
      index: this.nodes.size,
      storage: new MemoryStorage(),
      node: undefined,
      kv: new KvStateMachine(),
      applied: 0,
      readStates: [],
      restarts: 0,
      restartAt: Infinity,
      tickPhase: Math.floor(this.rng() * TICK),
      checkedCommit: 0,
      retired: false,
    };
    this.nodes.set(id, n);
    return n;
  }

  /** Boot or reboot a member from what its storage holds. */
  private start(n: SimNode): void {
    const snapshot = n.storage.snapshot();
    n.kv = KvStateMachine.restore(snapshot.data);
    n.applied = snapshot.meta.index;
    n.readStates = [];
    n.restartAt = Infinity;
    const seed = (this.params.seed * 7919 + n.index * 104729 + n.restarts * 15485863) >>> 0;
    n.node = new RawNode({ ...this.raftOptions, id: n.id, seed }, n.storage);
    n.restarts++;
    this.log(`${n.id} starts (commit ${n.storage.hardState().commit}, last ${n.storage.lastIndex()})`);
    this.process(n);
  }

  private retire(n: SimNode | undefined): void {
    if (!n || n.retired) return;
    n.node = undefined;
    n.retired = true;
    this.log(`${n.id} retires`);
  }

  private crash(n: SimNode, why: string): void {
    n.node = undefined;
    n.readStates = [];
    n.restartAt = this.now + 20 + Math.floor(this.rng() * 400);
    this.stats.crashes++;
    this.log(`${n.id} crashes ${why}`);
  }

  // ---- network -------------------------------------------------------------

  private send(messages: Message[]): void {
    for (const m of messages) {
      if (this.faulty && this.rng() < this.dropRate) continue;
      this.schedule(m);
      if (this.faulty && this.rng() < this.dupRate) this.schedule(m);
    }
  }

  private schedule(m: Message): void {
    const at = this.now + 1 + Math.floor(this.rng() * this.maxDelay);
    const bucket = this.inflight.get(at);
    if (bucket) bucket.push(m);
    else this.inflight.set(at, [m]);
  }

  private connected(a: NodeId, b: NodeId): boolean {
    return !this.partition || this.partition.get(a) === this.partition.get(b);
  }

  private deliverDue(): void {
    const due = this.inflight.get(this.now);
    if (!due) return;
    this.inflight.delete(this.now);
    shuffle(due, this.rng);
    for (const m of due) {
      const n = this.nodes.get(m.to);
      if (!n?.node || !this.connected(m.from, m.to)) continue;
      if (this.params.verbose) this.log(`deliver ${describeMessage(m)}`);
      // Messages cross a serialization boundary in production (DO RPC); a
      // JSON round trip also proves they are plain data.
      n.node.step(JSON.parse(JSON.stringify(m)) as Message);
      this.process(n);
    }
  }

  // ---- the driver loop -----------------------------------------------------

  private process(n: SimNode): void {
    while (n.node?.hasReady()) {
      const node = n.node;
      const rd = node.ready();
      this.send(rd.messages);
      if (this.faulty && this.rng() < this.crashInReadyRate) {
        this.crash(n, "before persisting a Ready");
        return;
      }
      if (rd.snapshot) n.storage.installSnapshot(rd.snapshot);
      n.storage.append(rd.entries);
      if (rd.hardState) n.storage.setHardState(rd.hardState);
      if (rd.compaction) n.storage.compact(rd.compaction);
      this.checkPersisted(n, rd);
      this.send(rd.messagesAfterPersist);
      if (rd.snapshot) {
        n.kv = KvStateMachine.restore(rd.snapshot.data);
        n.applied = rd.snapshot.meta.index;
        this.stats.snapshotsInstalled++;
      }
      for (const e of rd.committedEntries) this.apply(n, e);
      n.readStates.push(...rd.readStates);
      node.advance(rd);
      this.serveReads(n);
      if (n.applied - n.storage.firstIndex() + 1 >= this.compactAfter) node.compact(n.applied, n.kv.serialize());
    }
  }

  private apply(n: SimNode, e: Entry): void {
    if (e.index !== n.applied + 1) this.fail(`${n.id} applied index ${e.index} right after ${n.applied}`);
    n.applied = e.index;
    this.recordCommitted(n, e, "applied");
    const pending = this.pendingWrites.get(`${n.id}:${e.index}`);
    if (pending) this.pendingWrites.delete(`${n.id}:${e.index}`);
    if (e.type === "config") {
      this.log(`${n.id} applies config ${e.index}: ${e.data}`);
      const { change } = decodeConfigEntry(e.data);
      // Once faults stop, an operator shuts removed members down: without
      // pre-vote or check-quorum a removed member that never learned of its
      // removal would keep forcing elections (thesis §4.2.3).
      if (!this.faulty && change?.type === "removeNode") this.retire(this.nodes.get(change.node));
    }
    if (e.type !== "normal" || e.data === "") return;
    const command = JSON.parse(e.data) as KvCommand;
    const output = n.kv.apply(command.input);
    if (!this.firstApplied.has(command.id)) this.firstApplied.set(command.id, { output, at: ++this.clock });
    if (!pending || pending.client.pending !== pending) return;
    if (pending.term === e.term && pending.commandId === command.id) this.complete(pending, output);
    else this.abandon(pending); // another entry took the slot: ours never commits
  }

  private serveReads(n: SimNode): void {
    n.readStates = n.readStates.filter((rs) => {
      if (rs.index > n.applied) return true;
      const pending = this.pendingReads.get(rs.context);
      if (pending && pending.client.pending === pending && pending.node === n.id) {
        this.pendingReads.delete(rs.context);
        this.complete(pending, { kind: "read", value: n.kv.get(pending.input.key) });
      }
      return false;
    });
  }

  // ---- clients -------------------------------------------------------------

  private clientStep(c: Client, active: boolean): void {
    const p = c.pending;
    if (p && this.now >= p.deadline) {
      // Outcome unknown to the client: a write may still commit later, a read has no effect.
      if (p.input.kind !== "read") this.unresolved.push(p);
      this.renewClient(c);
    }
    if (c.pending || !active || this.now < c.nextActionAt) return;
    const roll = this.rng();
    const key = KEYS[Math.floor(this.rng() * KEYS.length)];
    const value = `v${++this.nextCommandId}`;
    if (roll < 0.4) {
      const n = this.randomLiveNode();
      if (!n?.node) return;
      const context = `r${this.nextCommandId}`;
      if (!n.node.readIndex(context)) {
        c.nextActionAt = this.now + 5;
        return;
      }
      const op = this.begin(c, { kind: "read", key }, n.id, 0, 0, context);
      this.pendingReads.set(context, op);
      this.process(n);
      return;
    }
    const input: KvInput =
      roll < 0.75 ? { kind: "put", key, value } : { kind: "cas", key, expected: this.guessValue(key), value };
    // Mostly follow the leader hint, sometimes look around (the hinted
    // leader may be stuck in a minority).
    const hinted = this.rng() < 0.7 ? this.nodes.get(c.leaderHint) : undefined;
    const n = hinted?.node ? hinted : this.randomLiveNode();
    if (!n?.node) return;
    const commandId = `w${this.nextCommandId}`;
    const result = n.node.propose(JSON.stringify({ id: commandId, input } satisfies KvCommand));
    if (!result.ok) {
      c.leaderHint = result.leader;
      c.nextActionAt = this.now + 3;
      return;
    }
    const op = this.begin(c, input, n.id, result.index, result.term, commandId);
    this.pendingWrites.set(`${n.id}:${result.index}`, op);
    this.process(n);
  }

  /** A plausible current value, so that some compare-and-swaps succeed. */
  private guessValue(key: string): string | null {
    const live = [...this.nodes.values()].filter((n) => n.node);
    return live.length > 0 && this.rng() < 0.8 ? live[Math.floor(this.rng() * live.length)].kv.get(key) : null;
  }

  private begin(c: Client, input: KvInput, node: NodeId, index: number, term: number, commandId: string): PendingOp {
    const op: PendingOp = { client: c, input, call: ++this.clock, deadline: this.now + OP_TIMEOUT, node, index, term, commandId };
    c.pending = op;
    return op;
  }

  private complete(p: PendingOp, output: KvOutput): void {
    this.record(p, output, ++this.clock);
    p.client.pending = undefined;
    p.client.nextActionAt = this.now + Math.floor(this.rng() * 10);
    this.stats.operations++;
  }

  private abandon(p: PendingOp): void {
    p.client.pending = undefined;
    p.client.nextActionAt = this.now;
  }

  /** After a timeout the client starts afresh under a new identity. */
  private renewClient(c: Client): void {
    c.pending = undefined;
    c.generation++;
    c.id = `c${c.slot}.${c.generation}`;
    c.nextActionAt = this.now;
  }

  private record(p: PendingOp, output: KvOutput, returned: number): void {
    this.history.push({ client: p.client.id, op: p.input.kind, input: p.input, output, call: p.call, return: returned });
  }

  // ---- faults --------------------------------------------------------------

  private nemesis(): void {
    const roll = this.rng();
    if (roll < 0.2) {
      // Crashing leaders is what exercises the recovery paths (Figure 8).
      const leader = this.rng() < 0.5 ? this.currentLeader() : undefined;
      const live = [...this.nodes.values()].filter((n) => n.node);
      const victim = leader ?? live[Math.floor(this.rng() * live.length)];
      if (victim) this.crash(victim, "(nemesis)");
    } else if (roll < 0.4) {
      this.partition = new Map();
      // Half the time, cut the leader off: a deposed leader that has not
      // noticed yet is where stale reads and lost writes would come from.
      const leader = this.rng() < 0.5 ? this.currentLeader() : undefined;
      for (const id of this.nodes.keys()) {
        const side = leader ? (id === leader.id ? 1 : 0) : this.rng() < 0.5 ? 0 : 1;
        this.partition.set(id, side);
      }
      this.log(`partition ${JSON.stringify([...this.partition])}`);
    } else if (roll < 0.55) {
      this.partition = undefined;
      this.log("heal");
    } else if (roll < 0.65) {
      const leader = this.currentLeader();
      const voters = leader ? leader.node?.status().config.voters.filter((id) => id !== leader.id) : [];
      if (leader?.node && voters && voters.length > 0) {
        const to = voters[Math.floor(this.rng() * voters.length)];
        this.log(`transfer leadership ${leader.id} -> ${to}: ${leader.node.transferLeadership(to)}`);
        this.process(leader);
      }
    } else if (this.membership) {
      this.changeMembership();
    }
  }

  private changeMembership(): void {
    const leader = this.currentLeader();
    if (!leader?.node) return;
    const config = leader.node.status().config;
    const roll = this.rng();
    let change;
    if (roll < 0.35 && this.nodes.size < 9) {
      const n = this.addNode(`n${++this.nodeCounter}`);
      this.start(n);
      change = { type: "addLearner" as const, node: n.id };
    } else if (roll < 0.7 && config.learners.length > 0) {
      change = { type: "addVoter" as const, node: config.learners[Math.floor(this.rng() * config.learners.length)] };
    } else {
      const candidates = config.voters.length > 3 ? [...config.voters, ...config.learners] : config.learners;
      if (candidates.length === 0) return;
      change = { type: "removeNode" as const, node: candidates[Math.floor(this.rng() * candidates.length)] };
    }
    const result = leader.node.proposeConfigChange(change);
    this.log(`${leader.id} proposes ${JSON.stringify(change)}: ${result.ok ? `index ${result.index}` : result.reason}`);
    if (result.ok) this.stats.configChanges++;
    this.process(leader);
  }

  private healAll(): void {
    this.faulty = false;
    this.partition = undefined;
    this.dropRate = 0;
    this.dupRate = 0;
    // Members whose removal is committed leave for good; the rest (including
    // nodes whose addition may still commit) come back.
    const config = this.committedConfig();
    const everMember = new Set<NodeId>();
    for (const e of this.committed.values()) {
      if (e.type === "config") for (const id of members(decodeConfigEntry(e.data).config)) everMember.add(id);
    }
    for (const n of this.nodes.values()) {
      if (everMember.has(n.id) && !members(config).includes(n.id)) {
        this.retire(n);
      } else if (!n.node) {
        this.start(n);
      }
    }
    this.log(`heal all; members ${JSON.stringify(config)}`);
  }

  private committedConfig(): ClusterConfig {
    const indexes = [...this.committed.keys()].sort((a, b) => b - a);
    for (const i of indexes) {
      const e = this.committed.get(i) as Entry;
      if (e.type === "config") return decodeConfigEntry(e.data).config;
    }
    // All config entries compacted everywhere we looked: use a snapshot's.
    for (const n of this.nodes.values()) return n.storage.snapshot().meta.config;
    throw new Error("no members");
  }

  private currentLeader(): SimNode | undefined {
    let best: SimNode | undefined;
    let bestTerm = -1;
    for (const n of this.nodes.values()) {
      const s = n.node?.status();
      if (s?.role === "leader" && s.term > bestTerm) {
        best = n;
        bestTerm = s.term;
      }
    }
    return best;
  }

  private randomLiveNode(): SimNode | undefined {
    const live = [...this.nodes.values()].filter((n) => n.node);
    return live.length > 0 ? live[Math.floor(this.rng() * live.length)] : undefined;
  }

  // ---- checks --------------------------------------------------------------

  private checkPersisted(n: SimNode, rd: Ready): void {
    const hs = n.storage.hardState();
    if (rd.softState?.role === "leader") {
      this.stats.leaders++;
      const other = this.leaderOfTerm.get(hs.term);
      if (other !== undefined && other !== n.id) this.fail(`election safety: ${other} and ${n.id} both lead term ${hs.term}`);
      this.leaderOfTerm.set(hs.term, n.id);
      this.log(`${n.id} leads term ${hs.term}`);
      for (const [index, e] of this.committed) {
        if (index < n.storage.firstIndex()) continue;
        if (n.storage.term(index) !== e.term) {
          this.fail(`leader completeness: ${n.id} leads term ${hs.term} without committed entry ${index} (term ${e.term})`);
        }
      }
    }
    for (const e of rd.entries) {
      const key = `${e.index}:${e.term}`;
      const seen = this.entryAt.get(key);
      const prevTerm = n.storage.term(e.index - 1);
      if (!seen) this.entryAt.set(key, { data: e.data, prevTerm });
      else if (seen.data !== e.data || seen.prevTerm !== prevTerm) {
        this.fail(`log matching: ${n.id} has a different entry or predecessor at ${key}`);
      }
      if (e.index <= n.checkedCommit) {
        const c = this.committed.get(e.index);
        if (c && (c.term !== e.term || c.data !== e.data)) this.fail(`${n.id} overwrote its committed entry ${e.index}`);
      }
    }
    const from = Math.max(n.checkedCommit + 1, n.storage.firstIndex());
    for (let i = from; i <= hs.commit; i++) this.recordCommitted(n, n.storage.entries(i, i + 1)[0], "committed");
    n.checkedCommit = Math.max(n.checkedCommit, hs.commit);
  }

  private recordCommitted(n: SimNode, e: Entry, how: string): void {
    const known = this.committed.get(e.index);
    if (!known) {
      this.committed.set(e.index, e);
      this.stats.committed++;
    } else if (known.term !== e.term || known.data !== e.data) {
      this.fail(`state machine safety: ${n.id} ${how} ${JSON.stringify(e)} but ${JSON.stringify(known)} is committed there`);
    }
  }

  private checkConverged(): void {
    const leader = this.currentLeader();
    if (!leader?.node) this.fail("liveness: no leader after the faults stopped");
    const status = leader.node.status();
    if (status.commit !== status.lastIndex) {
      this.fail(`liveness: leader ${leader.id} has commit ${status.commit} < last index ${status.lastIndex}`);
    }
    for (const id of [...status.config.voters, ...status.config.learners]) {
      const n = this.nodes.get(id);
      if (!n?.node) this.fail(`liveness: member ${id} is not running`);
      if (n.applied !== status.commit) this.fail(`liveness: ${id} applied ${n.applied}, leader committed ${status.commit}`);
    }
  }

  private checkHistory(): void {
    // A write the client gave up on either took effect when a member first
    // applied it (so it completed by then, with the result computed there) or,
    // the cluster having converged, never will. Knowing this keeps the search
    // small; leaving such writes open-ended would also be correct, only slower.
    for (const p of this.unresolved) {
      const applied = this.firstApplied.get(p.commandId);
      if (applied) this.record(p, applied.output, applied.at);
    }
    const result = checkLinearizability(kvModel, this.history);
    if (result.linearizable !== true) {
      const ops = result.part.map((o) => `${o.client} ${o.op} ${JSON.stringify(o.input)} -> ${JSON.stringify(o.output)} [${o.call}, ${o.return}]`);
      this.fail(`history is ${result.linearizable === false ? "not linearizable" : "too hard to check"}:\n${ops.join("\n")}`);
    }
  }

  private log(line: string): void {
    this.trace.push(`t=${this.now} ${line}`);
    if (this.trace.length > 400) this.trace.splice(0, 100);
  }

  private fail(message: string): never {
    throw new SimulationFailure(`${message}\nparameters: ${this.describe()}\nlast events:\n${this.trace.slice(-60).join("\n")}`);
  }
}

function describeMessage(m: Message): string {
  const parts = [`${m.type} ${m.from}->${m.to} t${m.term}`];
  if (m.index !== undefined) parts.push(`i${m.index}`);
  if (m.logTerm !== undefined) parts.push(`lt${m.logTerm}`);
  if (m.entries?.length) parts.push(`[${m.entries.map((e) => `${e.index}:${e.term}`).join(",")}]`);
  if (m.commit !== undefined) parts.push(`c${m.commit}`);
  if (m.reject) parts.push(`reject hint ${m.rejectHint}`);
  if (m.chunk) parts.push(`chunk ${m.chunk.meta.index}@${m.chunk.offset}/${m.chunk.total}`);
  if (m.context) parts.push(`ctx ${m.context}`);
  return parts.join(" ");
}

function shuffle<T>(items: T[], rng: Random): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
}
