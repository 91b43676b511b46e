/** v3 discovery's confinement: a span is allowed only inside one token's registry keys. */
import { describe, expect, it } from "vitest";
import { tokenOfSpan } from "../../src/discovery/v3-registry.ts";
import { tokenLease } from "../../src/discovery/token.ts";

const T = "0123456789abcdef0123456789abcdef";
const R = `/_etcd/registry/${T}`;

describe("tokenOfSpan", () => {
  it("allows one key, a prefix or a range inside one token's keys", () => {
    expect(tokenOfSpan(`${R}/_config/size`, "")).toBe(T);
    expect(tokenOfSpan(`${R}/members`, `${R}/membert`)).toBe(T);
    expect(tokenOfSpan(R, `/_etcd/registry/0123456789abcdef0123456789abcdeg`)).toBe(T);
  });

  it("refuses keys outside the registry, another token's keys, open ranges and ranges past the token", () => {
    const refused: [string, string][] = [
      ["/somewhere", ""],
      ["/_etcd/registry/", "/_etcd/registry0"],
      [`${R}x/members`, ""],
      [`${R}/members`, "\0"],
      [`${R}/members`, `/_etcd/registry/${"f".repeat(32)}`],
    ];
    for (const [key, end] of refused) expect(() => tokenOfSpan(key, end), `${key} .. ${end}`).toThrow("etcdserver: permission denied");
  });

  it("gives each token a fixed lease id that fits a JavaScript number", () => {
    expect(tokenLease(T)).toBe(0x0123456789abc);
    expect(tokenLease("0".repeat(32))).toBe(1);
    expect(Number.isSafeInteger(tokenLease("f".repeat(32)))).toBe(true);
  });
});
