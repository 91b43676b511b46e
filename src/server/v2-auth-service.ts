/**
 * etcd's v2 auth API (/v2/auth/enable, /users, /roles) on one member: the
 * root check, reads answered from this member's records (as etcd reads its
 * own store), and changes proposed through Raft by the leader, a follower
 * passing them on. Passwords are hashed here, on the leader, before the
 * change is proposed, so the log and snapshots only ever hold hashes.
 * Answers are etcd's status codes and JSON, ready for the router to send.
 */
import { goJSON, goJSONLine } from "../go/json.ts";
import { decodeRoleRequest, decodeUserRequest, noPermissions, roleFromRequest } from "../v2/auth-json.ts";
import type { Role, User } from "../v2/auth-roles.ts";
import type { AuthCommand, AuthResult } from "../v2/auth-store.ts";
import { hashPassword } from "../v2/password.ts";
import type { V2AuthReply, V2AuthRequest } from "./api.ts";
import type { RaftDriver } from "./driver.ts";
import { forwardToLeader } from "./forward.ts";
import { memberRemoved, RaftError } from "./raft-error.ts";
import { encodeAuthCommand, type EntryResult, type ReplicaState } from "./state.ts";
import { TooManyPasswordChecks } from "./password-budget.ts";
import { PASSWORD_CHECKS_REFUSED_STATUS, passwordChecksRefused, V2Access } from "./v2-access.ts";
import type { VerifiedCredentials } from "./verified-credentials.ts";

/** Calls the leader's v2Auth(): the host's RPC to another member. */
export type LeaderAuth = (leader: string, req: V2AuthRequest) => Promise<V2AuthReply>;

export class V2AuthService {
  /** The access checks, shared with the keys API (one cache of verified passwords per member). */
  readonly access: V2Access;

  constructor(
    private readonly driver: RaftDriver<EntryResult>,
    private readonly state: ReplicaState,
    private readonly leaderAuth: LeaderAuth,
    private readonly forwardTimeoutMs: number,
    /** Whether this member knows it was removed from the cluster. */
    private readonly removed: () => boolean,
    /** This member's checked passwords and its budget of new checks (shared with v3 auth). */
    credentials: VerifiedCredentials,
  ) {
    this.access = new V2Access(state, driver, credentials);
  }

  async call(req: V2AuthRequest): Promise<V2AuthReply> {
    try {
      if (this.removed()) throw memberRemoved();
      if (!req.authorized) {
        if (!(await this.access.current())) return await this.forward(req);
        // GET /v2/auth/enable is open to all (etcd's hasWriteRootAccess).
        const open = req.resource === "enable" && req.method === "GET";
        if (!open && !(await this.access.isRoot(req.credentials, req.certificateUser))) {
          return this.answer(401, goJSON({ message: "Insufficient credentials" }), false);
        }
        req = { ...req, authorized: true, credentials: undefined, certificateUser: undefined };
      }
      if (req.resource === "root") return this.answer(200, "");
      if (req.method === "GET") return this.read(req);
      if (this.driver.role !== "leader") return await this.forward(req);
      return await this.change(req);
    } catch (err) {
      // The root check (the auth API, or a members change) needed a new
      // password check past this member's budget: 429, see V2Access.
      if (err instanceof TooManyPasswordChecks) return this.answer(PASSWORD_CHECKS_REFUSED_STATUS, goJSONLine(passwordChecksRefused()));
      if (!(err instanceof RaftError)) throw err;
      // etcd hides internal causes (no leader, timeouts) behind this text.
      return { ...this.answer(500, goJSON({ message: "Internal Server Error" })), retryable: err.retryable };
    }
  }

  private forward(req: V2AuthRequest): Promise<V2AuthReply> {
    if (req.forwarded) throw new RaftError("etcdserver: no leader", true);
    return forwardToLeader(this.driver, (leader) => this.leaderAuth(leader, { ...req, forwarded: true }), this.forwardTimeoutMs);
  }

