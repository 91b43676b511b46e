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
 * Time (the tick timer while awake, the one alarm) is replica-time.ts's.
 */
import { DurableObject } from "cloudflare:workers";
import { bootstrap, type Message } from "../raft/index.ts";
import { replicaStub } from "../placement.ts";
import { config, type Env } from "../env.ts";
import type {
  BatchedKeysReply,
  FollowerStats,
  KeysReply,
  MemberChange,
  ReplicaApi,
  ReplicaStatus,
  ReplicaStub,
  StepAnswer,
  V3MemberStatus,
  V3Reply,
  V2AuthReply,
  V2AuthRequest,
  V3Request,
} from "../server/api.ts";
import { systemClock } from "../server/clock.ts";
import { RaftDriver, type DriverHost } from "../server/driver.ts";
import { waitsForCreation } from "../server/founding.ts";
import { clusterId } from "../server/identity.ts";
import { KeysService } from "../server/keys-service.ts";
import { foundingMembers, parseReplicaName } from "../server/members.ts";
import { MembersService } from "../server/members-service.ts";
import type { MemberMetrics } from "../server/metrics.ts";
import { ReplicaState, type EntryResult } from "../server/state.ts";
import { V3Service } from "../server/v3-service.ts";
import { V2AuthService } from "../server/v2-auth-service.ts";
import { PasswordCheckBudget } from "../server/password-budget.ts";
import { VerifiedCredentials } from "../server/verified-credentials.ts";
import { idToDecimal } from "../v3/gateway-json.ts";
import type { KeysRequest } from "../v2/request.ts";
import type { StoreStats } from "../v2/stats.ts";
import { SqliteMvccBackend } from "./mvcc-sqlite.ts";
import { SqliteRaftStorage } from "./raft-storage.ts";
import { followerStats, memberMetrics, replicaStatus, type ReadoutSource } from "./readouts.ts";
import { Transport } from "./transport.ts";
import { ReplicaTime, TICK_MS } from "./replica-time.ts";
import { Usage } from "./usage.ts";
import { v2SocketWatch } from "./v2-watch-socket.ts";
import { v3SocketWatch } from "./v3-watch-socket.ts";
import { WatchSockets, type SocketWatch, type WatchSocket } from "./watch-sockets.ts";
import { WatchSpecs } from "./watch-specs.ts";
import type { WatchSocketKind } from "../server/watch-socket-protocol.ts";
import { DISK_SECONDS_BUCKETS, Histogram } from "../server/histogram.ts";

export { TICK_MS };
/** How long a write or quorum read may wait to commit before etcd's "request timed out". */
export const REQUEST_TIMEOUT_MS = 5000;
/** The leader goes quiet after this many ticks without a new entry (CockroachDB waits 6). */
const QUIESCE_AFTER_TICKS = 10;
/** ...unless a TTL or lease expires sooner than this: waking for it would cost more than staying up. */
const QUIESCE_MARGIN_MS = 1000;
/**
 * A leader quiet with a member left behind (down or cut off) wakes this
 * often to retry it: about a second awake a minute while a member is down,
 * and a member back from an outage is at most this far behind.
 */
const LAGGARD_RETRY_MS = 60_000;
/** Set once a peer has said this replica was removed from the cluster (see isRemoved). */
const REMOVED_KEY = "removed";


