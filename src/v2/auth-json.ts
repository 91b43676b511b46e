/**
 * The bodies of PUT /v2/auth/users/<name> and /v2/auth/roles/<name>, read
 * the way etcd reads them: json.NewDecoder(body).Decode(&v) into Go
 * structs. So only the first JSON value counts (anything after it is never
 * read), field names match case-insensitively, unknown fields are ignored,
 * null leaves a field at its zero value, and a value of the wrong type
 * fails the whole decode.
 */
import type { KVPermissions, Permissions, Role } from "./auth-roles.ts";

/** etcd's User request: roles to create with, or roles to grant and revoke. */
export interface UserRequest {
  user: string;
  password: string;
  roles: string[] | null;
  grant: string[] | null;
  revoke: string[] | null;
}

/** etcd's Role request: grant and revoke are null when absent (Go's nil pointers). */
export interface RoleRequest {
  role: string;
  permissions: Permissions;
  grant: Permissions | null;
  revoke: Permissions | null;
}

/** A value Go's decoder refuses (a syntax error, or a type that does not fit the struct). */
class Refused extends Error {}

/** The user request, or null where etcd answers "Invalid JSON in request body." */
export function decodeUserRequest(body: string): UserRequest | null {
  return decode(body, (v) => {
    const o = struct(v);
    return {
      user: str(field(o, "user")),
      password: str(field(o, "password")),
      roles: strings(field(o, "roles")),
      grant: strings(field(o, "grant")),
      revoke: strings(field(o, "revoke")),
    };
  });
}

/** The role request, or null where etcd answers "Invalid JSON in request body." */
export function decodeRoleRequest(body: string): RoleRequest | null {
  return decode(body, (v) => {
    const o = struct(v);
    const grant = field(o, "grant");
    const revoke = field(o, "revoke");
    return {
      role: str(field(o, "role")),
      permissions: permissions(field(o, "permissions")),
      grant: grant === undefined || grant === null ? null : permissions(grant),
      revoke: revoke === undefined || revoke === null ? null : permissions(revoke),
    };
  });
}

/** The role as etcd stores it on creation: the request itself, grant and revoke included when sent. */
export function roleFromRequest(r: RoleRequest): Role {
  const role: Role = { role: r.role, permissions: r.permissions };
  if (r.grant) role.grant = r.grant;
  if (r.revoke) role.revoke = r.revoke;
  return role;
}

/** etcd's Permissions.IsEmpty: absent, or with no pattern at all. */
export function noPermissions(p: Permissions | null): boolean {
  return !p || ((p.kv.read?.length ?? 0) === 0 && (p.kv.write?.length ?? 0) === 0);
}

function decode<T>(body: string, read: (value: unknown) => T): T | null {
  try {
    return read(firstValue(body));
  } catch (err) {
    if (err instanceof Refused) return null;
    throw err;
  }
}

/** The first JSON value of the text, as Go's Decoder reads it; what follows is never looked at. */
function firstValue(text: string): unknown {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\r\n".includes(text[i])) i++;
  };
  ws();
  const start = i;
  if (i >= text.length) throw new Refused();
  const c = text[i];
  if (c === "{" || c === "[") {
    let depth = 0;
    for (; i < text.length; i++) {
      const ch = text[i];
      if (ch === '"') i = stringEnd(text, i) - 1;
      else if (ch === "{" || ch === "[") depth++;
      else if ((ch === "}" || ch === "]") && --depth === 0) break;
    }
    i++;
  } else if (c === '"') {
    i = stringEnd(text, i);
  } else {
    const literal = ["null", "true", "false"].find((l) => text.startsWith(l, i));
    if (literal) i += literal.length;
    else while (i < text.length && /[-+.0-9eE]/.test(text[i])) i++;
  }
  try {
    return JSON.parse(text.slice(start, i));
  } catch {
    throw new Refused();
  }
}

/** The position just past the string literal starting at `i` (or the text's end when it never closes). */
function stringEnd(text: string, i: number): number {
  for (i++; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i + 1;
  }
  return text.length;
}

/** A JSON object to read fields from; null (or a field not sent) is a struct left at its zero value. */
function struct(v: unknown): Record<string, unknown> {
  if (v === null || v === undefined) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw new Refused();
  return v as Record<string, unknown>;
}

/**
 * A struct field's value: the last key that names it, exactly or
 * case-insensitively (Go folds ASCII letters, and the Kelvin sign and long s
 * fold to k and s).
 */
function field(o: Record<string, unknown>, name: string): unknown {
  let found: unknown;
  for (const [k, v] of Object.entries(o)) if (fold(k) === name) found = v;
  return found;
}

function fold(key: string): string {
  return key.replace(/[A-Z\u212a\u017f]/g, (ch) => (ch === "\u212a" ? "k" : ch === "\u017f" ? "s" : ch.toLowerCase()));
}

function str(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw new Refused();
  return v;
}

/** A []string: null stays nil; a null element is the empty string. */
function strings(v: unknown): string[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) throw new Refused();
  return v.map(str);
}

function permissions(v: unknown): Permissions {
  return { kv: kvPermissions(field(struct(v), "kv")) };
}

function kvPermissions(v: unknown): KVPermissions {
  const o = struct(v);
  return { read: strings(field(o, "read")), write: strings(field(o, "write")) };
}
