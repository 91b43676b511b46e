/**
 * A deterministic cluster simulator running the production Raft driver
 * (src/server/driver.ts): the same Ready loop, persistence order, lazy
 * commit-index writes, group commit, waiters, ReadIndex rounds and
 * forwarding that each Durable Object runs, over in-memory storage, a
 * simulated network and a virtual clock.
 *
 * Everything is driven by one seeded generator: message delays (which also
 * reorder), drops, duplicates, partitions, crashes and restarts, membership
 * changes, leader transfers and client operations. Each member's storage (a
 * MemoryStorage) is its disk; its driver, state machine, timers and pending
 * requests are its memory and vanish in a crash. A crash may also strike
 * inside a storage transaction, before it writes anything: after the
 * Ready's early messages left, before what it promises is durable.
 *
 * Most schedules let the cluster go quiet (quiescence, see driver.ts):
 * clients fall silent now and then, faults or not, so members quiesce, wake,
 * crash while quiet and resume from their marks.
 *
 * Checked as it runs: Raft's safety properties (safety.ts), and that no
 * member ever shows a client an older state than it showed before, across
 * its restarts (what `caughtUp` protects). After the faults stop the cluster
 * must converge (liveness), go quiet once the clients stop (when the schedule
 * quiesces), and the history of writes and quorum reads must be linearizable.
 */
import { MemoryStorage, bootstrap, decodeConfigEntry, members, seededRandom } from "../../../src/raft/index.ts";
import type { ClusterConfig, ConfigChange, Entry, Message, Random, RaftOptions } from "../../../src/raft/index.ts";
import { RaftDriver, type DriverHooks, type DriverHost, type DriverOptions, type DriverStorage, type QuiescenceMark, type StateMachine } from "../../../src/server/driver.ts";
import { RaftError } from "../../../src/server/raft-error.ts";
import { checkLinearizability } from "../linearizability.ts";
import { KvStateMachine, kvModel, type KvApplied, type KvInput, type KvOperation, type KvOutput } from "./kv.ts";
import { KvService, type ReadAnswer, type WriteAnswer } from "./kv-service.ts";
import { Network, plain } from "./network.ts";
import { SafetyChecker } from "./safety.ts";

/** Builds a member's driver; the planted-bug tests pass drivers with a defect. */
export type DriverFactory = (
  storage: DriverStorage,
  state: StateMachine<KvApplied>,
  host: DriverHost,
  options: DriverOptions,
  hooks: DriverHooks<KvApplied>,
) => RaftDriver<KvApplied>;

export interface SimParams {
  seed: number;
  /** Founding voters. */
  nodes: number;
  /** Time units with faults; a tick happens every TICK units. */
  faultyTime: number;
  /** Time units without faults at the end, in which the cluster must converge. */
  settleTime: number;
  verbose?: boolean;
  driver?: DriverFactory;
}

export class SimulationFailure extends Error {}

/** A crash that follows a member's going quiet or waking strikes within this long. */
const QUIET_CRASH_WITHIN = 300;

/** Thrown by a member's storage to crash it inside a transaction. */
class Crash extends Error {}

const TICK = 10;
/** Virtual milliseconds per time unit: a tick is 100 ms, as in production. */
const MS_PER_UNIT = 10;
const KEYS = ["x", "y"];
const CLIENTS = 3;
/** As in production: 5 s for a proposal, a little more for a forwarded call, and clients wait for either. */
const REQUEST_TIMEOUT = 500;
const FORWARD_TIMEOUT = 600;
const OP_TIMEOUT = 700;

interface SimNode {
  id: string;
  index: number;
  storage: CrashingStorage;
  alive: boolean;
  /** Bumped at every start: timers, calls and sends of an earlier life are void. */
  incarnation: number;
  driver: RaftDriver<KvApplied> | undefined;
  kv: KvStateMachine;
  service: KvService | undefined;
  deferred: (() => void)[];
  restartAt: number;
  tickPhase: number;
  retired: boolean;
  /** The highest index this member has applied, over all its lives (see served). */
  reached: number;
  /** When a crash planned while it went quiet or woke strikes (Infinity: none). */
  crashAt: number;
}

interface Timer {
  node: SimNode;
  incarnation: number;
  fn: () => void;
  cancelled: boolean;
}