  private read(req: V2AuthRequest): V2AuthReply {
    const auth = this.state.auth;
    switch (req.resource) {
      case "enable":
        return this.answer(200, goJSONLine({ enabled: auth.enabled }));
      case "users": {
        if (req.name === null) {
          // A user's roles that do not exist are left out of the list.
          const users = auth.userNames().map((name) => userWithRoles(auth.user(name)!, (r) => auth.role(r)));
          return this.answer(200, goJSONLine({ users: users.length ? users : null }));
        }
        const user = auth.user(req.name);
        if (!user) return this.failed(`User ${req.name} does not exist.`, 404);
        const missing = user.roles?.find((r) => !auth.role(r));
        if (missing !== undefined) return this.failed(`Role ${missing} does not exist.`, 404);
        return this.answer(200, goJSONLine(userWithRoles(user, (r) => auth.role(r))));
      }
      case "roles": {
        if (req.name === null) return this.answer(200, goJSONLine({ roles: auth.roleNames().map((r) => roleJSON(auth.role(r)!)) }));
        const role = auth.role(req.name);
        if (!role) return this.failed(`Role ${req.name} does not exist.`, 404);
        return this.answer(200, goJSONLine(roleJSON(role)));
      }
      case "root":
        return this.answer(200, "");
    }
  }

  /** A change, on the leader: etcd's request checks, then the command through Raft. */
  private async change(req: V2AuthRequest): Promise<V2AuthReply> {
    const command = await this.command(req);
    if ("status" in command) return command;
    const out = await this.driver.propose(encodeAuthCommand(command));
    if (out.kind !== "auth") throw new Error(`an auth command applied as ${out.kind}`);
    return this.result(out.result);
  }

  /** The command a PUT or DELETE asks for, or etcd's answer to a malformed request. */
  private async command(req: V2AuthRequest): Promise<AuthCommand | V2AuthReply> {
    const name = req.name ?? "";
    if (req.resource === "enable") return { op: req.method === "PUT" ? "enable" : "disable" };
    if (req.resource === "users") {
      if (req.method === "DELETE") return { op: "deleteUser", user: name };
      const u = decodeUserRequest(req.body);
      if (!u) return this.answer(400, goJSON({ message: "Invalid JSON in request body." }));
      if (u.user !== name) return this.answer(400, goJSON({ message: "User JSON name does not match the name in the URL" }));
      const password = u.password === "" ? "" : await hashPassword(u.password);
      const roles = u.roles ?? [];
      if (!u.grant?.length && !u.revoke?.length) {
        // Roles given: create only. None: create, or change the password.
        return roles.length ? { op: "createUser", user: name, password, roles: u.roles } : { op: "putUser", user: name, password, roles: u.roles };
      }
      if (roles.length) return this.answer(400, goJSON({ message: "User JSON contains both roles and grant/revoke" }));
      return { op: "updateUser", user: name, password, grant: u.grant, revoke: u.revoke };
    }
    if (req.method === "DELETE") return { op: "deleteRole", role: name };
    const r = decodeRoleRequest(req.body);
    if (!r) return this.answer(400, goJSON({ message: "Invalid JSON in request body." }));
    if (r.role !== name) return this.answer(400, goJSON({ message: "Role JSON name does not match the name in the URL" }));
    if (noPermissions(r.grant) && noPermissions(r.revoke)) return { op: "createRole", role: roleFromRequest(r) };
    if (!noPermissions(r.permissions)) return this.answer(400, goJSON({ message: "Role JSON contains both permissions and grant/revoke" }));
    return { op: "updateRole", role: name, grant: r.grant, revoke: r.revoke };
  }

  private result(result: AuthResult): V2AuthReply {
    if (!result.ok) return this.failed(result.message, result.status, false);
    if (result.user) return this.answer(result.status, goJSONLine(result.user));
    if (result.role) return this.answer(result.status, goJSONLine(roleJSON(result.role)));
    return this.answer(result.status, "");
  }

  /** etcd's auth errors: {"message":"auth: …"}, no newline. */
  private failed(message: string, status: number, prefix = true): V2AuthReply {
    return this.answer(status, goJSON({ message: prefix ? `auth: ${message}` : message }));
  }

  private answer(status: number, body: string, clusterHeader = true): V2AuthReply {
    return { status, body, clusterHeader, leader: this.driver.leader };
  }
}

/** etcd's userWithRoles: the user with its roles in full; roles that do not exist left out, and no "roles" when none is left. */
function userWithRoles(user: User, role: (name: string) => Role | undefined) {
  const roles = (user.roles ?? []).map(role).filter((r) => r !== undefined).map(roleJSON);
  return roles.length ? { user: user.user, roles } : { user: user.user };
}

/** A role in etcd's field order. */
function roleJSON(r: Role) {
  const kv = (p: Role["permissions"]) => ({ kv: { read: p.kv.read, write: p.kv.write } });
  const out: Record<string, unknown> = { role: r.role, permissions: kv(r.permissions) };
  if (r.grant) out.grant = kv(r.grant);
  if (r.revoke) out.revoke = kv(r.revoke);
  return out;
}
