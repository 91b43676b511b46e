/**
 * A replica: one Durable Object, one Raft member of one cluster. A thin
 * shell: it wires the runtime-agnostic driver and services (src/server) to
 * SQLite, DO RPC, timers and the alarm, and answers RPC by delegating.
 *
 * The Durable Object's output gate holds every outgoing RPC and reply until
 * the SQLite writes before it are durable. The driver relies on this for the
 * acknowledgements that ride back on a peer's step() call: they leave only
 * once what they acknowledge is on disk.
 *
 * Time: a timer ticks Raft while the object is in memory, and the alarm wakes
 * the object again after an eviction (production evicts idle objects even
 * with a timer pending).
 */
import { DurableObject } from "cloudflare:workers";
import { bootstrap, type Message } from "../raft/index.ts";
import { config, type Env } from "../env.ts";
import type {
  BatchedKeysReply,
  FollowerStats,
  KeysReply,
  MemberChange,
  ReplicaApi,
  ReplicaRole,
  ReplicaStatus,
  ReplicaStub,
  StepAnswer,
  V3MemberStatus,
  V3Reply,
  V3Request,
} from "../server/api.ts";
import { systemClock } from "../server/clock.ts";
import { RaftDriver, type DriverHost } from "../server/driver.ts";
import { clusterId } from "../server/identity.ts";
import { KeysService } from "../server/keys-service.ts";
import { foundingMembers, parseReplicaName, replicaName, sortedMembers } from "../server/members.ts";
import { MembersService } from "../server/members-service.ts";
import type { MemberMetrics } from "../server/metrics.ts";
import { ReplicaState, type EntryResult } from "../server/state.ts";
import { V3Service } from "../server/v3-service.ts";
import { watchStream, type WatchTimers } from "../server/v3-watch.ts";
import { idToDecimal } from "../v3/gateway-json.ts";
import type { KeysRequest } from "../v2/request.ts";
import type { StoreStats } from "../v2/stats.ts";
import { SqliteMvccBackend } from "./mvcc-sqlite.ts";
import { SqliteRaftStorage } from "./raft-storage.ts";
import { Transport, type PeerStats } from "./transport.ts";

export const TICK_MS = 100;
/** How long a write or quorum read may wait to commit before etcd's "request timed out". */
export const REQUEST_TIMEOUT_MS = 5000;
/** The alarm re-arms itself this often, to restart ticking after an eviction. */
const WATCHDOG_MS = 5000;
/** A new v3 watcher gets its history this long after it is created (etcd syncs watchers every 100 ms). */
const WATCH_SYNC_MS = 10;
/** Set once a peer has said this replica was removed from the cluster (see isRemoved). */
const REMOVED_KEY = "removed";

const ROLE_NAMES: Record<string, ReplicaRole> = {
  leader: "StateLeader",
  follower: "StateFollower",
  candidate: "StateCandidate",
  "pre-candidate": "StatePreCandidate",
};

