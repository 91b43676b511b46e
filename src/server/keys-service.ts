/**
 * The v2 keys API on one member: where a /v2/keys request, parsed by the
 * router, becomes a local read, a quorum read, a watch, a Raft proposal, or
 * a call forwarded to the leader. The answers are etcd's JSON, ready for the
 * router to send.
 */
import { goJSONLine } from "../go/json.ts";
import { keysOperation } from "../v2/operation.ts";
import { isReadOnly, type KeysRequest } from "../v2/request.ts";
import { postTooLarge, raftInternalError, V2Error, v2ErrorBody, v2ErrorStatus, type V2ErrorBody } from "../v2/errors.ts";
import type { ApplyResult } from "../v2/store.ts";
import type { Watcher } from "../v2/watchers.ts";
import { openWatch, type WatchStream } from "../v2/watch-stream.ts";
import type { BatchedKeysReply, KeysReply } from "./api.ts";
import type { RaftDriver } from "./driver.ts";
import { forwardToLeader } from "./forward.ts";
import { EntryTooLarge, tooManyWatchers } from "./limits.ts";
import { memberRemoved, RaftError } from "./raft-error.ts";
import { encodeCommand, type EntryResult, type ReplicaState } from "./state.ts";
import type { V2Access } from "./v2-access.ts";

/** Reads stop joining a batch's answer past this many bytes of bodies (RPC messages have a size limit). */
const BATCH_REPLY_BYTES = 8 * 1024 * 1024;

/** Calls the leader's keys(): the host's RPC to another member. */
export type LeaderKeys = (leader: string, req: KeysRequest) => Promise<KeysReply>;

export class KeysService {
  private readonly watches = new Map<number, Watcher>();
  private nextWatchId = 1;
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
  ) {}

  async keys(req: KeysRequest): Promise<KeysReply> {
    try {
      if (this.removed()) throw memberRemoved();
      if (!req.internal && !req.authorized) {
        // As in etcd, the member that received the request checks it, from
        // its own auth records; one still catching up passes it on unchecked.
        if (!(await this.access.current())) return await this.forward(req);
        if (!(await this.access.mayUseKey(req.credentials, req.authKey ?? req.path, !isReadOnly(req), req.recursive, req.certificateUser))) {
          return this.errorReply(v2ErrorBody(110, "Insufficient credentials", 0));
        }
        req = { ...req, authorized: true, credentials: undefined, certificateUser: undefined };
      }
      const now = this.driver.host.now();
      const op = keysOperation(req, now);
      if (op.kind === "read" && !op.quorum && this.driver.caughtUp()) return this.localRead(req, now);
      if (op.kind === "watch") return this.watch(req);
      if (this.driver.role !== "leader") return await this.forward(req);
      if (op.kind === "read") {
        await this.driver.readIndex();
        return this.localRead(req, this.driver.host.now());
      }
      return await this.write(op.command, req.noValueOnSuccess);
    } catch (err) {
      // A value whose escapes grew past what a log entry holds: as etcd answers a form body over its limit.
      if (err instanceof EntryTooLarge) return this.errorReply(postTooLarge());
      if (!(err instanceof RaftError)) throw err;
      return { ...this.errorReply(raftInternalError(err.message)), retryable: err.retryable };
    }
  }

  /**
   * Several keys requests in one call (the router batches concurrent ones,
   * see src/http/keys-batch.ts), each handled as if it came alone. Watches
   * never come this way: their answer is a stream.
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

  cancelWatch(id: number): void {
    const w = this.watches.get(id);
    if (!w) return;
    this.watches.delete(id);
    this.state.store.unwatch(w);
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
    const out = await this.driver.propose(encodeCommand(command));
    if (out.kind !== "store") throw new Error(`a store command applied as ${out.kind}`);
    return this.writeReply(out.result, noValueOnSuccess);
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

  private watch(req: KeysRequest): KeysReply {
    if (this.state.watchers() >= this.state.maxWatchers) {
      // As a Worker refuses a watch past MAX_WATCHES: 503, error 300 with the cause.
      return { ...this.errorReply(raftInternalError(tooManyWatchers(this.state.maxWatchers))), status: 503 };
    }
    const id = this.nextWatchId++;
    let opened: WatchStream;
    try {
      opened = openWatch(this.state.store, req, () => this.watches.delete(id), () => this.cancelWatch(id));
    } catch (err) {
      if (err instanceof V2Error) return this.errorReply(err.body);
      throw err;
    }
    const { watcher, stream } = opened;
    if (!watcher.removed) this.watches.set(id, watcher);
    return {
      status: 200,
      body: "",
      etcdIndex: watcher.startIndex,
      raft: this.driver.raftPosition(),
      stream,
      watch: { member: this.driver.id, id },
      leader: this.driver.leader,
    };
  }

  private errorReply(body: V2ErrorBody): KeysReply {
    return { status: v2ErrorStatus(body.errorCode), body: goJSONLine(body), etcdIndex: body.index, raft: null, leader: this.driver.leader };
  }
}
