/**
 * etcd 3.4's v3 auth store as data: whether auth is enabled, its revision,
 * users (a password hash, roles), roles (key permissions), and the simple
 * tokens handed out. Separate from v2 auth, as in etcd. Every member holds
 * the same, applying the same commands from the Raft log in the same
 * order, and snapshots carry it whole; nothing here reads a clock or
 * draws a random number (the proposer did: see src/server/v3-auth-service.ts).
 *
 * Tokens. etcd keeps simple tokens in the memory of each member, assigned
 * when the Authenticate entry is applied, so every member knows them. Here
 * the same: the token is `<16 random letters>.<log index of the entry>`,
 * the letters drawn by the proposer, and the entry's apply records it on
 * every member, so whichever member a request reaches can tell who sent
 * it. Each record keeps its issue time (the proposer's clock, carried in
 * the entry); how long a token stays valid without use is decided by the
 * member that checks it (see tokenUser). A user deleted or given a new
 * password loses its tokens, and disabling auth drops them all, as in
 * etcd. Tokens are pruned deterministically when new ones are issued: past
 * MAX_TOKEN_AGE_MS, or beyond MAX_TOKENS, the oldest go.
 *
 * The revision grows with every change (not with Authenticate). A request
 * is checked against the revision it was authorized at, as etcd does: a
 * write that was authorized before a change and applied after it is
 * refused with "revision of auth store is old" on every member alike.
 */
import {
  errAuthNotEnabled,
  errInvalidAuthMgmt,
  errPermissionDenied,
  errPermissionNotGranted,
  errRoleAlreadyExists,
  errRoleEmpty,
  errRoleNotFound,
  errRoleNotGranted,
  errRootRoleNotExist,
  errRootUserNotExist,
  errUserAlreadyExists,
  errUserEmpty,
  errUserNotFound,
  errAuthOldRevision,
} from "./auth-errors.ts";
import { covers, grants, type KeyPermission } from "./auth-ranges.ts";
import { V3Error, type V3ErrorBody } from "./errors.ts";
import type { Bytes } from "./types.ts";

export const ROOT_USER = "root";
export const ROOT_ROLE = "root";
/** Tokens issued longer ago than this are dropped, however recently used (clients authenticate again). */
export const MAX_TOKEN_AGE_MS = 24 * 60 * 60 * 1000;
/** Tokens held at most; past it the oldest go. */
export const MAX_TOKENS = 10_000;

export interface V3User {
  name: string;
  /** The PBKDF2 hash of its password (src/v2/password.ts); "" for a user created with no_password. */
  password: string;
  noPassword: boolean;
  /** Sorted, as etcd keeps them. */
  roles: string[];
}

export interface V3Role {
  name: string;
  /** Sorted by key, then range end, as etcd keeps them. */
  perms: KeyPermission[];
}

/** Who a request comes from, and the auth revision it was authorized at (etcd's AuthInfo); null: nobody. */
export interface AuthInfo {
  user: string;
  revision: number;
}

interface IssuedToken {
  user: string;
  /** When it was issued, by the proposer's clock (ms). */
  issued: number;
}

/** A change to the auth store as it travels in the Raft log; `by` is who asked (checked on apply). */
export type V3AuthChange =
  | { op: "enable" }
  | { op: "disable" }
  | { op: "authenticate"; name: string; letters: string; issued: number }
  | { op: "userAdd"; name: string; password: string; noPassword: boolean }
  | { op: "userDelete"; name: string }
  | { op: "userChangePassword"; name: string; password: string }
  | { op: "userGrantRole"; name: string; role: string }
  | { op: "userRevokeRole"; name: string; role: string }
  | { op: "roleAdd"; name: string }
  | { op: "roleDelete"; name: string }
  | { op: "roleGrantPermission"; name: string; perm: KeyPermission }
  | { op: "roleRevokePermission"; name: string; key: Bytes; rangeEnd: Bytes };

export type V3AuthCommand = V3AuthChange & { by: AuthInfo | null };

export type V3AuthResult = { ok: true; token?: string } | { ok: false; error: V3ErrorBody };

