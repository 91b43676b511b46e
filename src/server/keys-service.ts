/**
 * The v2 keys API on one member: where a /v2/keys request, parsed by the
 * router, becomes a local read, a quorum read, a watch, a Raft proposal, or
 * a call forwarded to the leader. The answers are etcd's JSON, ready for the
 * router to send. A watch comes over a watch socket, not keys() (see
 * src/replica/v2-watch-socket.ts): it is checked here as any request, then
 * registered with the store.
 */
import { goJSONLine } from "../go/json.ts";
import { keysOperation } from "../v2/operation.ts";
import { isReadOnly, type KeysRequest } from "../v2/request.ts";
import { postTooLarge, raftInternalError, V2Error, v2ErrorBody, v2ErrorStatus, type V2ErrorBody } from "../v2/errors.ts";
import type { ApplyResult } from "../v2/store.ts";
import type { Deliver, Watcher } from "../v2/watchers.ts";
import type { BatchedKeysReply, KeysReply } from "./api.ts";
import type { RaftDriver } from "./driver.ts";
import { forwardToLeader } from "./forward.ts";
import { EntryTooLarge, tooManyWatchers, v2StoreFull } from "./limits.ts";
import { memberRemoved, RaftError } from "./raft-error.ts";
import { encodeCommand, type EntryResult, type ReplicaState } from "./state.ts";
import { TooManyPasswordChecks } from "./password-budget.ts";
import { PASSWORD_CHECKS_REFUSED_STATUS, passwordChecksRefused, type V2Access } from "./v2-access.ts";

/** Reads stop joining a batch's answer past this many bytes of bodies (RPC messages have a size limit). */
const BATCH_REPLY_BYTES = 8 * 1024 * 1024;

/** Calls the leader's keys(): the host's RPC to another member. */
export type LeaderKeys = (leader: string, req: KeysRequest) => Promise<KeysReply>;

/** Where a v2 watch stands once its member has looked at it (see KeysService.watch). */
export type WatchStart = { reply: KeysReply; watcher?: Watcher };

/** A watch that its member registers again after forgetting it, from the first index it has yet to see. */
export interface WatchSpec {
  path: string;
  recursive: boolean;
  stream: boolean;
  since: number;
}

export class KeysService {
  private expiryInFlight = false;

  constructor(
    private readonly driver: RaftDriver<EntryResult>,
    private readonly state: ReplicaState,
    private readonly leaderKeys: LeaderKeys,
    private readonly forwardTimeoutMs: number,
    /** Whether this member knows it was removed from the cluster. */
    private readonly removed: () => boolean,
    /** Who may use which key (v2 auth). */
    private readonly access: V2Access,
    /** V2_STORE_QUOTA_BYTES: how large the store's tree may grow (Store.bytes) before writes that add to it fail. */
    private readonly quotaBytes = Infinity,
  ) {}

  async keys(req: KeysRequest): Promise<KeysReply> {
    try {
      const checked = await this.checked(req);
      if (checked === "elsewhere") return await this.forward(req);
      if ("status" in checked) return checked;
      req = checked;
      const now = this.driver.host.now();
      const op = keysOperation(req, now);
      if (op.kind === "read" && !op.quorum && this.driver.caughtUp()) return this.localRead(req, now);
      if (op.kind === "watch") throw new Error("a v2 watch is served over a watch socket, not keys()");
      if (this.driver.role !== "leader") return await this.forward(req);
      if (op.kind === "read") {
        await this.driver.readIndex();
        return this.localRead(req, this.driver.host.now());
      }
      return await this.write(op.command, req.noValueOnSuccess);
    } catch (err) {
      return this.failed(err);
    }
  }

  /**
   * Starts a v2 watch (GET with wait=true) for a watch socket, checked as
   * keys() checks a request: the answer's head (200, X-Etcd-Index the index
   * at registration) and its watcher, registered or already answered from
   * history through `deliver`; or, without a watcher, an answer that ends
   * it at once (an error, or a refusal the router takes to another member:
   * a follower whose auth records are not current does not decide, as
   * keys() would forward the request, and any member serves a watch).
   */
  async watch(req: KeysRequest, deliver: Deliver): Promise<WatchStart> {
    try {
      const checked = await this.checked(req);
      if (checked === "elsewhere") {
        this.driver.wake();
        await this.driver.waitForLeader();
        throw new RaftError("etcdserver: this member's auth records are not current; ask the leader", true);
      }
      if ("status" in checked) return { reply: checked };
      if (this.state.watchers() >= this.state.maxWatchers) {
        // As a Worker refuses a watch past MAX_WATCHES: 503, error 300 with the cause.
        return { reply: { ...this.errorReply(raftInternalError(tooManyWatchers(this.state.maxWatchers))), status: 503 } };
      }
      const watcher = this.state.store.watch(req.path, req.recursive, req.stream, req.waitIndex, deliver);
      return { reply: { status: 200, body: "", etcdIndex: watcher.startIndex, raft: this.driver.raftPosition(), leader: this.driver.leader }, watcher };
    } catch (err) {
      if (err instanceof V2Error) return { reply: this.errorReply(err.body) };
      return { reply: this.failed(err) };
    }
  }

  /**
   * Registers again a watch its member forgot (an eviction; see
   * src/replica/v2-watch-socket.ts), unchecked: it was checked when it
   * began. Throws the store's V2Error when `since` has left the history.
   */
  rewatch(spec: WatchSpec, deliver: Deliver): Watcher {
    return this.state.store.watch(spec.path, spec.recursive, spec.stream, spec.since, deliver);
  }

  unwatch(watcher: Watcher): void {
    this.state.store.unwatch(watcher);
  }

