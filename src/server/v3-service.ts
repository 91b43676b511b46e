/**
 * The v3 KV API on one member: where a v3 request becomes a local read, a
 * linearizable read (ReadIndex, rounds shared with v2 quorum reads), a Raft
 * proposal, or a call forwarded to the leader. Requests are checked first,
 * as etcd's gRPC layer checks them, so a bad one never reaches the log.
 */
import { errLeaseTTLTooLarge, errNoSpace, errRequestTooLarge, GrpcCode, V3Error } from "../v3/errors.ts";
import { addsData, listAlarms, type AlarmRequest, type AlarmResponse } from "../v3/alarms.ts";
import { encodeV3Entry } from "../v3/command.ts";
import { checkDelete, checkPut, checkRange, checkTxn, isReadOnlyTxn } from "../v3/validate.ts";
import type { V3Command } from "../v3/types.ts";
import type { AuthInfo } from "../v3/auth-store.ts";
import { hashVersions } from "../v3/hash.ts";
import type { V3MemberStatus, V3Reply, V3Request, V3Response, WatchCheckResponse } from "./api.ts";
import type { RaftDriver } from "./driver.ts";
import { forwardToLeader } from "./forward.ts";
import { EntryTooLarge } from "./limits.ts";
import { NO_QUOTA, overQuota, type BackendQuota } from "./quota.ts";
import { memberRemoved, RaftError } from "./raft-error.ts";
import { MAX_LEASE_TTL, MIN_LEASE_TTL, newLeaseId, V3Leases } from "./v3-leases.ts";
import { encodeAlarm, type EntryResult, type ReplicaState } from "./state.ts";
import { V3AuthService } from "./v3-auth-service.ts";
import { checkReadAccess, checkTxnAccess } from "../v3/auth-requests.ts";
import type { VerifiedCredentials } from "./verified-credentials.ts";

/** Calls the leader's v3(): the host's RPC to another member. */
export type LeaderV3 = (leader: string, req: V3Request) => Promise<V3Reply>;

export class V3Service {
  readonly leases: V3Leases;
  readonly auth: V3AuthService;
  /** This member's NOSPACE alarm while its proposal is on its way (see raiseNoSpace). */
  private raising: Promise<void> | null = null;

  constructor(
    private readonly driver: RaftDriver<EntryResult>,
    private readonly state: ReplicaState,
    private readonly leaderV3: LeaderV3,
    private readonly forwardTimeoutMs: number,
    /** Whether this member knows it was removed from the cluster. */
    private readonly removed: () => boolean,
    /** This member's checked passwords and its budget of new checks (shared with v2 auth). */
    credentials: VerifiedCredentials,
    private readonly quota: BackendQuota = NO_QUOTA,
    tokenTTLMs?: number,
  ) {
    this.leases = new V3Leases(driver, state);
    this.auth = new V3AuthService(driver, state, credentials, tokenTTLMs);
  }

  async call(req: V3Request): Promise<V3Reply> {
    try {
      if (this.removed()) throw memberRemoved();
      check(req);
      if (req.by === undefined) {
        // Who asks is decided once, by a member whose auth store is current.
        if (!(await this.auth.current())) return await this.forward(req);
        let by: AuthInfo | null;
        try {
          by = this.auth.identify(req);
        } catch (err) {
          // A watch with a token that is no good is refused in its stream, not as a failed call.
          if (req.method === "watchCheck" && err instanceof V3Error) return this.answer({ revision: this.state.keyspace.revision(), refused: err.body });
          throw err;
        }
        req = { ...req, by, token: undefined, certUser: undefined };
      }
      const by = req.by ?? null;
      const auth = this.state.v3auth;
      if (req.method === "range") {
        const range = req.req;
        return await this.read(req, range.serializable, () => (checkReadAccess(auth, by, range.key, range.rangeEnd), this.state.keyspace.range(range)));
      }
      // A watch is checked on the member asked, as it would be served there.
      if (req.method === "watchCheck") return this.answer(this.watchCheck(by, req.req.key, req.req.rangeEnd));
      if (req.method === "txn" && isReadOnlyTxn(req.req)) {
        const txn = req.req;
        const serializable = [...txn.success, ...txn.failure].every((op) => "range" in op && op.range.serializable);
        return await this.read(req, serializable, () => (checkTxnAccess(auth, by, txn), this.state.keyspace.readTxn(txn)));
      }
      if (req.method === "leaseLeases") return await this.read(req, false, () => this.leases.leases());
      // etcd answers the alarm list from the member asked.
      if (req.method === "alarm" && req.req.action === "GET") return this.answer(this.alarmList(req.req));
      if (this.driver.role !== "leader") return await this.forward(req);
      if (req.method === "leaseKeepAlive") return this.answer(this.leases.keepAlive(req.req.id));
      if (req.method === "leaseTimeToLive") return this.answer(this.leases.timeToLive(req.req.id, req.req.keys));
      if (req.method === "alarm") return await this.changeAlarm(req.req);
      if (req.method === "auth") return this.answer(await this.auth.call(req.req, by));
      if (req.method === "adminCheck") {
        await this.driver.readIndex();
        auth.checkAdmin(by);
        return this.answer({ revision: this.state.keyspace.revision() });
      }
      return await this.write(command(req), by);
    } catch (err) {
      if (err instanceof V3Error) return { ok: false, error: err.body, leader: this.driver.leader };
      if (err instanceof EntryTooLarge) return { ok: false, error: errRequestTooLarge().body, leader: this.driver.leader };
      if (err instanceof RaftError) {
        return { ok: false, error: { code: GrpcCode.Unavailable, message: err.message }, retryable: err.retryable, leader: this.driver.leader };
      }
      throw err;
    }
  }