export interface V3AuthSnapshot {
  enabled: boolean;
  revision: number;
  users: V3User[];
  roles: V3Role[];
  tokens: [string, IssuedToken][];
}

export class V3AuthStore {
  enabled = false;
  /** etcd's auth revision: 1 in a new store. */
  revision = 1;
  private readonly users = new Map<string, V3User>();
  private readonly roles = new Map<string, V3Role>();
  /** In the order issued (a Map keeps insertion order): the oldest first. */
  private readonly tokens = new Map<string, IssuedToken>();

  user(name: string): V3User | undefined {
    return this.users.get(name);
  }

  role(name: string): V3Role | undefined {
    return this.roles.get(name);
  }

  userNames(): string[] {
    return [...this.users.keys()].sort();
  }

  roleNames(): string[] {
    return [...this.roles.keys()].sort();
  }

  /** The user a token was issued to and when, if it is still held. */
  token(token: string): IssuedToken | undefined {
    return this.tokens.get(token);
  }

  tokenCount(): number {
    return this.tokens.size;
  }

  /** Applies a change at log index `index`: every member gets the same result. */
  apply(cmd: V3AuthCommand, index: number): V3AuthResult {
    try {
      if (needsAdmin(cmd)) this.checkAdmin(cmd.by);
      const token = this.change(cmd, index);
      return token === undefined ? { ok: true } : { ok: true, token };
    } catch (err) {
      if (err instanceof V3Error) return { ok: false, error: err.body };
      throw err;
    }
  }

  /** etcd's IsAdminPermitted: auth off, or a user holding the root role. */
  checkAdmin(by: AuthInfo | null): void {
    if (!this.enabled) return;
    if (!by || by.user === "") throw errUserEmpty();
    const user = this.users.get(by.user);
    if (!user) throw errUserNotFound();
    if (!user.roles.includes(ROOT_ROLE)) throw errPermissionDenied();
  }

  /** etcd's isOpPermitted: may `by` read (or write) key..rangeEnd? Throws etcd's error when not. */
  checkKeys(by: AuthInfo | null, key: Bytes, rangeEnd: Bytes, write: boolean): void {
    if (!this.enabled) return;
    if (!by || by.revision === 0) throw errUserEmpty();
    if (by.revision < this.revision) throw errAuthOldRevision();
    const user = this.users.get(by.user);
    if (!user) throw errPermissionDenied();
    if (user.roles.includes(ROOT_ROLE)) return;
    const perms = user.roles.flatMap((r) => this.roles.get(r)?.perms ?? []).filter((p) => grants(p, write));
    if (!covers(perms, key, rangeEnd)) throw errPermissionDenied();
  }

  /** Whether `user` holds `role` (a user may read its own roles). */
  hasRole(user: string, role: string): boolean {
    return this.users.get(user)?.roles.includes(role) === true;
  }

