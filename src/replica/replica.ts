/**
 * The replica Durable Object: owns one cluster's v2 store, persists every
 * applied command in its SQLite storage, serves reads and watches, and uses
 * the DO alarm to expire TTL keys even when no request arrives.
 *
 * Today a cluster is one replica; the store is driven only through commands
 * stamped with the proposer's clock, so that a Raft log can carry the same
 * commands between replicas later without changing the store.
 */
import { DurableObject } from "cloudflare:workers";
import { goJSONLine } from "../http/go-json.ts";
import { keysOperation } from "../http/keys-dispatch.ts";
import type { KeysRequest } from "../http/keys-request.ts";
import type { Command } from "../store/command.ts";
import { V2Error, v2ErrorStatus, type V2ErrorBody } from "../store/errors.ts";
import type { StoreStats } from "../store/stats.ts";
import { Store } from "../store/store.ts";
import type { Watcher } from "../store/watchers.ts";
import { clusterId, memberId } from "./identity.ts";
import { ReplicaStorage } from "./storage.ts";
import type { Env } from "../http/app.ts";

/** The part of an answer that the HTTP layer turns into status, headers and body. */
export interface KeysReply {
  status: number;
  /** The JSON body, newline included. Empty for a watch, whose body is `stream`. */
  body: string;
  etcdIndex: number;
  /** Raft position for X-Raft-Index/X-Raft-Term; etcd omits both on errors. */
  raft: RaftPosition | null;
  stream?: ReadableStream<Uint8Array>;
  /** Names a live watch, so the router can end it when its client goes away. */
  watchId?: number;
}

export interface RaftPosition {
  index: number;
  term: number;
}

export interface MemberInfo {
  id: string;
  name: string;
  clusterId: string;
  state: "StateLeader" | "StateFollower";
  leaderId: string;
  startTime: number;
  raft: RaftPosition;
}

const MEMBER_NAME = "replica-0";
// A stream watcher that falls this far behind its reader is closed, as etcd
// closes a watcher whose 100-event buffer overflows.
const STREAM_BACKLOG_BYTES = 1 << 20;

export class Replica extends DurableObject<Env> {
  private store!: Store;
  private storage!: ReplicaStorage;
  private readonly startTime = Date.now();
  private alarmAt: number | null = null;
  private readonly cluster: string;
  private readonly watches = new Map<number, Watcher>();
  private nextWatchId = 1;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.cluster = ctx.id.name ?? "default";
    ctx.blockConcurrencyWhile(async () => {
      this.storage = new ReplicaStorage(ctx.storage.sql, (fn) => ctx.storage.transactionSync(fn));
      this.store = this.storage.load();
      await this.scheduleExpiry();
    });
  }

  /** Serves one parsed /v2/keys request. */
  async keys(req: KeysRequest): Promise<KeysReply> {
    const now = Date.now();
    const op = keysOperation(req, now);
    switch (op.kind) {
      case "read":
        return this.read(req, now);
      case "watch":
        return this.watch(req);
      case "write":
        return this.write(op.command, req.noValueOnSuccess);
    }
  }

  /** Ends a watch whose client disconnected (stream cancellation does not cross RPC). */
  cancelWatch(id: number): void {
    const w = this.watches.get(id);
    if (!w) return;
    this.watches.delete(id);
    this.store.unwatch(w);
  }

  storeStats(): StoreStats {
    return { ...this.store.stats };
  }

  member(): MemberInfo {
    const id = memberId(this.cluster, MEMBER_NAME);
    return {
      id,
      name: MEMBER_NAME,
      clusterId: clusterId(this.cluster),
      state: "StateLeader",
      leaderId: id,
      startTime: this.startTime,
      raft: this.raftPosition(),
    };
  }

  /** Fires at the earliest TTL expiry: removes what has expired, then re-arms. */
  async alarm(): Promise<void> {
    this.alarmAt = null;
    this.commit({ op: "expire", now: Date.now() });
    await this.scheduleExpiry();
  }

  private read(req: KeysRequest, now: number): KeysReply {
    try {
      const event = this.store.get(req.path, req.recursive, req.sorted, now);
      return { status: 200, body: goJSONLine(event), etcdIndex: this.store.index, raft: this.raftPosition() };
    } catch (err) {
      return errorReply(err);
    }
  }

  private async write(command: Command, noValueOnSuccess: boolean): Promise<KeysReply> {
    const result = this.commit(command);
    if (!result.ok) return errorBodyReply(result.error);
    await this.scheduleExpiry();
    const event = result.event;
    const created = event.action === "create" || (event.action === "set" && !event.prevNode);
    const quiet = noValueOnSuccess && ["set", "compareAndSwap", "create", "update"].includes(event.action);
    return {
      status: created ? 201 : 200,
      body: goJSONLine(quiet ? { action: event.action } : event),
      etcdIndex: result.index,
      raft: this.raftPosition(),
    };
  }

  /** Applies a command and, if it changed anything, logs it durably. */
  private commit(command: Command) {
    const before = this.store.index;
    const result = this.store.apply(command);
    if (result.ok && this.store.index !== before) {
      this.storage.append(command);
      this.storage.maybeSnapshot(this.store);
    }
    return result;
  }

  private watch(req: KeysRequest): KeysReply {
    const encoder = new TextEncoder();
    let controller!: ReadableByteStreamController;
    let watcher: Watcher | null = null;
    const id = this.nextWatchId++;
    const stream = new ReadableStream({
      type: "bytes",
      start: (c) => {
        controller = c;
      },
      cancel: () => this.cancelWatch(id),
    });
    try {
      watcher = this.store.watch(req.path, req.recursive, req.stream, req.waitIndex, (e) => {
        try {
          controller.enqueue(encoder.encode(goJSONLine(e.wire)));
        } catch {
          this.watches.delete(id);
          return false; // the reader is gone
        }
        // A one-shot watch ends with its event. So does a stream answered from
        // history: etcd never registers such a watcher and leaves the stream
        // hanging (etcd issue #1186); ending it lets the client resume instead.
        const oneShot = !req.stream || watcher === null;
        const overflowing = (controller.desiredSize ?? 0) < -STREAM_BACKLOG_BYTES;
        if (oneShot || overflowing) {
          controller.close();
          this.watches.delete(id);
          return !overflowing;
        }
        return true;
      });
    } catch (err) {
      return errorReply(err);
    }
    if (!watcher.removed) this.watches.set(id, watcher);
    return { status: 200, body: "", etcdIndex: watcher.startIndex, raft: this.raftPosition(), stream, watchId: id };
  }

  private raftPosition(): RaftPosition {
    return { index: this.storage.lastSeq, term: 1 };
  }

  /** Keeps the alarm at the earliest expiry (one storage write only when it moves). */
  private async scheduleExpiry(): Promise<void> {
    const next = this.store.nextExpiry();
    if (next === this.alarmAt) return;
    this.alarmAt = next;
    if (next === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(next);
  }
}

function errorReply(err: unknown): KeysReply {
  if (!(err instanceof V2Error)) throw err;
  return errorBodyReply(err.body);
}

function errorBodyReply(body: V2ErrorBody): KeysReply {
  return { status: v2ErrorStatus(body.errorCode), body: goJSONLine(body), etcdIndex: body.index, raft: null };
}