export class Replica extends DurableObject<Env> implements ReplicaApi {
  readonly cluster: string;
  readonly id: string;
  private storage!: SqliteRaftStorage;
  private state!: ReplicaState;
  /** The Raft driver (public so that tests inside workerd can read its status). */
  driver!: RaftDriver<EntryResult>;
  private keysService!: KeysService;
  private membersService!: MembersService;
  private v3Service!: V3Service;
  private readonly transport: Transport;
  private readonly startTime = Date.now();
  private recvAppends = 0;
  private ticker: ReturnType<typeof setInterval> | null = null;
  /** A peer said this replica was removed (kept in storage; read once, at load: every request asks). */
  private toldRemoved = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const name = ctx.id.name;
    if (!name) throw new Error("a replica must be reached by name (<cluster>/<member id>)");
    ({ cluster: this.cluster, id: this.id } = parseReplicaName(name));
    this.transport = new Transport(
      (peer) => this.peer(peer),
      (replies) => this.driver.deliver(this.accepted(replies)),
      () => this.learnRemoved(),
    );
    ctx.blockConcurrencyWhile(async () => {
      this.load();
      await ctx.storage.setAlarm(Date.now() + WATCHDOG_MS);
    });
  }

  private load(): void {
    const sql = this.ctx.storage.sql;
    this.storage = new SqliteRaftStorage(this.ctx.storage);
    this.toldRemoved = this.ctx.storage.kv.get<boolean>(REMOVED_KEY) === true;
    sql.exec(`CREATE TABLE IF NOT EXISTS replica_fault (peer TEXT PRIMARY KEY)`);
    for (const row of sql.exec<{ peer: string }>(`SELECT peer FROM replica_fault`)) this.transport.blocked.add(row.peer);

    const settings = config(this.env);
    let campaign = false;
    if (this.storage.lastIndex() === 0 && this.storage.hardState().term === 0) {
      // A founding member starts with the founding config; a member added
      // later starts empty and learns everything from the leader.
      const founders = foundingMembers(this.cluster, settings.clusterSize);
      if (founders.some((m) => m.id === this.id)) {
        this.storage.transaction(() => bootstrap(this.storage, founders.map((m) => m.id)));
        // The first founder stands for election at once instead of waiting
        // out an election timeout, so a new cluster answers sooner.
        campaign = founders[0].id === this.id;
      }
    }
    const host: DriverHost = {
      ...systemClock,
      defer: (fn) => queueMicrotask(fn),
      send: (messages) => this.transport.send(messages),
    };
    this.state = new ReplicaState(this.cluster, new SqliteMvccBackend(this.ctx.storage));
    this.driver = new RaftDriver(
      this.storage,
      this.state,
      host,
      {
        id: this.id,
        seed: crypto.getRandomValues(new Uint32Array(1))[0],
        raft: { electionTicks: 10 },
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        leaderWaitMs: 3000,
        leaderPollMs: TICK_MS / 2,
        snapshotEvery: settings.snapshotEvery,
        groupCommit: { minBatch: 3, waitMs: 1 },
        campaign,
      },
      {
        leaderTick: (now) => {
          this.keysService.expireTTLs(now);
          this.v3Service.leases.expire(now);
        },
        roleChanged: (role) => this.v3Service?.leases.roleChanged(role),
        applied: (entry) => {
          if (entry.type === "config" && this.isRemoved()) this.stop();
        },
      },
    );
    const removed = () => this.isRemoved();
    this.keysService = new KeysService(this.driver, this.state, (leader, req) => this.peer(leader).keys(req), REQUEST_TIMEOUT_MS + 1000, removed);
    this.membersService = new MembersService(this.cluster, this.driver, this.state, (leader) => this.peer(leader), removed);
    this.v3Service = new V3Service(this.driver, this.state, (leader, req) => this.peer(leader).v3(req), REQUEST_TIMEOUT_MS + 1000, removed);
    this.startTicking();
  }

  /**
   * Whether this replica was removed from its cluster: it applied its own
   * removal, or a peer told it so. A removed member usually never learns of
   * its removal through Raft (the leader stops replicating to it once the
   * change commits), so peers answer its messages with a refusal, as etcd's
   * peers answer a removed member with 410 Gone; it then stops for good.
   */
  private isRemoved(): boolean {
    return this.toldRemoved || this.state.isRemoved(this.id);
  }

  private learnRemoved(): void {
    if (this.toldRemoved) return;
    this.toldRemoved = true;
    this.ctx.storage.kv.put(REMOVED_KEY, true);
    this.stop();
  }

  private startTicking(): void {
    if (this.ticker || this.isRemoved()) return;
    this.ticker = setInterval(() => this.driver.tick(), TICK_MS);
  }

  private stop(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    void this.ctx.storage.deleteAlarm();
  }

  /** The watchdog: re-arms itself, and restarts ticking after an eviction. */
  async alarm(): Promise<void> {
    this.startTicking();
    if (!this.isRemoved()) await this.ctx.storage.setAlarm(Date.now() + WATCHDOG_MS);
  }

  private peer(id: string): ReplicaStub {
    return this.env.REPLICA.getByName(replicaName(this.cluster, id));
  }

  /** The messages that fault injection lets through; appends are counted for /v2/stats/self. */
  private accepted(messages: Message[]): Message[] {
    const through = messages.filter((m) => this.transport.accepts(m.from));
    for (const m of through) if (m.type === "append") this.recvAppends++;
    return through;
  }

  // ---- RPC: from peers ----

  step(messages: Message[]): StepAnswer {
    const from = messages[0]?.from;
    if (from === undefined || !this.transport.accepts(from)) return [];
    if (this.state.isRemoved(from)) return { removed: true };
    const answer = this.driver.receive(this.accepted(messages));
    this.transport.answered(from, messages, answer);
    return answer;
  }

  // ---- RPC: from the router ----

  keys(req: KeysRequest): Promise<KeysReply> {
    return this.keysService.keys(req);
  }

  keysBatch(reqs: KeysRequest[]): Promise<BatchedKeysReply[]> {
    return this.keysService.keysBatch(reqs);
  }

  v3(req: V3Request): Promise<V3Reply> {
    return this.v3Service.call(req);
  }

  v3Watch(requests: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    const ids = { clusterId: idToDecimal(clusterId(this.cluster)), memberId: idToDecimal(this.id) };
    const progressMs = config(this.env).watchProgressNotifyMs;
    const timers: WatchTimers = {
      later: (fn) => void setTimeout(fn, WATCH_SYNC_MS),
      every: (fn) => {
        // Up to a tenth more, as etcd adds, so that streams opened together
        // (a client restarting) are not all notified in the same instant.
        const timer = setInterval(fn, progressMs + Math.floor(Math.random() * (progressMs / 10)));
        return () => clearInterval(timer);
      },
    };
    return watchStream(this.state, requests, () => ({ ...ids, raftTerm: this.driver.raftPosition().term }), timers);
  }

  v3Status(withHash: boolean): V3MemberStatus {
    return this.v3Service.status(this.ctx.storage.sql.databaseSize, withHash);
  }

  cancelWatch(id: number): void {
    this.keysService.cancelWatch(id);
  }

  addMember(peerURLs: string[]): Promise<MemberChange> {
    return this.membersService.addMember(peerURLs);
  }

  removeMember(id: string): Promise<MemberChange> {
    return this.membersService.removeMember(id);
  }

  updateMember(id: string, peerURLs: string[]): Promise<MemberChange> {
    return this.membersService.updateMember(id, peerURLs);
  }

  status(): ReplicaStatus {
    const membership = this.state.membership;
    return {
      id: this.id,
      name: membership.members.find((m) => m.id === this.id)?.name ?? "",
      clusterId: clusterId(this.cluster),
      state: ROLE_NAMES[this.driver.role],
      leader: this.driver.leader,
      startTime: this.startTime,
      leaderSince: this.driver.leaderSince,
      raft: this.driver.raftPosition(),
      members: sortedMembers(membership),
      removed: membership.removed,
      recvAppends: this.recvAppends,
      sendAppends: this.transport.sentAppends,
    };
  }

  storeStats(): StoreStats {
    return { ...this.state.store.stats };
  }

  /** Per-follower counts and latencies, or null when this replica is not the leader. */
  followerStats(): FollowerStats[] | null {
    if (this.driver.role !== "leader") return null;
    const stats = this.transport.stats();
    return this.state.membership.members
      .filter((m) => m.id !== this.id)
      .map((m) => {
        const s: PeerStats = stats.get(m.id) ?? { success: 0, fail: 0, latencies: [], sentBytes: 0, receivedBytes: 0 };
        return { id: m.id, success: s.success, fail: s.fail, latencies: [...s.latencies] };
      });
  }

  /** What this member counts, for /metrics: read only, so a scrape changes nothing. */
  metrics(): MemberMetrics {
    const peers = [...this.transport.stats()];
    const byPeer = (value: (s: PeerStats) => number) => Object.fromEntries(peers.map(([id, s]) => [id, value(s)]));
    const position = this.driver.raftPosition();
    return {
      memberId: this.id,
      leader: this.driver.leader,
      isLeader: this.driver.role === "leader",
      term: position.term,
      commitIndex: position.index,
      appliedIndex: this.driver.applied,
      leaderChanges: this.driver.counts.leaderChanges,
      proposalsPending: this.driver.pendingProposals(),
      proposalsFailed: this.driver.counts.proposalsFailed,
      dbSizeBytes: this.ctx.storage.sql.databaseSize,
      keys: this.state.liveKeys(),
      v2Watchers: this.state.store.stats.watchers,
      v3Watchers: this.state.v3Watchers,
      v3WatchStreams: this.state.v3Listeners.size,
      peerSentBytes: byPeer((s) => s.sentBytes),
      peerReceivedBytes: byPeer((s) => s.receivedBytes),
      peerSendFailures: byPeer((s) => s.fail),
    };
  }

  // ---- RPC: fault injection (the router only exposes these with DEBUG_FAULTS) ----

  /** Restarts this replica: memory is lost, storage is kept. */
  crash(): void {
    this.ctx.abort("crashed on request (fault injection)");
  }

  /** Cuts this replica off from `peers` (both directions), surviving crashes until healed. */
  isolateFrom(peers: string[]): void {
    const sql = this.ctx.storage.sql;
    sql.exec(`DELETE FROM replica_fault`);
    for (const p of peers) sql.exec(`INSERT INTO replica_fault (peer) VALUES (?)`, p);
    this.transport.blocked = new Set(peers);
  }

  /** Rows in the Raft log (tests check that compaction keeps it short). */
  logLength(): number {
    return this.storage.entryCount();
  }
}