interface Client {
  slot: number;
  generation: number;
  id: string;
  pending: PendingOp | undefined;
  nextActionAt: number;
  leaderHint: string;
}

interface PendingOp {
  client: Client;
  input: KvInput;
  call: number;
  deadline: number;
  commandId: string;
}

export interface SimStats {
  operations: number;
  defaultReads: number;
  committed: number;
  leaders: number;
  crashes: number;
  /** Crashes planned when a member went quiet or woke. */
  quietCrashes: number;
  /** Times a member went quiet. */
  quiescences: number;
  /** Times a leader went quiet leaving laggards behind (members down or cut off). */
  laggardQuiescences: number;
  /** Times such a leader was woken to retry them. */
  laggardRetries: number;
  configChanges: number;
  snapshotsInstalled: number;
}

/** MemoryStorage as a disk whose transactions a crash can cut off before they write. */
class CrashingStorage extends MemoryStorage implements DriverStorage {
  crashRate = 0;
  crashed = false;
  private quiet: QuiescenceMark | null = null;

  quiescence(): QuiescenceMark | null {
    return this.quiet;
  }

  setQuiescence(mark: QuiescenceMark | null): void {
    this.quiet = mark && { ...mark };
  }

  constructor(private readonly rng: Random) {
    super();
  }

  transaction(write: () => void): void {
    if (this.crashRate > 0 && this.rng() < this.crashRate) {
      this.crashed = true;
      throw new Crash("crash inside a storage transaction");
    }
    write();
  }
}

export class Simulation {
  private readonly rng: Random;
  private readonly nodes = new Map<string, SimNode>();
  private readonly network: Network;
  private readonly timers = new Map<number, Timer[]>();
  private now = 0;
  private clock = 0;
  private readonly trace: string[] = [];
  private readonly clients: Client[] = [];
  private readonly history: KvOperation[] = [];
  /** Writes whose outcome the client never learned; resolved at the end (see checkHistory). */
  private readonly unresolved: PendingOp[] = [];
  /** When each command first took effect on any member, and its result. */
  private readonly firstApplied = new Map<string, { output: KvOutput; at: number }>();
  private readonly safety: SafetyChecker;
  private nextCommandId = 0;
  private failure: SimulationFailure | undefined;

  private readonly nemesisRate: number;
  private readonly crashInReadyRate: number;
  private readonly membership: boolean;
  private readonly compactAfter: number;
  private readonly raftOptions: Omit<RaftOptions, "id" | "seed">;
  private readonly maxDelay: number;
  private readonly quiesce: DriverOptions["quiesce"];
  /** Clients are silent until then (a lull in which the cluster may go quiet). */
  private lullUntil = 0;
  private readonly lullRate: number;
  /** How often going quiet or waking plans a crash soon after. */
  private readonly quietCrashRate: number;
  private faulty = true;
  private readonly description: string;
  private nodeCounter = 0;
  private readonly makeDriver: DriverFactory;

  readonly stats: SimStats = { operations: 0, defaultReads: 0, committed: 0, leaders: 0, crashes: 0, quietCrashes: 0, quiescences: 0, laggardQuiescences: 0, laggardRetries: 0, configChanges: 0, snapshotsInstalled: 0 };

