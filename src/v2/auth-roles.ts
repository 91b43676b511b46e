/**
 * etcd's v2 users and roles as data, and what a role allows: key
 * permissions are globs, read and write apart. A pattern ending in "*"
 * matches every key that starts with what comes before the star ("/foo*"
 * matches "/foo", "/foo/x" and "/foobar"); any other pattern matches only
 * the key itself. A recursive request (a listing, a recursive watch or
 * delete) is allowed only by a star pattern whose prefix the key has.
 */
import { compareKeys } from "./node.ts";

export const ROOT = "root";
export const GUEST = "guest";

/** Key patterns; null where etcd has a nil list (written as null), which is not the same as an empty one. */
export interface KVPermissions {
  read: string[] | null;
  write: string[] | null;
}

export interface Permissions {
  kv: KVPermissions;
}

/**
 * A role as etcd stores and shows it, in its JSON field order. A role
 * created with `grant` or `revoke` beside its permissions keeps them (etcd
 * stores the request as it came) until its next update.
 */
export interface Role {
  role: string;
  permissions: Permissions;
  grant?: Permissions;
  revoke?: Permissions;
}

/** A user as stored: the password is a hash (see password.ts), never the password itself. */
export interface User {
  user: string;
  password: string;
  roles: string[] | null;
}

/** HTTP basic credentials as a client sent them. */
export interface Credentials {
  user: string;
  password: string;
}

/** The built-in role: never stored, allows everything, cannot be changed. */
export const ROOT_ROLE: Role = { role: ROOT, permissions: { kv: { read: ["/*"], write: ["/*"] } } };

/** What etcd gives anonymous clients when auth is enabled and no guest role exists yet: everything. */
export const DEFAULT_GUEST_ROLE: Role = { role: GUEST, permissions: { kv: { read: ["/*"], write: ["/*"] } } };

/** Whether `role` lets a request read (or write) `key`; `recursive` requests need a star pattern. */
export function roleAllows(role: Role, key: string, write: boolean, recursive: boolean): boolean {
  if (role.role === ROOT) return true;
  const patterns = (write ? role.permissions.kv.write : role.permissions.kv.read) ?? [];
  return patterns.some((p) => (recursive ? prefixMatch(p, key) : simpleMatch(p, key)));
}

function simpleMatch(pattern: string, key: string): boolean {
  return pattern.endsWith("*") ? key.startsWith(pattern.slice(0, -1)) : key === pattern;
}

function prefixMatch(pattern: string, key: string): boolean {
  return pattern.endsWith("*") && key.startsWith(pattern.slice(0, -1));
}

/** The roles etcd reads for a user: the root user always holds the root role, stored or not. */
export function withRootRole(user: User): User {
  if (user.user !== ROOT || user.roles?.includes(ROOT)) return user;
  return { ...user, roles: [...(user.roles ?? []), ROOT] };
}

/** Names in Go's sort.Strings order (UTF-8 bytes). */
export function sortedNames(names: Iterable<string>): string[] {
  return [...names].sort(compareKeys);
}