  private watchCheck(by: AuthInfo | null, key: string, rangeEnd: string): WatchCheckResponse {
    const revision = this.state.keyspace.revision();
    try {
      checkReadAccess(this.state.v3auth, by, key, rangeEnd);
      return { revision };
    } catch (err) {
      if (err instanceof V3Error) return { revision, refused: err.body };
      throw err;
    }
  }

  /** This member's figures for maintenance/status (and the keyspace's hash for maintenance/hash). */
  status(dbSize: number, withHash: boolean): V3MemberStatus {
    const revision = this.state.keyspace.revision();
    const status: V3MemberStatus = {
      memberId: this.driver.id,
      leader: this.driver.leader,
      raftIndex: this.driver.raftPosition().index,
      raftTerm: this.driver.raftPosition().term,
      raftAppliedIndex: this.driver.applied,
      revision,
      dbSize,
      alarms: this.state.alarms,
    };
    if (withHash) status.hash = hashVersions(this.state.mvcc.dump().versions, revision);
    return status;
  }

  /** A serializable read is served here once this member has caught up; any other on the leader, after ReadIndex. */
  private async read(req: V3Request, serializable: boolean, serve: () => V3Response): Promise<V3Reply> {
    if (!(serializable && this.driver.caughtUp())) {
      if (this.driver.role !== "leader") return this.forward(req);
      await this.driver.readIndex();
    }
    return this.answer(serve());
  }

  private async write(cmd: V3Command, by: AuthInfo | null): Promise<V3Reply> {
    const data = encodeV3Entry(cmd, by);
    if (addsData(cmd) && overQuota(this.quota, data.length)) {
      await this.raiseNoSpace();
      throw errNoSpace();
    }
    const out = await this.driver.propose(data);
    if (out.kind !== "v3") throw new Error(`a v3 command applied as ${out.kind}`);
    const result = out.result;
    if (!result.ok) return { ok: false, error: result.error, leader: this.driver.leader };
    // Each success holds its response under the name of its op.
    const { ok: _, ...named } = result;
    return this.answer(Object.values(named)[0] as V3Response);
  }

  /**
   * NOSPACE, raised as etcd raises it: through the log, so that every member
   * refuses writes that add data from the same entry on (see ReplicaState),
   * until it is deactivated. Proposed once, not once per refused write.
   */
  private raiseNoSpace(): Promise<void> {
    const id = this.driver.id;
    if (this.state.alarms.some((a) => a.memberId === id && a.alarm === "NOSPACE")) return Promise.resolve();
    this.raising ??= this.driver
      .propose(encodeAlarm({ action: "ACTIVATE", memberId: id, alarm: "NOSPACE" }))
      .then(
        () => {},
        () => {},
      )
      .finally(() => (this.raising = null));
    return this.raising;
  }

  private alarmList(req: AlarmRequest): AlarmResponse {
    return { revision: this.state.keyspace.revision(), alarms: listAlarms(this.state.alarms, req.alarm) };
  }

  /** ACTIVATE or DEACTIVATE, through the log; answers with the alarms it changed. */
  private async changeAlarm(req: AlarmRequest): Promise<V3Reply> {
    const out = await this.driver.propose(encodeAlarm(req));
    if (out.kind !== "alarm") throw new Error(`an alarm applied as ${out.kind}`);
    return this.answer({ revision: this.state.keyspace.revision(), alarms: out.changed });
  }

  private forward(req: V3Request): Promise<V3Reply> {
    // A forwarded request that finds no leader here either goes back to the
    // router (retryable) rather than around the cluster.
    if (req.forwarded) throw new RaftError("etcdserver: no leader", true);
    return forwardToLeader(this.driver, (leader) => this.leaderV3(leader, { ...req, forwarded: true }), this.forwardTimeoutMs);
  }

  private answer(response: V3Response): V3Reply {
    return { ok: true, response, memberId: this.driver.id, raftTerm: this.driver.raftPosition().term, leader: this.driver.leader };
  }
}

function check(req: V3Request): void {
  switch (req.method) {
    case "range":
      return checkRange(req.req);
    case "put":
      return checkPut(req.req);
    case "deleteRange":
      return checkDelete(req.req);
    case "txn":
      return checkTxn(req.req);
    case "leaseGrant":
      if (req.req.ttl > MAX_LEASE_TTL) throw errLeaseTTLTooLarge();
  }
}

function command(req: V3Request): V3Command {
  switch (req.method) {
    case "put":
      return { op: "put", req: req.req };
    case "deleteRange":
      return { op: "deleteRange", req: req.req };
    case "txn":
      return { op: "txn", req: req.req };
    case "compact":
      return { op: "compact", req: req.req };
    case "leaseGrant":
      // The proposer picks the id and the TTL etcd would grant, so that every member applies the same.
      return { op: "leaseGrant", req: { id: req.req.id || newLeaseId(), ttl: Math.max(req.req.ttl, MIN_LEASE_TTL) } };
    case "leaseRevoke":
      return { op: "leaseRevoke", req: req.req };
    default:
      throw new Error(`${req.method} is not a write`);
  }
}