export class Replica extends DurableObject<Env> implements ReplicaApi {
  readonly cluster: string;
  readonly id: string;
  private storage!: SqliteRaftStorage;
  private state!: ReplicaState;
  /** The Raft driver (public so that tests inside workerd can read its status). */
  driver!: RaftDriver<EntryResult>;
  private keysService!: KeysService;
  private v2AuthService!: V2AuthService;
  private membersService!: MembersService;
  private v3Service!: V3Service;
  private readonly transport: Transport;
  private readonly startTime = Date.now();
  /** What this replica does that is billed (public so that tests inside workerd can read it). */
  readonly usage = new Usage();
  private readonly commitSeconds = new Histogram(DISK_SECONDS_BUCKETS);
  private recvAppends = 0;
  /** The tick timer and the alarm (public so that tests inside workerd can stop the timer as an eviction does). */
  readonly time: ReplicaTime;
  /** A peer said this replica was removed (kept in storage; read once, at load: every request asks). */
  private toldRemoved = false;
  /** Watches held as hibernatable WebSockets from the Worker (see watch-sockets.ts; public for tests inside workerd). */
  readonly watchSockets: WatchSockets;
  /** What each v3 watcher on a watch socket selects (see watch-specs.ts). */
  private watchSpecs!: WatchSpecs;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const name = ctx.id.name;
    if (!name) throw new Error("a replica must be reached by name (<cluster>/<member id>)");
    ({ cluster: this.cluster, id: this.id } = parseReplicaName(name));
    this.usage.meter(ctx.storage.sql);
    this.transport = new Transport(
      (peer) => this.peer(peer),
      (replies) => this.driver.deliver(this.accepted(replies)),
      () => this.learnRemoved(),
      config(env).peerDelayMs,
    );
    this.time = new ReplicaTime({
      storage: ctx.storage,
      usage: this.usage,
      driver: () => this.driver,
      removed: () => this.isRemoved(),
      nextDeadline: () => this.nextDeadline(),
    });
    this.watchSockets = new WatchSockets(ctx, (kind, socket, saved) => this.openWatch(kind, socket, saved));
    ctx.blockConcurrencyWhile(async () => {
      this.dormant = waitsForCreation(this.cluster, this.id, config(env).clusterSize) && this.holdsNothing();
      if (this.dormant) return;
      this.load();
      // Watches whose sockets outlived the object's last life go on from where they were.
      this.watchSpecs.keepOnly(this.watchSockets.revive());
      await this.time.armAlarm();
    });
  }

  // ---- creation (see src/server/founding.ts) ----

  /**
   * A founding member of a named cluster that the router has not created:
   * nothing is loaded, no timer runs, no alarm is set, nothing is written,
   * until create(). Only created() and create() may be called meanwhile.
   */
  private dormant = false;

  /** No table of ours yet: this replica never loaded, so its cluster was never created. */
  private holdsNothing(): boolean {
    const tables = this.ctx.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'`);
    return tables.one().n === 0;
  }

  /** Whether this member's cluster exists: the router asks a named cluster's first founding member. */
  created(): boolean {
    this.usage.request();
    return !this.dormant;
  }

  /** Creates this founding member: it bootstraps as the members of a self-founding cluster do. Answers whether it was new. */
  async create(): Promise<boolean> {
    this.usage.request();
    if (!this.dormant) return false;
    await this.ctx.blockConcurrencyWhile(async () => {
      this.dormant = false;
      this.load();
      await this.time.armAlarm();
    });
    return true;
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
      // Restarts the object: memory is dropped, storage kept (see RaftDriver.failed).
      fail: (err) => this.ctx.abort(`a Raft step failed, restarting from storage: ${err.message}`),
    };
    this.state = new ReplicaState(this.cluster, new SqliteMvccBackend(this.ctx.storage));
    this.watchSpecs = new WatchSpecs(sql);
    this.driver = new RaftDriver(
      this.storage,
      this.state,
      host,
      {
        id: this.id,
        seed: crypto.getRandomValues(new Uint32Array(1))[0],
        raft: { electionTicks: 10, commitNotices: false },
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        leaderWaitMs: 3000,
        leaderPollMs: TICK_MS / 2,
        snapshotEvery: settings.snapshotEvery,
        groupCommit: { minBatch: 3, waitMs: 1 },
        campaign,
        quiesce: { afterTicks: QUIESCE_AFTER_TICKS, marginMs: QUIESCE_MARGIN_MS, laggardRetryMs: LAGGARD_RETRY_MS },
      },
      {
        leaderTick: (now) => {
          this.keysService.expireTTLs(now);
          this.v3Service.leases.expire(now);
        },
        roleChanged: (role) => this.v3Service?.leases.roleChanged(role),
        nextDeadline: () => this.nextDeadline(),
        wrote: () => this.timeCommit(),
        quiescenceChanged: (quiescent) => {
          // While the driver is being built (resuming quiet), load() and the constructor do this.
          if (this.driver) this.time.quiescenceChanged(quiescent);
        },
        applied: (entry) => {
          if (entry.type === "config" && this.isRemoved()) this.time.stop();
        },
      },
    );
    const removed = () => this.isRemoved();
    // One cache of checked passwords and one budget of new checks for v2 and v3 auth alike.
    const credentials = new VerifiedCredentials(new PasswordCheckBudget(host));
    this.v2AuthService = new V2AuthService(this.driver, this.state, (leader, req) => this.peer(leader).v2Auth(req), REQUEST_TIMEOUT_MS + 1000, removed, credentials);
    const access = this.v2AuthService.access;
    this.keysService = new KeysService(this.driver, this.state, (leader, req) => this.peer(leader).keys(req), REQUEST_TIMEOUT_MS + 1000, removed, access, settings.v2StoreQuotaBytes);
    this.membersService = new MembersService(this.cluster, this.driver, this.state, (leader) => this.peer(leader), removed);
    const quota = { bytes: settings.quotaBackendBytes, used: () => this.ctx.storage.sql.databaseSize };
    this.v3Service = new V3Service(this.driver, this.state, (leader, req) => this.peer(leader).v3(req), REQUEST_TIMEOUT_MS + 1000, removed, credentials, quota, settings.authTokenTTLSeconds * 1000);
    if (!this.driver.quiescent) this.time.startTicking();
  }

  /**
   * Times a transaction until its writes are durable. Inside a Durable
   * Object the clock stands still while code runs, so the transaction itself
   * always measures 0; what takes time is the flush that the output gate
   * waits for, which sync() resolves after.
   */
  private timeCommit(): void {
    const started = Date.now();
    void this.ctx.storage.sync().then(() => this.commitSeconds.observe((Date.now() - started) / 1000));
  }

  /** The leader's next duty in time: a TTL key or a lease to expire, or (quiet) members left behind to retry. */
  private nextDeadline(): number | null {
    const times = [this.keysService.nextExpiry(), this.v3Service.leases.nextDeadline(Date.now()), this.driver.laggardRetryAt()].filter((t) => t !== null);
    return times.length ? Math.min(...times) : null;
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
    this.time.stop();
  }

  /** The alarm: see ReplicaTime.alarmRang. */
  alarm(): Promise<void> {
    return this.time.alarmRang();
  }

  private peer(id: string): ReplicaStub {
    return replicaStub(this.env, this.cluster, id);
  }

  /** The messages that fault injection lets through; appends are counted for /v2/stats/self. */
  private accepted(messages: Message[]): Message[] {
    const through = messages.filter((m) => this.transport.accepts(m.from));
    for (const m of through) if (m.type === "append") this.recvAppends++;
    return through;
  }

  // ---- watch sockets: from the router ----

  /** Only the router's watch sockets come this way; everything else is RPC. */
  async fetch(request: Request): Promise<Response> {
    this.usage.request();
    if (!WatchSockets.isWatchRequest(request)) return new Response("not found", { status: 404 });
    if (this.dormant) return new Response("cluster not created", { status: 404 });
    return this.watchSockets.accept(request);
  }

  webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    // Billed as a request (at 20 messages to one); what the replica sends is free.
    this.usage.socketMessage();
    if (!this.dormant) this.watchSockets.message(ws, message);
  }

  webSocketClose(ws: WebSocket): void {
    if (!this.dormant) this.watchSockets.closed(ws);
  }

  webSocketError(ws: WebSocket): void {
    if (!this.dormant) this.watchSockets.closed(ws);
  }

  private openWatch(kind: WatchSocketKind, socket: WatchSocket, saved: unknown): SocketWatch {
    if (kind === "v2") return v2SocketWatch(this.keysService, socket, saved);
    return v3SocketWatch(this.state, this.watchSpecs, socket, {
      header: () => this.watchHeader(),
      progressMs: config(this.env).watchProgressNotifyMs,
    }, saved);
  }

  private watchHeader(): { clusterId: string; memberId: string; raftTerm: number } {
    return { clusterId: idToDecimal(clusterId(this.cluster)), memberId: idToDecimal(this.id), raftTerm: this.driver.raftPosition().term };
  }

  // ---- RPC: from peers ----

  step(messages: Message[]): StepAnswer {
    this.usage.request();
    const from = messages[0]?.from;
    if (from === undefined || !this.transport.accepts(from)) return [];
    if (this.state.isRemoved(from)) return { removed: true };
    const answer = this.driver.receive(this.accepted(messages));
    this.transport.answered(from, messages, answer);
    return answer;
  }

  // ---- RPC: from the router ----

  keys(req: KeysRequest): Promise<KeysReply> {
    this.usage.request();
    // A v2 watch comes over a watch socket (see v2-watch-socket.ts), never as an RPC stream.
    return this.keysService.keys(req);
  }

  keysBatch(reqs: KeysRequest[]): Promise<BatchedKeysReply[]> {
    this.usage.request();
    return this.keysService.keysBatch(reqs);
  }

  v3(req: V3Request): Promise<V3Reply> {
    this.usage.request();
    return this.v3Service.call(req);
  }

  v3Status(withHash: boolean): V3MemberStatus {
    this.usage.request();
    return this.v3Service.status(this.ctx.storage.sql.databaseSize, withHash);
  }

  addMember(peerURLs: string[]): Promise<MemberChange> {
    this.usage.request();
    return this.membersService.addMember(peerURLs);
  }

  removeMember(id: string): Promise<MemberChange> {
    this.usage.request();
    return this.membersService.removeMember(id);
  }

  updateMember(id: string, peerURLs: string[]): Promise<MemberChange> {
    this.usage.request();
    return this.membersService.updateMember(id, peerURLs);
  }

  v2Auth(req: V2AuthRequest): Promise<V2AuthReply> {
    this.usage.request();
    return this.v2AuthService.call(req);
  }

  status(): ReplicaStatus {
    this.usage.request();
    return replicaStatus(this.readouts());
  }

  storeStats(): StoreStats {
    this.usage.request();
    return { ...this.state.store.stats };
  }

  /** Per-follower counts and latencies, or null when this replica is not the leader. */
  followerStats(): FollowerStats[] | null {
    this.usage.request();
    return followerStats(this.readouts());
  }

  /** What this member counts, for /metrics: read only, so a scrape changes nothing. */
  metrics(): MemberMetrics {
    this.usage.request();
    return memberMetrics(this.readouts());
  }

  private readouts(): ReadoutSource {
    const { cluster, id, startTime, recvAppends, state, driver, transport, usage, commitSeconds } = this;
    return { cluster, id, startTime, recvAppends, state, driver, transport, usage, commitSeconds, dbSizeBytes: this.ctx.storage.sql.databaseSize };
  }

  // ---- RPC: fault injection (the router only exposes these with DEBUG_FAULTS) ----

  /** Restarts this replica: memory is lost, storage is kept. */
  crash(): void {
    this.ctx.abort("crashed on request (fault injection)");
  }

  failNextWrite(): void {
    this.storage.failNext = true;
  }

  /** Cuts this replica off from `peers` (both directions), surviving crashes until healed. */
  isolateFrom(peers: string[]): void {
    const sql = this.ctx.storage.sql;
    sql.exec(`DELETE FROM replica_fault`);
    for (const p of peers) sql.exec(`INSERT INTO replica_fault (peer) VALUES (?)`, p);
    this.transport.blocked = new Set(peers);
    // A quiet replica would not notice the cut until a request came; the
    // tests that partition want each side to find out whom it can reach.
    this.driver.wake();
  }

  /** Rows in the Raft log (tests check that compaction keeps it short). */
  logLength(): number {
    return this.storage.entryCount();
  }
}
