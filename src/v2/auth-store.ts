/**
 * etcd's v2 auth records (users, roles, whether auth is enabled) as a pure,
 * deterministic state machine, applied from the Raft log beside the v2
 * store and carried in snapshots with it.
 *
 * etcd 3.4 keeps these records in its v2 store under the internal
 * directory /2, out of reach of /v2/keys (whose keys live under /1). Here
 * they live apart from the key tree, for the same reason; what etcd's
 * choice makes visible is kept: every write to them takes the next store
 * index (X-Etcd-Index moves), and the first one also creates etcd's /2,
 * /2/users/, /2/roles/ and /2/enabled, four more. `writes` in each outcome
 * counts them, and the caller records them in the store (recordInternalWrites).
 *
 * Each command is one whole API call (etcd makes several store requests
 * for one): it runs the checks etcd runs, in etcd's order, against the state
 * at apply time, so every member reaches the same answer. Passwords arrive
 * already hashed; the plain password never reaches the log.
 */
import { DEFAULT_GUEST_ROLE, GUEST, ROOT, ROOT_ROLE, sortedNames, withRootRole, type KVPermissions, type Permissions, type Role, type User } from "./auth-roles.ts";

export type AuthCommand =
  /** Create only (a PUT with roles): 409 if the user exists. */
  | { op: "createUser"; user: string; password: string; roles: string[] | null }
  /** Create, or change the password of an existing user (a PUT without roles, grant or revoke). */
  | { op: "putUser"; user: string; password: string; roles: string[] | null }
  /** Grant and revoke roles, and change the password when one is given. */
  | { op: "updateUser"; user: string; password: string; grant: string[] | null; revoke: string[] | null }
  | { op: "deleteUser"; user: string }
  | { op: "createRole"; role: Role }
  | { op: "updateRole"; role: string; grant: Permissions | null; revoke: Permissions | null }
  | { op: "deleteRole"; role: string }
  | { op: "enable" }
  | { op: "disable" };

/** What an auth change answers: the user (password left out) or role to show, or etcd's error. */
export type AuthResult =
  | { ok: true; status: 200 | 201; user?: { user: string; roles: string[] | null }; role?: Role }
  | { ok: false; status: number; message: string };

export interface AuthOutcome {
  result: AuthResult;
  /** Store indexes this change took (see the file comment). */
  writes: number;
}

/** etcd's internal records created by the first auth write: /2, /2/users/, /2/roles/, /2/enabled. */
const INTERNAL_DIRECTORY_WRITES = 4;

export interface AuthSnapshot {
  enabled: boolean;
  created: boolean;
  users: User[];
  roles: Role[];
}

export class AuthStore {
  enabled = false;
  /** Whether etcd's internal auth records exist (see the file comment); from then on etcd's "is auth enabled?" read succeeds. */
  created = false;
  private readonly users = new Map<string, User>();
  private readonly roles = new Map<string, Role>();
  private writes = 0;

  // ---- reads ----

  /** A user as etcd reads it (the root user with the root role), or undefined. */
  user(name: string): User | undefined {
    const u = this.users.get(name);
    return u && withRootRole(u);
  }

  /** A role (root is built in), or undefined. */
  role(name: string): Role | undefined {
    return name === ROOT ? ROOT_ROLE : this.roles.get(name);
  }

  userNames(): string[] {
    return sortedNames(this.users.keys());
  }

  /** Every role name, root included. */
  roleNames(): string[] {
    return sortedNames([ROOT, ...this.roles.keys()]);
  }

  // ---- changes ----

  apply(cmd: AuthCommand): AuthOutcome {
    this.writes = 0;
    const result = this.run(cmd);
    return { result, writes: this.writes };
  }

  private run(cmd: AuthCommand): AuthResult {
    switch (cmd.op) {
      case "createUser":
        return this.createUser(cmd.user, cmd.password, cmd.roles, 200);
      case "putUser":
        return this.users.has(cmd.user)
          ? this.updateUser(cmd.user, cmd.password, null, null)
          : this.createUser(cmd.user, cmd.password, cmd.roles, 201);
      case "updateUser":
        return this.updateUser(cmd.user, cmd.password, cmd.grant, cmd.revoke);
      case "deleteUser":
        return this.deleteUser(cmd.user);
      case "createRole":
        return this.createRole(cmd.role);
      case "updateRole":
        return this.updateRole(cmd.role, cmd.grant, cmd.revoke);
      case "deleteRole":
        return this.deleteRole(cmd.role);
      case "enable":
        return this.enable();
      case "disable":
        if (!this.enabled) return fail(409, "already disabled");
        this.enabled = false;
        return this.wrote();
    }
  }

  private createUser(name: string, password: string, roles: string[] | null, status: 200 | 201): AuthResult {
    if (password === "") return fail(400, `Cannot create user ${name} with an empty password`);
    this.createInternalRecords();
    if (this.users.has(name)) return fail(409, `User ${name} already exists.`);
    const user = withRootRole({ user: name, password, roles });
    this.users.set(name, user);
    return this.wrote({ ok: true, status, user: { user: name, roles: user.roles } });
  }

