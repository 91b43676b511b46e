/**
 * The pure parts of v2 auth: reading basic credentials and request bodies
 * as Go does, key permissions as globs, password hashes and the cache of
 * verified credentials, and the auth records' snapshot. (Answers as a whole
 * are compared with etcd's in test/compat/v2-auth.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { basicCredentials } from "../../src/http/basic-auth.ts";
import { PasswordCheckBudget } from "../../src/server/password-budget.ts";
import { VerifiedCredentials } from "../../src/server/verified-credentials.ts";
import { decodeRoleRequest, decodeUserRequest } from "../../src/v2/auth-json.ts";
import { DEFAULT_GUEST_ROLE, ROOT_ROLE, roleAllows, type Role } from "../../src/v2/auth-roles.ts";
import { AuthStore } from "../../src/v2/auth-store.ts";
import { hashPassword, verifyPassword } from "../../src/v2/password.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("basic credentials (Go's Request.BasicAuth)", () => {
  it("reads user and password, split at the first colon, the scheme in any case", () => {
    expect(basicCredentials(`Basic ${b64("u:p:q")}`)).toEqual({ user: "u", password: "p:q" });
    expect(basicCredentials(`bAsIc ${b64("u:")}`)).toEqual({ user: "u", password: "" });
  });

  it("tells no header (anonymous) from a header that is not basic auth", () => {
    expect(basicCredentials(null)).toBeUndefined();
    expect(basicCredentials("")).toBeUndefined();
    for (const bad of ["Bearer x", "Basic", "Basic !!!", `Basic ${b64("nocolon")}`, `Basic ${b64("u:pw").replace(/=+$/, "")}`, `Basic  ${b64("u:p")}`]) {
      expect([bad, basicCredentials(bad)]).toEqual([bad, null]);
    }
  });
});

describe("request bodies (Go's json.Decoder into etcd's structs)", () => {
  it("takes the first value only, matches names in any case, leaves nulls at zero", () => {
    expect(decodeUserRequest('{"USER":"u","Password":"p","roles":[null,"r"]} {"user":"other"}')).toEqual({
      user: "u",
      password: "p",
      roles: ["", "r"],
      grant: null,
      revoke: null,
    });
    expect(decodeUserRequest("null")).toEqual({ user: "", password: "", roles: null, grant: null, revoke: null });
    expect(decodeRoleRequest('{"role":"r","grant":{"kv":{}},"revoke":null}')).toEqual({
      role: "r",
      permissions: { kv: { read: null, write: null } },
      grant: { kv: { read: null, write: null } },
      revoke: null,
    });
  });

  it("refuses what does not fit the struct", () => {
    for (const bad of ["", "{", "[]", '"u"', '{"user":1}', '{"roles":"r"}', '{"roles":[1]}', '{"user":"u"']) {
      expect([bad, decodeUserRequest(bad)]).toEqual([bad, null]);
    }
    expect(decodeRoleRequest('{"permissions":{"kv":{"read":[true]}}}')).toBeNull();
    expect(decodeRoleRequest('{"grant":[]}')).toBeNull();
  });
});

describe("key permissions", () => {
  const role: Role = { role: "r", permissions: { kv: { read: ["/foo*", "/exact"], write: ["/w/*"] } } };

  it("a star pattern is a prefix, anything else exact; recursive requests need a star", () => {
    expect(["/foo", "/foo/x", "/foobar", "/exact", "/exact/x", "/fo"].map((k) => roleAllows(role, k, false, false))).toEqual([true, true, true, true, false, false]);
    expect(["/foo", "/exact"].map((k) => roleAllows(role, k, false, true))).toEqual([true, false]);
    expect(["/w/a", "/w", "/foo"].map((k) => roleAllows(role, k, true, false))).toEqual([true, false, false]);
  });

  it("root allows everything; the default guest everything under /", () => {
    expect(roleAllows(ROOT_ROLE, "", true, true)).toBe(true);
    expect(roleAllows(DEFAULT_GUEST_ROLE, "/any", true, false)).toBe(true);
    expect(roleAllows(DEFAULT_GUEST_ROLE, "", false, false)).toBe(false);
  });
});

describe("passwords", () => {
  it("are salted PBKDF2 hashes that verify only the password they were made from", async () => {
    const [a, b] = [await hashPassword("secret"), await hashPassword("secret")];
    expect(a).toMatch(/^pbkdf2-sha256\$100000\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain("secret");
    expect(await verifyPassword("secret", a)).toBe(true);
    expect(await verifyPassword("Secret", a)).toBe(false);
    expect(await verifyPassword("secret", "secret")).toBe(false);
    expect(await verifyPassword("secret", a.replace("100000", "100001")), "more iterations than the runtime allows").toBe(false);
  });

  it("a verified pair is remembered only for the stored hash it was checked against", async () => {
    const verified = new VerifiedCredentials(new PasswordCheckBudget({ now: () => 0 }));
    const old = await hashPassword("one");
    expect(await verified.check("u", "one", old)).toBe(true);
    expect(await verified.check("u", "one", old)).toBe(true);
    expect(await verified.check("u", "two", old)).toBe(false);
    const changed = await hashPassword("two");
    expect(await verified.check("u", "one", changed), "the old password, after a change").toBe(false);
    expect(await verified.check("u", "two", changed)).toBe(true);
    expect(await verified.check("v", "two", old), "another user with the same stored hash and a wrong password").toBe(false);
  });
});

describe("the auth records", () => {
  it("take store indexes as etcd's writes do, and survive a snapshot", () => {
    const auth = new AuthStore();
    expect(auth.apply({ op: "putUser", user: "root", password: "", roles: null })).toEqual({
      result: { ok: false, status: 400, message: "auth: Cannot create user root with an empty password" },
      writes: 0,
    });
    expect(auth.apply({ op: "deleteRole", role: "nobody" }).writes, "the internal records, then a failed delete").toBe(4);
    expect(auth.apply({ op: "putUser", user: "root", password: "hash", roles: null })).toEqual({
      result: { ok: true, status: 201, user: { user: "root", roles: ["root"] } },
      writes: 1,
    });
    expect(auth.apply({ op: "enable" }).writes, "the guest role, then enabled").toBe(2);
    const copy = AuthStore.fromJSON(JSON.parse(JSON.stringify(auth.toJSON())));
    expect([copy.enabled, copy.created, copy.userNames(), copy.roleNames(), copy.user("root")?.password]).toEqual([true, true, ["root"], ["guest", "root"], "hash"]);
    expect(copy.apply({ op: "deleteUser", user: "root" }).result).toEqual({ ok: false, status: 403, message: "auth: Cannot delete root user while auth is enabled." });
  });
});
