/**
 * The pure parts of the admission limits: UTF-8 sizes as SQLite stores them,
 * pieces cut by bytes that never split a surrogate pair, the entry limit on
 * what a request's escapes expand to, and a streamed body's lines read
 * against a cap.
 */
import { describe, expect, it } from "vitest";
import { entryTooLarge, EntryTooLarge, MAX_ENTRY_BYTES, MAX_REQUEST_BYTES, RequestTooLarge } from "../../src/server/limits.ts";
import { forEachLine } from "../../src/server/lines.ts";
import { utf8Length, utf8Pieces } from "../../src/server/utf8.ts";
import { encodeCommand } from "../../src/server/state.ts";
import { decodeUTF8, unescape } from "../../src/v2/form.ts";

const encoder = new TextEncoder();
/** SQLite stores a lone surrogate as U+FFFD, as TextEncoder encodes it. */
const stored = (s: string) => encoder.encode(s).byteLength;

/** A seeded mix of every kind of UTF-16 unit: ASCII, 2- and 3-byte, pairs, lone halves. */
function mixed(n: number, seed: number): string {
  let x = seed;
  const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31);
  const parts = ["a", "\u0001", "é", "€", "😀", "\ud800", "\udc80", "\uffff"];
  return Array.from({ length: n }, () => parts[next() % parts.length]).join("");
}

describe("UTF-8 sizes", () => {
  it("utf8Length counts what SQLite stores, lone surrogates as three bytes", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const s = mixed(500, seed);
      expect(utf8Length(s)).toBe(stored(s));
    }
    expect(utf8Length("😀")).toBe(4);
    expect(utf8Length("\ud83d")).toBe(3);
  });

  it("utf8Pieces cuts by bytes, never inside a pair, and the pieces join back", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const s = mixed(2000, seed);
      for (const max of [4, 7, 64, 1000]) {
        const pieces = utf8Pieces(s, max);
        expect(pieces.join("")).toBe(s);
        for (const p of pieces) {
          expect(stored(p)).toBeLessThanOrEqual(max);
          // Each piece stores what it holds: no half of a pair at either end.
          expect(stored(p)).toBe(utf8Length(p));
        }
        expect(pieces.map(stored).reduce((a, b) => a + b, 0)).toBe(stored(s));
      }
    }
    // A pair that would straddle the cut moves whole to the next piece.
    expect(utf8Pieces("aa😀", 4)).toEqual(["aa", "😀"]);
  });
});

describe("the entry limit", () => {
  it("holds the UTF-8 size of the encoded entry, not its length", () => {
    expect(entryTooLarge("a".repeat(MAX_ENTRY_BYTES))).toBeNull();
    expect(entryTooLarge("a".repeat(MAX_ENTRY_BYTES + 1))).toBeInstanceOf(EntryTooLarge);
    const euros = "€".repeat(Math.floor(MAX_ENTRY_BYTES / 3));
    expect(entryTooLarge(euros)).toBeNull();
    expect(entryTooLarge(euros + "€")).toBeInstanceOf(EntryTooLarge);
  });

  it.each([["%01"], ["%80"]])("a form value of %s escapes within the request limit encodes past it", (escape) => {
    const value = unescape(escape.repeat(Math.floor(MAX_REQUEST_BYTES / 3)), true);
    const entry = encodeCommand({ op: "set", path: "/k", value, dir: false, ttl: null, refresh: false, now: 0 });
    expect(value.length).toBeLessThan(MAX_ENTRY_BYTES);
    expect(entryTooLarge(entry)).toBeInstanceOf(EntryTooLarge);
    expect(decodeUTF8([0x80]).length).toBe(1); // an invalid byte is one character, six once JSON-escaped
  });
});

describe("forEachLine's cap", () => {
  /** A body of `total` bytes with no newline, counting what was read of it. */
  function endlessLine(total: number, chunk = 1024) {
    const read = { bytes: 0 };
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (read.bytes >= total) return c.close();
        read.bytes += chunk;
        c.enqueue(new Uint8Array(chunk).fill(0x61));
      },
    });
    return { body, read };
  }

  it("stops reading a line past the cap and rejects with RequestTooLarge", async () => {
    const { body, read } = endlessLine(1024 * 1024);
    const lines: string[] = [];
    await expect(forEachLine(body, (l) => (lines.push(l), true), undefined, 10_000)).rejects.toBeInstanceOf(RequestTooLarge);
    expect(lines).toEqual([]);
    expect(read.bytes).toBeLessThan(20_000);
  });

  it("passes lines within the cap", async () => {
    const body = new Blob(["x".repeat(100), "\n", "y".repeat(100), "\n"]).stream();
    const lines: string[] = [];
    await forEachLine(body, (l) => (lines.push(l), true), undefined, 100);
    expect(lines.map((l) => l.length)).toEqual([100, 100]);
  });
});