  /**
   * The request once this member has checked who may use its key (as in
   * etcd, the member that received it checks it, from its own auth
   * records), an answer refusing it, or "elsewhere" when this member's
   * records are not current enough to decide (see V2Access.current).
   */
  private async checked(req: KeysRequest): Promise<KeysRequest | KeysReply | "elsewhere"> {
    if (this.removed()) throw memberRemoved();
    if (req.internal || req.authorized) return req;
    if (!(await this.access.current())) return "elsewhere";
    if (!(await this.access.mayUseKey(req.credentials, req.authKey ?? req.path, !isReadOnly(req), req.recursive, req.certificateUser))) {
      return this.errorReply(v2ErrorBody(110, "Insufficient credentials", 0));
    }
    return { ...req, authorized: true, credentials: undefined, certificateUser: undefined };
  }

  /** The answer to what a request threw: a Raft failure, a value too large, or a password check refused. */
  private failed(err: unknown): KeysReply {
    // A value whose escapes grew past what a log entry holds: as etcd answers a form body over its limit.
    if (err instanceof EntryTooLarge) return this.errorReply(postTooLarge());
    // The access check needed a new password check past this member's budget (see V2Access).
    if (err instanceof TooManyPasswordChecks) return { ...this.errorReply(passwordChecksRefused()), status: PASSWORD_CHECKS_REFUSED_STATUS };
    if (!(err instanceof RaftError)) throw err;
    return { ...this.errorReply(raftInternalError(err.message)), retryable: err.retryable };
  }

  /**
   * Several keys requests in one call (the router batches concurrent ones,
   * see src/http/keys-batch.ts), each handled as if it came alone. Watches
   * never come this way: they come over watch sockets.
   */
  async keysBatch(reqs: KeysRequest[]): Promise<BatchedKeysReply[]> {
    const replies = await Promise.all(
      reqs.map((req) => this.keys(req).catch((err: unknown) => ({ failed: String(err) }))),
    );
    let bytes = 0;
    return replies.map((reply, i) => {
      if (!("body" in reply)) return reply;
      if (isReadOnly(reqs[i]) && bytes + reply.body.length > BATCH_REPLY_BYTES) return { resend: true };
      bytes += reply.body.length;
      return reply;
    });
  }

  /**
   * The leader's tick duty: TTL keys are expired only by the leader, by
   * proposing an `expire` command stamped with its clock, so every member
   * removes the same keys at the same index.
   */
  expireTTLs(now: number): void {
    const next = this.state.store.nextExpiry();
    if (this.expiryInFlight || next === null || next > now) return;
    this.expiryInFlight = true;
    this.driver
      .propose(encodeCommand({ op: "expire", now }))
      .catch(() => {})
      .finally(() => (this.expiryInFlight = false));
  }

  /** When the next TTL key expires, or null when none has a TTL. */
  nextExpiry(): number | null {
    return this.state.store.nextExpiry();
  }

  private forward(req: KeysRequest): Promise<KeysReply> {
    // A forwarded request that finds no leader here either goes back to the
    // router (retryable) rather than around the cluster.
    if (req.forwarded) throw new RaftError("etcdserver: no leader", true);
    return forwardToLeader(this.driver, (leader) => this.leaderKeys(leader, { ...req, forwarded: true }), this.forwardTimeoutMs);
  }

  private async write(command: Parameters<typeof encodeCommand>[0], noValueOnSuccess: boolean): Promise<KeysReply> {
    if (this.overQuota(command)) return this.errorReply(raftInternalError(v2StoreFull(this.quotaBytes)));
    const out = await this.driver.propose(encodeCommand(command));
    if (out.kind !== "store") throw new Error(`a store command applied as ${out.kind}`);
    return this.writeReply(out.result, noValueOnSuccess);
  }

  /**
   * Whether a write would take the store past its quota: the tree lives
   * whole in the isolate's memory, so past it a member could no longer
   * load or snapshot its state. Deletes, expiries, refreshes (which keep
   * the value) and writes that shrink a value always go; the leader checks
   * before proposing, so a few writes in flight may pass the quota by their
   * own size.
   */
  private overQuota(command: Parameters<typeof encodeCommand>[0]): boolean {
    if (!("value" in command) || ("refresh" in command && command.refresh)) return false;
    const growth = this.state.store.growthOf(command.path, command.value);
    return growth > 0 && this.state.store.bytes + growth > this.quotaBytes;
  }

  private writeReply(result: ApplyResult, noValueOnSuccess: boolean): KeysReply {
    if (!result.ok) return this.errorReply(result.error);
    const event = result.event;
    const created = event.action === "create" || (event.action === "set" && !event.prevNode);
    const quiet = noValueOnSuccess && ["set", "compareAndSwap", "create", "update"].includes(event.action);
    return {
      status: created ? 201 : 200,
      body: goJSONLine(quiet ? { action: event.action } : event),
      etcdIndex: result.index,
      raft: this.driver.raftPosition(),
      leader: this.driver.leader,
    };
  }

  private localRead(req: KeysRequest, now: number): KeysReply {
    try {
      const event = this.state.store.get(req.path, req.recursive, req.sorted, now);
      return {
        status: 200,
        body: goJSONLine(event),
        etcdIndex: this.state.store.index,
        raft: this.driver.raftPosition(),
        leader: this.driver.leader,
      };
    } catch (err) {
      if (err instanceof V2Error) return this.errorReply(err.body);
      throw err;
    }
  }

  private errorReply(body: V2ErrorBody): KeysReply {
    return { status: v2ErrorStatus(body.errorCode), body: goJSONLine(body), etcdIndex: body.index, raft: null, leader: this.driver.leader };
  }
}
