/**
 * The pure parts of v3 auth: key-range permissions with etcd's interval
 * rules, the auth store's changes and checks, what each request needs,
 * and the common name of a client certificate's subject. (Answers as a
 * whole are compared with etcd's in test/compat/v3-auth.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { commonName } from "../../src/http/client-identity.ts";
import { covers, type KeyPermission } from "../../src/v3/auth-ranges.ts";
import { checkWriteAccess } from "../../src/v3/auth-requests.ts";
import { MAX_TOKEN_AGE_MS, V3AuthStore, type V3AuthChange } from "../../src/v3/auth-store.ts";

const rw = (key: string, rangeEnd = ""): KeyPermission => ({ permType: "READWRITE", key, rangeEnd });

describe("key-range permissions (etcd's affine intervals)", () => {
  it("a permission without range end holds its key alone", () => {
    expect(covers([rw("a")], "a", "")).toBe(true);
    expect(covers([rw("a")], "ab", "")).toBe(false);
    expect(covers([rw("a")], "a", "a\0")).toBe(true);
    expect(covers([rw("a")], "a", "b")).toBe(false);
  });

  it("a range covers [key, range_end); a request range must be covered without gaps", () => {
    const perms = [rw("a", "c"), rw("c", "e")];
    expect(covers(perms, "b", "")).toBe(true);
    expect(covers(perms, "e", "")).toBe(false);
    expect(covers(perms, "a", "e")).toBe(true);
    expect(covers(perms, "a", "f")).toBe(false);
    expect(covers([rw("a", "b"), rw("c", "e")], "a", "d"), "a gap at [b, c)").toBe(false);
    expect(covers([rw("b", "e")], "a", "c"), "starts before the permission").toBe(false);
  });

  it('"\\0" as range end is open ended; "" as a key stands past every key', () => {
    expect(covers([rw("m", "\0")], "zzz", "")).toBe(true);
    expect(covers([rw("m", "\0")], "m", "\0")).toBe(true);
    expect(covers([rw("m", "\0")], "a", "\0")).toBe(false);
    expect(covers([rw("", "\0")], "a", ""), "etcd: an empty key covers nothing").toBe(false);
    expect(covers([rw("\0", "\0")], "a", "")).toBe(true);
    expect(covers([rw("\0", "\0")], "\0", "\0"), "every key").toBe(true);
  });
});

describe("the v3 auth store", () => {
  const root = { user: "root", revision: 0 };
  const setUp = () => {
    const s = new V3AuthStore();
    const ok = (c: V3AuthChange) => expect(s.apply({ ...c, by: null }, 1)).toEqual({ ok: true });
    ok({ op: "userAdd", name: "root", password: "h", noPassword: false });
    ok({ op: "userGrantRole", name: "root", role: "root" });
    ok({ op: "roleAdd", name: "app" });
    ok({ op: "roleGrantPermission", name: "app", perm: { permType: "READ", key: "/a", rangeEnd: "/b" } });
    ok({ op: "userAdd", name: "u", password: "h", noPassword: false });
    ok({ op: "userGrantRole", name: "u", role: "app" });
    ok({ op: "enable" });
    return s;
  };

  it("needs root for changes once enabled, and counts its revision", () => {
    const s = setUp();
    const rev = s.revision;
    expect(s.apply({ op: "roleAdd", name: "x", by: null }, 2)).toEqual({ ok: false, error: { code: 3, message: "etcdserver: user name is empty" } });
    expect(s.apply({ op: "roleAdd", name: "x", by: { user: "u", revision: rev } }, 2)).toEqual({ ok: false, error: { code: 7, message: "etcdserver: permission denied" } });
    expect(s.apply({ op: "roleAdd", name: "x", by: { ...root, revision: rev } }, 2)).toEqual({ ok: true });
    expect(s.revision).toBe(rev + 1);
    expect(s.apply({ op: "userDelete", name: "root", by: root }, 3).ok, "root stays while auth is on").toBe(false);
  });

  it("checks keys against the revision a request was authorized at", () => {
    const s = setUp();
    const u = { user: "u", revision: s.revision };
    expect(() => s.checkKeys(u, "/a/1", "", false)).not.toThrow();
    expect(() => s.checkKeys(u, "/a/1", "", true)).toThrow("etcdserver: permission denied");
    expect(() => s.checkKeys(u, "/c", "", false)).toThrow("etcdserver: permission denied");
    expect(() => s.checkKeys(null, "/a/1", "", false)).toThrow("etcdserver: user name is empty");
    s.apply({ op: "roleAdd", name: "y", by: { ...root, revision: s.revision } }, 9);
    expect(() => s.checkKeys(u, "/a/1", "", false)).toThrow("etcdserver: revision of auth store is old");
  });

  it("issues tokens on apply, drops a user's with its password, all with auth", () => {
    const s = setUp();
    const issue = (name: string, issued: number, index: number) => s.apply({ op: "authenticate", name, letters: "abcdefghijklmnop", issued, by: null }, index);
    expect(issue("u", 1000, 20)).toEqual({ ok: true, token: "abcdefghijklmnop.20" });
    expect(s.token("abcdefghijklmnop.20")).toEqual({ user: "u", issued: 1000 });
    issue("u", 1000 + MAX_TOKEN_AGE_MS + 1, 21);
    expect(s.token("abcdefghijklmnop.20"), "too old: pruned").toBeUndefined();
    s.apply({ op: "userChangePassword", name: "u", password: "h2", by: { ...root, revision: s.revision } }, 22);
    expect(s.tokenCount()).toBe(0);
    issue("root", 5000, 23);
    s.apply({ op: "disable", by: { ...root, revision: s.revision } }, 24);
    expect(s.tokenCount()).toBe(0);
    expect(issue("root", 5000, 25).ok, "no tokens while auth is off").toBe(false);
  });

  it("survives its snapshot", () => {
    const s = setUp();
    s.apply({ op: "authenticate", name: "u", letters: "abcdefghijklmnop", issued: 1, by: null }, 30);
    const copy = V3AuthStore.fromJSON(JSON.parse(JSON.stringify(s.toJSON())));
    expect(copy.toJSON()).toEqual(s.toJSON());
  });

  it("a write needs what etcd's auth applier checks: prev_kv reads, and a lease's keys", () => {
    const s = setUp();
    s.apply({ op: "roleGrantPermission", name: "app", perm: { permType: "WRITE", key: "/w", rangeEnd: "/x" }, by: { ...root, revision: s.revision } }, 40);
    const u = { user: "u", revision: s.revision };
    const noLease = () => [];
    const put = (key: string, extra: object = {}) => ({ op: "put" as const, req: { key, value: "v", lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false, ...extra } });
    expect(() => checkWriteAccess(s, u, put("/w/1"), noLease)).not.toThrow();
    expect(() => checkWriteAccess(s, u, put("/w/1", { prevKv: true }), noLease)).toThrow("permission denied");
    expect(() => checkWriteAccess(s, u, put("/w/1", { lease: 7 }), () => ["/elsewhere"])).toThrow("permission denied");
    expect(() => checkWriteAccess(s, u, { op: "leaseRevoke", req: { id: 7 } }, () => ["/w/2"])).not.toThrow();
    expect(() => checkWriteAccess(s, u, { op: "leaseRevoke", req: { id: 7 } }, () => ["/w/2", "/a/1"])).toThrow("permission denied");
    expect(() => checkWriteAccess(s, null, { op: "compact", req: { revision: 1, physical: false } }, noLease), "compaction is not checked in 3.4").not.toThrow();
  });
});

describe("a certificate's common name", () => {
  it("is the first CN of an RFC 2253 name, unescaped", () => {
    expect(commonName("CN=alice,O=Example,C=US")).toBe("alice");
    expect(commonName("O=Example, CN=bob")).toBe("bob");
    expect(commonName("CN=a\\,b+OU=x,O=y")).toBe("a,b");
    expect(commonName("CN=caf\\C3\\A9")).toBe("café");
    expect(commonName("O=Example")).toBeUndefined();
  });
});