  constructor(private readonly params: SimParams) {
    this.rng = seededRandom(params.seed);
    const r = this.rng;
    this.maxDelay = 2 + Math.floor(r() * 28);
    this.network = new Network(r, this.maxDelay, { dropRate: r() * 0.1, dupRate: r() * 0.05 });
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
      commitNotices: r() < 0.5,
      preVote: features < 0.8 || r() < 0.5,
      checkQuorum: features < 0.8 || r() < 0.5,
    };
    this.quiesce = r() < 0.75 ? { afterTicks: 2 + Math.floor(r() * 10), marginMs: 0, laggardRetryMs: MS_PER_UNIT * TICK * (20 + Math.floor(r() * 60)) } : undefined;
    this.lullRate = this.quiesce ? 1 / (100 + r() * 400) : 0;
    this.quietCrashRate = this.quiesce ? [0, 0.2, 0.5][Math.floor(r() * 3)] : 0;
    this.makeDriver = params.driver ?? ((...args) => new RaftDriver(...args));
    this.safety = new SafetyChecker(
      (message) => this.fail(message),
      (line) => this.log(line),
    );
    this.description = JSON.stringify({
      nodes: params.nodes,
      maxDelay: this.maxDelay,
      dropRate: +this.network.faults.dropRate.toFixed(3),
      dupRate: +this.network.faults.dupRate.toFixed(3),
      membership: this.membership,
      compactAfter: this.compactAfter,
      crashInReadyRate: this.crashInReadyRate,
      quiesceAfterTicks: this.quiesce?.afterTicks ?? null,
      laggardRetryMs: this.quiesce?.laggardRetryMs ?? null,
      quietCrashRate: this.quietCrashRate,
      ...this.raftOptions,
    });
    const founders: string[] = [];
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
    const committed = [...this.safety.committed.values()].map((e) => `${e.index}:${e.term}`).join(",");
    return `${committed}|${JSON.stringify(this.history)}|${JSON.stringify(this.stats)}`;
  }

  /** The schedule's fault settings (as drawn from the seed, before the final heal). */
  describe(): string {
    return this.description;
  }

  async run(): Promise<SimStats> {
    const end = this.params.faultyTime + this.params.settleTime;
    for (this.now = 0; this.now < end; this.now++) {
      if (this.now === this.params.faultyTime) this.healAll();
      this.network.deliverDue(this.now);
      this.fireTimers();
      for (const n of this.nodes.values()) {
        if (n.alive && n.crashAt <= this.now) {
          this.stats.quietCrashes++;
          this.crash(n, "(planned while it went quiet or woke)");
        }
        // The host's alarm for a leader quiet with laggards: it wakes to retry them.
        const retryAt = n.alive ? n.driver!.laggardRetryAt() : null;
        if (retryAt !== null && retryAt <= this.now * MS_PER_UNIT) {
          this.stats.laggardRetries++;
          this.log(`${n.id} wakes to retry the members it left behind`);
          this.guard(n, () => n.driver!.wake());
        }
        if (n.alive && (this.now + n.tickPhase) % TICK === 0) this.guard(n, () => n.driver!.tick());
        if (!n.alive && !n.retired && n.restartAt <= this.now) this.start(n);
      }
      if (this.rng() < this.lullRate) this.lull();
      const clientsActive = this.now < this.params.faultyTime + this.params.settleTime / 2 && this.now >= this.lullUntil;
      for (const c of this.clients) this.clientStep(c, clientsActive);
      if (this.faulty && this.rng() < this.nemesisRate) this.nemesis();
      await this.settle();
      if (this.failure) throw this.failure;
    }
    this.checkConverged();
    this.checkQuiesced();
    this.checkHistory();
    this.stats.committed = this.safety.committed.size;
    this.stats.leaders = this.safety.leaders;
    return this.stats;
  }

  // ---- members -------------------------------------------------------------

  private addNode(id: string): SimNode {
    const n: SimNode = {
      id,
      index: this.nodes.size,
      storage: new CrashingStorage(this.rng),
      alive: false,
      incarnation: 0,
      driver: undefined,
      kv: new KvStateMachine(),
      service: undefined,
      deferred: [],
      restartAt: Infinity,
      tickPhase: Math.floor(this.rng() * TICK),
      retired: false,
      reached: 0,
      crashAt: Infinity,
    };
    this.nodes.set(id, n);
    return n;
  }

  /** Boots or reboots a member from what its storage holds. */
  private start(n: SimNode): void {
    n.incarnation++;
    n.alive = true;
    n.restartAt = Infinity;
    n.deferred = [];
    n.kv = new KvStateMachine();
    n.storage.crashRate = this.faulty ? this.crashInReadyRate : 0;
    const incarnation = n.incarnation;
    const host: DriverHost = {
      now: () => this.now * MS_PER_UNIT,
      setTimer: (fn, ms) => this.setTimer(n, incarnation, fn, ms),
      defer: (fn) => n.deferred.push(fn),
      send: (messages) => this.sendFrom(n, incarnation, messages),
      // What failed is rethrown to `guard`, which crashes the member (a Crash) or fails the run.
      fail: () => {},
    };
    const options: DriverOptions = {
      id: n.id,
      seed: (this.params.seed * 7919 + n.index * 104729 + n.incarnation * 15485863) >>> 0,
      raft: this.raftOptions,
      requestTimeoutMs: REQUEST_TIMEOUT * MS_PER_UNIT,
      leaderWaitMs: 100 * MS_PER_UNIT,
      leaderPollMs: 5 * MS_PER_UNIT,
      snapshotEvery: this.compactAfter,
      groupCommit: { minBatch: 3, waitMs: 1 },
      quiesce: this.quiesce,
    };
    this.log(`${n.id} starts (commit ${n.storage.hardState().commit}, last ${n.storage.lastIndex()})`);
    this.safety.started(n.id, n.storage.snapshot().meta.index);
    this.guard(n, () => {
      n.driver = this.makeDriver(n.storage, n.kv, host, options, this.hooksFor(n));
      n.service = new KvService(n.driver, n.kv, (peer, call) => this.call(n, incarnation, peer, call), FORWARD_TIMEOUT * MS_PER_UNIT);
      n.service.onServed = (index) => this.served(n, index);
    });
  }

  private hooksFor(n: SimNode): DriverHooks<KvApplied> {
    return {
      quiescenceChanged: (quiescent) => {
        if (quiescent) this.stats.quiescences++;
        if (quiescent && n.driver?.laggardRetryAt() != null) this.stats.laggardQuiescences++;
        // Quiet spells are short next to a run: crashes are aimed at them,
        // while quiet (resuming from the mark) and just after waking (a
        // mark that must be gone, with the log moving on past it).
        if (this.faulty && this.rng() < this.quietCrashRate) n.crashAt = Math.min(n.crashAt, this.now + 1 + Math.floor(this.rng() * QUIET_CRASH_WITHIN));
        this.log(`${n.id} ${quiescent ? "goes quiet" : "wakes"}`);
      },
      persisted: (rd) => {
        if (rd.snapshot) this.stats.snapshotsInstalled++;
        this.safety.persisted(n.id, n.storage, rd);
      },
      applied: (e, result) => this.applied(n, e, result),
    };
  }

  private applied(n: SimNode, e: Entry, result: KvApplied): void {
    this.safety.applied(n.id, e);
    n.reached = Math.max(n.reached, e.index);
    if (e.type === "config") {
      this.log(`${n.id} applies config ${e.index}: ${e.data}`);
      const { change } = decodeConfigEntry(e.data);
      // Once faults stop, an operator shuts removed members down: without
      // pre-vote or check-quorum a removed member that never learned of its
      // removal would keep forcing elections (thesis §4.2.3).
      if (!this.faulty && change?.type === "removeNode") this.retire(this.nodes.get(change.node));
    }
    if (result.command && result.output && !this.firstApplied.has(result.command.id)) {
      this.firstApplied.set(result.command.id, { output: result.output, at: ++this.clock });
    }
  }

  private retire(n: SimNode | undefined): void {
    if (!n || n.retired) return;
    this.stop(n);
    n.retired = true;
    this.log(`${n.id} retires`);
  }

  private crash(n: SimNode, why: string, downFor = 20 + Math.floor(this.rng() * 400)): void {
    this.stop(n);
    n.restartAt = this.now + downFor;
    this.stats.crashes++;
    this.log(`${n.id} crashes ${why}`);
  }

  /** Memory is lost: the driver, its timers, deferred work and pending requests. */
  private stop(n: SimNode): void {
    n.alive = false;
    n.driver = undefined;
    n.service = undefined;
    n.deferred = [];
    n.storage.crashed = false;
    n.crashAt = Infinity;
  }

  /**
   * Runs `fn` on a live member; a crash inside a storage transaction stops
   * the member there. Anything else thrown is a failure of the run: the Raft
   * core throws when it finds its own invariants broken (a lost log, say).
   */
  private guard(n: SimNode, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (err instanceof SimulationFailure) throw err;
      if (!(err instanceof Crash)) this.fail(`${n.id} threw: ${(err as Error).stack ?? String(err)}`);
    }
    if (n.storage.crashed) this.crash(n, "inside a storage transaction");
  }

  /** Lets promise continuations and deferred work run, until nothing is left. */
  private async settle(): Promise<void> {
    for (let round = 0; round < 16; round++) {
      for (let k = 0; k < 4; k++) await null;
      let ran = false;
      for (const n of this.nodes.values()) {
        if (n.storage.crashed) this.crash(n, "inside a storage transaction");
        while (n.alive && n.deferred.length > 0) {
          ran = true;
          const fn = n.deferred.shift()!;
          this.guard(n, fn);
        }
      }
      if (!ran) return;
    }
  }

  // ---- time and network ----------------------------------------------------

  private setTimer(n: SimNode, incarnation: number, fn: () => void, ms: number): () => void {
    const timer: Timer = { node: n, incarnation, fn, cancelled: false };
    const at = this.now + Math.max(1, Math.ceil(ms / MS_PER_UNIT));
    const bucket = this.timers.get(at);
    if (bucket) bucket.push(timer);
    else this.timers.set(at, [timer]);
    return () => (timer.cancelled = true);
  }

  private fireTimers(): void {
    const due = this.timers.get(this.now);
    if (!due) return;
    this.timers.delete(this.now);
    for (const t of due) {
      if (!t.cancelled && this.isLive(t.node, t.incarnation)) this.guard(t.node, t.fn);
    }
  }

  private isLive(n: SimNode, incarnation: number): boolean {
    return n.alive && n.incarnation === incarnation;
  }

  private sendFrom(n: SimNode, incarnation: number, messages: Message[]): void {
    if (!this.isLive(n, incarnation)) return;
    this.network.sendMessages(this.now, messages, (m) => this.deliver(m));
  }

  private deliver(m: Message): void {
    const n = this.nodes.get(m.to);
    if (!n?.alive) return;
    if (this.params.verbose) this.log(`deliver ${describeMessage(m)}`);
    // In production a message arrives either in a peer's call, answered
    // with the messages it produced for that peer (receive), or in the
    // answer to a call of ours (deliver); both paths run here. Answers
    // travel back as messages.
    const incarnation = n.incarnation;
    if (this.rng() < 0.5) this.guard(n, () => n.driver!.deliver([m]));
    else this.guard(n, () => this.sendFrom(n, incarnation, n.driver!.receive([m])));
  }

  /**
   * A call from one member's service to another's (forwarding), over the
   * network both ways. A lost request or answer leaves the caller waiting:
   * its own timeout decides, as in production.
   */
  private call<T>(from: SimNode, incarnation: number, to: string, fn: (service: KvService) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.network.sendCall(this.now, from.id, to, () => {
        const target = this.nodes.get(to);
        if (!target?.alive || !target.service) return;
        const answer = (settle: () => void) => {
          this.network.sendCall(this.now, to, from.id, () => {
            if (this.isLive(from, incarnation)) settle();
          });
        };
        fn(target.service).then(
          (value) => answer(() => resolve(plain(value))),
          (err: unknown) => answer(() => reject(err)),
        );
      });
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
    // Mostly follow the leader hint, sometimes look around (the hinted
    // leader may be stuck in a minority).
    const hinted = this.rng() < 0.7 ? this.nodes.get(c.leaderHint) : undefined;
    const n = hinted?.alive ? hinted : this.randomLiveNode();
    if (!n?.service) return;
    if (roll < 0.25) return this.defaultRead(c, n, key);
    if (roll < 0.45) {
      const op = this.begin(c, { kind: "read", key }, `r${this.nextCommandId}`);
      const answered = n.service.read(key, true);
      answered.then(
        (a: ReadAnswer) => this.complete(op, { kind: "read", value: a.value }),
        (err: unknown) => this.failed(op, err),
      );
      return;
    }
    const input: KvInput =
      roll < 0.75 ? { kind: "put", key, value } : { kind: "cas", key, expected: this.guessValue(key), value };
    const op = this.begin(c, input, `w${this.nextCommandId}`);
    n.service.write({ id: op.commandId, input }).then(
      (a: WriteAnswer) => {
        c.leaderHint = a.member;
        this.complete(op, a.output);
      },
      (err: unknown) => this.failed(op, err),
    );
  }

  /** A default read: not linearizable, but never older than what its member reached before (checked in `served`). */
  private defaultRead(c: Client, n: SimNode, key: string): void {
    c.nextActionAt = this.now + 1 + Math.floor(this.rng() * 10);
    n.service!.read(key, false).then(
      () => this.stats.defaultReads++,
      (err: unknown) => {
        if (!(err instanceof RaftError || err instanceof SimulationFailure)) this.report(`${c.id} default read: the service failed: ${String(err)}`);
      },
    );
  }

  /**
   * A member must never serve a read older than a state it reached before,
   * in this life or an earlier one: it may have answered a client from that
   * state. (Applying an entry settles the answer to the write proposed there.)
   */
  private served(n: SimNode, index: number): void {
    if (index < n.reached) this.fail(`${n.id} served a read at index ${index} after it had applied ${n.reached}: a restarted member went back in time`);
    n.reached = index;
  }

  /** A plausible current value, so that some compare-and-swaps succeed. */
  private guessValue(key: string): string | null {
    const live = [...this.nodes.values()].filter((n) => n.alive);
    return live.length > 0 && this.rng() < 0.8 ? live[Math.floor(this.rng() * live.length)].kv.get(key) : null;
  }

  private begin(c: Client, input: KvInput, commandId: string): PendingOp {
    const op: PendingOp = { client: c, input, call: ++this.clock, deadline: this.now + OP_TIMEOUT, commandId };
    c.pending = op;
    return op;
  }

  private complete(p: PendingOp, output: KvOutput): void {
    if (p.client.pending !== p) return; // the client gave up on it already
    this.record(p, output, ++this.clock);
    p.client.pending = undefined;
    p.client.nextActionAt = this.now + Math.floor(this.rng() * 10);
    this.stats.operations++;
  }

  /**
   * A refusal that reached no log (retryable) had no effect; any other
   * failure leaves a write's outcome unknown. Either way the client moves on.
   */
  private failed(p: PendingOp, err: unknown): void {
    // The service answers every Raft-level failure as a RaftError (etcd's
    // error 300); anything else would reach the client as a 500.
    if (!(err instanceof RaftError || err instanceof SimulationFailure)) this.report(`${p.client.id} ${p.input.kind}: the service failed: ${String(err)}`);
    if (p.client.pending !== p) return;
    if (!(err instanceof RaftError && err.retryable) && p.input.kind !== "read") {
      this.unresolved.push(p);
      return this.renewClient(p.client);
    }
    p.client.pending = undefined;
    p.client.nextActionAt = this.now + 3;
  }

  /** After an unknown outcome the client starts afresh under a new identity. */
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
    if (roll < 0.05) {
      // Every member at once, as a deploy restarts every Durable Object:
      // for an election timeout nobody knows the commit index.
      for (const n of this.nodes.values()) if (n.alive) this.crash(n, "(everyone restarts)", 20 + Math.floor(this.rng() * 40));
    } else if (roll < 0.2) {
      // Crashing leaders is what exercises the recovery paths (Figure 8).
      const leader = this.rng() < 0.5 ? this.currentLeader() : undefined;
      const live = [...this.nodes.values()].filter((n) => n.alive);
      const victim = leader ?? live[Math.floor(this.rng() * live.length)];
      if (victim) this.crash(victim, "(nemesis)");
    } else if (roll < 0.4) {
      // Half the time, cut the leader off: a deposed leader that has not
      // noticed yet is where stale reads and lost writes would come from.
      const leader = this.rng() < 0.5 ? this.currentLeader() : undefined;
      const sides = new Map<string, number>();
      for (const id of this.nodes.keys()) sides.set(id, leader ? (id === leader.id ? 1 : 0) : this.rng() < 0.5 ? 0 : 1);
      this.network.partitionInto(sides);
      this.log(`partition ${this.network.describePartition()}`);
    } else if (roll < 0.55) {
      this.network.heal();
      this.log("heal");
    } else if (roll < 0.65) {
      const leader = this.currentLeader();
      if (!leader) return;
      this.log(`${leader.id} hands leadership over`);
      leader.driver!.handOverLeadership().catch(() => {});
    } else if (this.membership) {
      this.changeMembership();
    }
  }

  private changeMembership(): void {
    const leader = this.currentLeader();
    if (!leader?.driver) return;
    const config = leader.driver.status().config;
    const roll = this.rng();
    let change: ConfigChange;
    if (roll < 0.35 && this.nodes.size < 9) {
      const n = this.addNode(`n${++this.nodeCounter}`);
      this.start(n);
      change = { type: "addLearner", node: n.id };
    } else if (roll < 0.7 && config.learners.length > 0) {
      change = { type: "addVoter", node: config.learners[Math.floor(this.rng() * config.learners.length)] };
    } else {
      const candidates = config.voters.length > 3 ? [...config.voters, ...config.learners] : config.learners;
      if (candidates.length === 0) return;
      change = { type: "removeNode", node: candidates[Math.floor(this.rng() * candidates.length)] };
    }
    this.log(`${leader.id} proposes ${JSON.stringify(change)}`);
    leader.driver.proposeConfigChange(change).then(
      () => this.stats.configChanges++,
      () => {},
    );
  }

  private healAll(): void {
    this.faulty = false;
    this.network.heal();
    this.network.faults.dropRate = 0;
    this.network.faults.dupRate = 0;
    for (const n of this.nodes.values()) {
      n.storage.crashRate = 0;
      n.crashAt = Infinity;
    }
    // Members whose removal is committed leave for good; the rest (including
    // nodes whose addition may still commit) come back.
    const config = this.committedConfig();
    const everMember = new Set<string>();
    for (const e of this.safety.committed.values()) {
      if (e.type === "config") for (const id of members(decodeConfigEntry(e.data).config)) everMember.add(id);
    }
    for (const n of this.nodes.values()) {
      if (everMember.has(n.id) && !members(config).includes(n.id)) this.retire(n);
      else if (!n.alive) this.start(n);
    }
    this.log(`heal all; members ${JSON.stringify(config)}`);
  }

  private committedConfig(): ClusterConfig {
    const indexes = [...this.safety.committed.keys()].sort((a, b) => b - a);
    for (const i of indexes) {
      const e = this.safety.committed.get(i)!;
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
      const s = n.driver?.status();
      if (s?.role === "leader" && s.term > bestTerm) {
        best = n;
        bestTerm = s.term;
      }
    }
    return best;
  }

  private randomLiveNode(): SimNode | undefined {
    const live = [...this.nodes.values()].filter((n) => n.alive);
    return live.length > 0 ? live[Math.floor(this.rng() * live.length)] : undefined;
  }

  /** Clients fall silent for long enough that the cluster may go quiet. */
  private lull(): void {
    const units = 50 + Math.floor(this.rng() * 250);
    this.lullUntil = Math.max(this.lullUntil, this.now + units);
    this.log(`clients fall silent for ${units}`);
  }

  // ---- final checks --------------------------------------------------------

  private checkConverged(): void {
    const leader = this.currentLeader();
    if (!leader?.driver) this.fail("liveness: no leader after the faults stopped");
    const status = leader.driver.status();
    if (status.commit !== status.lastIndex) {
      this.fail(`liveness: leader ${leader.id} has commit ${status.commit} < last index ${status.lastIndex}`);
    }
    for (const id of [...status.config.voters, ...status.config.learners]) {
      const n = this.nodes.get(id);
      if (!n?.driver) this.fail(`liveness: member ${id} is not running`);
      if (n.driver.applied !== status.commit) this.fail(`liveness: ${id} applied ${n.driver.applied}, leader committed ${status.commit}`);
    }
  }

  /** Once the clients stopped (half the settle time), a quiescing cluster must have gone quiet: every member. */
  private checkQuiesced(): void {
    if (!this.quiesce) return;
    const config = this.currentLeader()!.driver!.status().config;
    for (const id of [...config.voters, ...config.learners]) {
      if (!this.nodes.get(id)!.driver!.quiescent) this.fail(`quiescence: ${id} is still awake ${this.params.settleTime / 2} units after the clients stopped`);
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
    throw this.report(message);
  }

  /**
   * Records a failure of the run. Checks also run inside promise
   * continuations, where a throw would only reject a client's promise: the
   * first failure is kept, and the run loop rethrows it.
   */
  private report(message: string): SimulationFailure {
    this.failure ??= new SimulationFailure(`${message}\nparameters: ${this.describe()}\nlast events:\n${this.trace.slice(-60).join("\n")}`);
    return this.failure;
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