  private change(cmd: V3AuthChange, index: number): string | undefined {
    switch (cmd.op) {
      case "enable": {
        if (this.enabled) return;
        const root = this.users.get(ROOT_USER);
        if (!root) throw errRootUserNotExist();
        if (!root.roles.includes(ROOT_ROLE)) throw errRootRoleNotExist();
        this.enabled = true;
        this.tokens.clear();
        break;
      }
      case "disable":
        if (!this.enabled) return;
        this.enabled = false;
        this.tokens.clear();
        break;
      case "authenticate":
        return this.issue(cmd, index);
      case "userAdd":
        if (cmd.name === "") throw errUserEmpty();
        if (this.users.has(cmd.name)) throw errUserAlreadyExists();
        this.users.set(cmd.name, { name: cmd.name, password: cmd.password, noPassword: cmd.noPassword, roles: [] });
        break;
      case "userDelete":
        if (this.enabled && cmd.name === ROOT_USER) throw errInvalidAuthMgmt();
        if (!this.users.delete(cmd.name)) throw errUserNotFound();
        this.dropTokensOf(cmd.name);
        break;
      case "userChangePassword": {
        const user = this.users.get(cmd.name);
        if (!user) throw errUserNotFound();
        this.users.set(cmd.name, { ...user, password: cmd.password });
        this.dropTokensOf(cmd.name);
        break;
      }
      case "userGrantRole": {
        const user = this.users.get(cmd.name);
        if (!user) throw errUserNotFound();
        if (cmd.role !== ROOT_ROLE && !this.roles.has(cmd.role)) throw errRoleNotFound();
        // Granting a role the user holds changes nothing, and is no error.
        if (user.roles.includes(cmd.role)) return;
        this.users.set(cmd.name, { ...user, roles: [...user.roles, cmd.role].sort() });
        break;
      }
      case "userRevokeRole": {
        if (this.enabled && cmd.name === ROOT_USER && cmd.role === ROOT_ROLE) throw errInvalidAuthMgmt();
        const user = this.users.get(cmd.name);
        if (!user) throw errUserNotFound();
        if (!user.roles.includes(cmd.role)) throw errRoleNotGranted();
        this.users.set(cmd.name, { ...user, roles: user.roles.filter((r) => r !== cmd.role) });
        break;
      }
      case "roleAdd":
        if (cmd.name === "") throw errRoleEmpty();
        if (this.roles.has(cmd.name)) throw errRoleAlreadyExists();
        this.roles.set(cmd.name, { name: cmd.name, perms: [] });
        break;
      case "roleDelete":
        if (this.enabled && cmd.name === ROOT_ROLE) throw errInvalidAuthMgmt();
        if (!this.roles.delete(cmd.name)) throw errRoleNotFound();
        for (const user of this.users.values()) {
          if (user.roles.includes(cmd.name)) this.users.set(user.name, { ...user, roles: user.roles.filter((r) => r !== cmd.name) });
        }
        break;
      case "roleGrantPermission": {
        const role = this.roles.get(cmd.name);
        if (!role) throw errRoleNotFound();
        // The same key and range end again: its type is replaced.
        const others = role.perms.filter((p) => !(p.key === cmd.perm.key && p.rangeEnd === cmd.perm.rangeEnd));
        const perms = [...others, { ...cmd.perm }].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.rangeEnd < b.rangeEnd ? -1 : 1));
        this.roles.set(cmd.name, { name: cmd.name, perms });
        break;
      }
      case "roleRevokePermission": {
        const role = this.roles.get(cmd.name);
        if (!role) throw errRoleNotFound();
        const perms = role.perms.filter((p) => !(p.key === cmd.key && p.rangeEnd === cmd.rangeEnd));
        if (perms.length === role.perms.length) throw errPermissionNotGranted();
        this.roles.set(cmd.name, { name: cmd.name, perms });
        break;
      }
    }
    this.revision++;
    return undefined;
  }

  /** etcd's Authenticate apply: the password was checked by the proposer; the token is recorded here. */
  private issue(cmd: Extract<V3AuthChange, { op: "authenticate" }>, index: number): string {
    if (!this.enabled) throw errAuthNotEnabled();
    if (!this.users.has(cmd.name)) throw errUserNotFound();
    for (const [token, t] of this.tokens) {
      if (t.issued >= cmd.issued - MAX_TOKEN_AGE_MS && this.tokens.size < MAX_TOKENS) break;
      this.tokens.delete(token);
    }
    const token = `${cmd.letters}.${index}`;
    this.tokens.set(token, { user: cmd.name, issued: cmd.issued });
    return token;
  }

  private dropTokensOf(user: string): void {
    for (const [token, t] of this.tokens) if (t.user === user) this.tokens.delete(token);
  }

  toJSON(): V3AuthSnapshot {
    return { enabled: this.enabled, revision: this.revision, users: [...this.users.values()], roles: [...this.roles.values()], tokens: [...this.tokens] };
  }

  static fromJSON(s: V3AuthSnapshot | undefined): V3AuthStore {
    const store = new V3AuthStore();
    if (!s) return store;
    store.enabled = s.enabled;
    store.revision = s.revision;
    for (const u of s.users) store.users.set(u.name, u);
    for (const r of s.roles) store.roles.set(r.name, r);
    for (const [token, t] of s.tokens) store.tokens.set(token, t);
    return store;
  }
}

/** etcd's needAdminPermission: every change but Authenticate takes a root user while auth is on. */
function needsAdmin(cmd: V3AuthCommand): boolean {
  return cmd.op !== "authenticate";
}