  /**
   * etcd's merge: roles granted must be new, roles revoked must be held, the
   * result is sorted; a change that leaves the user as it was is refused.
   * The comparison is Go's reflect.DeepEqual, so a user whose roles were
   * unsorted, or nil where the merge makes an empty list, counts as changed.
   */
  private updateUser(name: string, password: string, grant: string[] | null, revoke: string[] | null): AuthResult {
    const old = this.user(name);
    if (!old) return fail(404, `User ${name} does not exist.`);
    const roles = new Set(old.roles ?? []);
    for (const g of grant ?? []) {
      if (roles.has(g)) return fail(409, `Granting duplicate role ${g} for user ${name}`);
      roles.add(g);
    }
    for (const r of revoke ?? []) {
      if (!roles.has(r)) return fail(409, `Revoking ungranted role ${r} for user ${name}`);
      roles.delete(r);
    }
    const next: User = { user: name, password: password === "" ? old.password : password, roles: sortedNames(roles) };
    if (next.password === old.password && sameList(next.roles, old.roles)) {
      return fail(400, "User not updated. Use grant/revoke/password to update the user.");
    }
    this.users.set(name, next);
    return this.wrote({ ok: true, status: 200, user: { user: name, roles: next.roles } });
  }

  private deleteUser(name: string): AuthResult {
    if (this.enabled && name === ROOT) return fail(403, "Cannot delete root user while auth is enabled.");
    this.createInternalRecords();
    if (!this.users.delete(name)) return fail(404, `User ${name} does not exist`);
    return this.wrote();
  }

  private createRole(role: Role): AuthResult {
    if (role.role === ROOT) return rootIsBuiltIn();
    this.createInternalRecords();
    if (this.roles.has(role.role)) return fail(409, `Role ${role.role} already exists.`);
    this.roles.set(role.role, role);
    return this.wrote({ ok: true, status: 201, role });
  }

  /** etcd's merge: grants first (a pattern already there is refused), then revokes (a pattern not there is ignored). */
  private updateRole(name: string, grant: Permissions | null, revoke: Permissions | null): AuthResult {
    if (name === ROOT) return rootIsBuiltIn();
    const old = this.roles.get(name);
    if (!old) return fail(404, `Role ${name} does not exist.`);
    let kv = old.permissions.kv;
    if (grant) {
      const granted = grantPatterns(kv, grant.kv);
      if (typeof granted === "string") return fail(409, granted);
      kv = granted;
    }
    if (revoke) kv = revokePatterns(kv, revoke.kv);
    const next: Role = { role: name, permissions: { kv } };
    // As reflect.DeepEqual sees it: a grant or revoke kept from the role's creation is a difference.
    const unchanged = !old.grant && !old.revoke && sameList(kv.read, old.permissions.kv.read) && sameList(kv.write, old.permissions.kv.write);
    if (unchanged) return fail(400, "Role not updated. Use grant/revoke to update the role.");
    this.roles.set(name, next);
    return this.wrote({ ok: true, status: 200, role: next });
  }

  private deleteRole(name: string): AuthResult {
    if (name === ROOT) return rootIsBuiltIn();
    this.createInternalRecords();
    if (!this.roles.delete(name)) return fail(404, `Role ${name} doesn't exist.`);
    return this.wrote();
  }

  /** Needs a root user; creates the guest role (full access, as etcd does) when there is none. */
  private enable(): AuthResult {
    if (this.enabled) return fail(409, "already enabled");
    if (!this.users.has(ROOT)) return fail(409, "No root user available, please create one");
    if (!this.roles.has(GUEST)) {
      this.roles.set(GUEST, DEFAULT_GUEST_ROLE);
      this.writes++;
    }
    this.enabled = true;
    return this.wrote();
  }

  /** etcd creates its internal records before its first auth write, even one that then fails. */
  private createInternalRecords(): void {
    if (this.created) return;
    this.created = true;
    this.writes += INTERNAL_DIRECTORY_WRITES;
  }

  private wrote(result: AuthResult = { ok: true, status: 200 }): AuthResult {
    this.writes++;
    return result;
  }

  // ---- snapshots ----

  toJSON(): AuthSnapshot {
    return { enabled: this.enabled, created: this.created, users: [...this.users.values()], roles: [...this.roles.values()] };
  }

  static fromJSON(data: AuthSnapshot | undefined): AuthStore {
    const store = new AuthStore();
    if (!data) return store;
    store.enabled = data.enabled;
    store.created = data.created;
    for (const u of data.users) store.users.set(u.user, u);
    for (const r of data.roles) store.roles.set(r.role, r);
    return store;
  }
}

function fail(status: number, message: string): AuthResult {
  return { ok: false, status, message: `auth: ${message}` };
}

function rootIsBuiltIn(): AuthResult {
  return fail(403, `Cannot modify role ${ROOT}: is root role.`);
}

/** reflect.DeepEqual on two []string: nil and empty differ, order counts. */
function sameList(a: string[] | null, b: string[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The patterns with `add` granted, sorted; or etcd's message for one already there. */
function grantPatterns(kv: KVPermissions, add: KVPermissions): KVPermissions | string {
  const read = new Set(kv.read ?? []);
  for (const p of add.read ?? []) {
    if (read.has(p)) return `Granting duplicate read permission ${p}`;
    read.add(p);
  }
  const write = new Set(kv.write ?? []);
  for (const p of add.write ?? []) {
    if (write.has(p)) return `Granting duplicate write permission ${p}`;
    write.add(p);
  }
  return { read: sortedNames(read), write: sortedNames(write) };
}

function revokePatterns(kv: KVPermissions, remove: KVPermissions): KVPermissions {
  const read = new Set(kv.read ?? []);
  for (const p of remove.read ?? []) read.delete(p);
  const write = new Set(kv.write ?? []);
  for (const p of remove.write ?? []) write.delete(p);
  return { read: sortedNames(read), write: sortedNames(write) };
}
