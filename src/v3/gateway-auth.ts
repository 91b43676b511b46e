/**
 * etcd 3.4's gateway JSON for the Auth service (`/v3/auth/...`): each
 * path's request message decoded as jsonpb decodes it, and the responses
 * as the gateway writes them (proto field names, zero values left out).
 * A permission's type is written as its enum name, READ (zero) left out.
 */
import { goJSON } from "../go/json.ts";
import type { KeyPermission, PermType } from "./auth-ranges.ts";
import { GrpcCode, V3Error } from "./errors.ts";
import { bool, bytes, enumValue, fields, omitZero, readMessage, responseHeader, type Field, type ResponseHeader } from "./gateway-json.ts";
import type { Bytes } from "./types.ts";

/** An Auth service call, decoded. Passwords are in clear only until the member that takes the call hashes or checks them. */
export type V3AuthRequest =
  | { op: "enable" }
  | { op: "disable" }
  | { op: "authenticate"; name: string; password: string }
  | { op: "userAdd"; name: string; password: string; noPassword: boolean }
  | { op: "userGet"; name: string }
  | { op: "userList" }
  | { op: "userDelete"; name: string }
  | { op: "userChangePassword"; name: string; password: string }
  | { op: "userGrantRole"; name: string; role: string }
  | { op: "userRevokeRole"; name: string; role: string }
  | { op: "roleAdd"; name: string }
  | { op: "roleGet"; name: string }
  | { op: "roleList" }
  | { op: "roleDelete"; name: string }
  | { op: "roleGrantPermission"; name: string; perm: KeyPermission }
  | { op: "roleRevokePermission"; name: string; key: Bytes; rangeEnd: Bytes };

/** What an Auth call answers besides its header. */
export interface V3AuthResponse {
  revision: number;
  token?: string;
  roles?: string[];
  users?: string[];
  perms?: KeyPermission[];
}

const PERM_TYPES: readonly PermType[] = ["READ", "WRITE", "READWRITE"];

/** A Go string field. */
function text(node: ReturnType<Field>): string {
  if (node === undefined || node === "null") return "";
  if (typeof node !== "string" || !node.startsWith('"')) {
    const kind = node instanceof Map ? "object" : Array.isArray(node) ? "array" : node === "true" || node === "false" ? "bool" : "number";
    throw new V3Error(GrpcCode.InvalidArgument, `json: cannot unmarshal ${kind} into Go value of type string`);
  }
  return JSON.parse(node) as string;
}

function permission(f: Field): KeyPermission {
  return { permType: enumValue(f("permType"), PERM_TYPES, "authpb.Permission_Type", "READ"), key: bytes(f("key")), rangeEnd: bytes(f("range_end")) };
}

/** The decoders by path (what follows /v3/). */
export const AUTH_PATHS: Record<string, (f: Field) => V3AuthRequest> = {
  "auth/enable": () => ({ op: "enable" }),
  "auth/disable": () => ({ op: "disable" }),
  "auth/authenticate": (f) => ({ op: "authenticate", name: text(f("name")), password: text(f("password")) }),
  "auth/user/add": (f) => ({ op: "userAdd", name: text(f("name")), password: text(f("password")), noPassword: bool(fields(f("options"))("no_password")) }),
  "auth/user/get": (f) => ({ op: "userGet", name: text(f("name")) }),
  "auth/user/list": () => ({ op: "userList" }),
  "auth/user/delete": (f) => ({ op: "userDelete", name: text(f("name")) }),
  "auth/user/changepw": (f) => ({ op: "userChangePassword", name: text(f("name")), password: text(f("password")) }),
  "auth/user/grant": (f) => ({ op: "userGrantRole", name: text(f("user")), role: text(f("role")) }),
  "auth/user/revoke": (f) => ({ op: "userRevokeRole", name: text(f("name")), role: text(f("role")) }),
  "auth/role/add": (f) => ({ op: "roleAdd", name: text(f("name")) }),
  "auth/role/get": (f) => ({ op: "roleGet", name: text(f("role")) }),
  "auth/role/list": () => ({ op: "roleList" }),
  "auth/role/delete": (f) => ({ op: "roleDelete", name: text(f("role")) }),
  "auth/role/grant": (f) => ({ op: "roleGrantPermission", name: text(f("name")), perm: permission(fields(f("perm"))) }),
  "auth/role/revoke": (f) => ({ op: "roleRevokePermission", name: text(f("role")), key: bytes(f("key")), rangeEnd: bytes(f("range_end")) }),
};

export function decodeAuthRequest(path: string, body: string): V3AuthRequest {
  return AUTH_PATHS[path](readMessage(body));
}

export function encodeAuthResponse(h: ResponseHeader, r: V3AuthResponse): string {
  return goJSON(
    omitZero({
      header: responseHeader(h),
      token: r.token,
      roles: r.roles,
      users: r.users,
      perm: r.perms?.map((p) => omitZero({ permType: p.permType === "READ" ? undefined : p.permType, key: btoa(p.key), range_end: btoa(p.rangeEnd) })),
    }),
  );
}
