// The odd values the generators put where a well-behaved client puts a sane
// one: numbers at and past every integer limit, strings with escapes,
// unicode, control characters and path tricks, base64 that is not base64,
// and sizes up to (and just past) the request limits.
import type { Rng } from "./rng.ts";

/** The server refuses a v2 body over this (etcd's --max-request-bytes) and a v3 gateway body over this plus 512 KiB. */
export const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
export const MAX_V3_BODY_BYTES = MAX_REQUEST_BYTES + 512 * 1024;

const NUMBER_TEXTS = [
  "0", "1", "-1", "2", "5", "100", "-100", "007", "1.5", "-0", "1e3", "1e400", "-1e400", "0x10", " 1", "1 ", "+1", "",
  "2147483647", "2147483648", "-2147483649", "4294967296", "9007199254740991", "9007199254740993",
  "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
  "18446744073709551615", "18446744073709551616", "99999999999999999999999999999", "NaN", "Infinity", "true", "null", "abc",
];

const STRINGS = [
  "", "a", "foo", "fz", "fz/a", "fz/b/c", " ", "\t", "\n", "\r\n", "\u0000", "\u0001", "\u007f", "\u00ff", "ключ", "键", "🔑", "\ud800",
  "\\", "\"", "'", "%", "%00", "%zz", "%2F", "%252F", "+", "&", "=", "?", "#", ";", "..", ".", "/", "//", "/./", "/../", "_hidden", "*",
  "a*", "null", "true", "{}", "[]", "<script>", "${x}",
];

/** Integer-ish text: limits, signs, floats, exponents, words. */
export function numberText(r: Rng): string {
  if (r.chance(0.3)) return String(r.int(20));
  return r.pick(NUMBER_TEXTS);
}

/** A JSON value of some type, for a field that wants another one. */
export function anyJSON(r: Rng, depth = 0): unknown {
  switch (r.int(depth > 2 ? 6 : 8)) {
    case 0: return null;
    case 1: return r.chance(0.5);
    case 2: return Number(numberText(r)) || r.int(1000) - 500;
    case 3: return numberText(r);
    case 4: return oddString(r);
    case 5: return base64Text(r);
    case 6: return Array.from({ length: r.int(4) }, () => anyJSON(r, depth + 1));
    default: return Object.fromEntries(Array.from({ length: r.int(4) }, () => [r.pick(["key", "value", "ID", "x", "", "range_end", "TTL"]), anyJSON(r, depth + 1)]));
  }
}

/** A short string with something unusual in it. */
export function oddString(r: Rng): string {
  const parts = Array.from({ length: 1 + r.int(3) }, () => (r.chance(0.7) ? r.pick(STRINGS) : randomText(r, 1 + r.int(12))));
  return parts.join("");
}

/** Random code points, some outside the BMP, some unpaired surrogates. */
export function randomText(r: Rng, length: number): string {
  let s = "";
  for (let i = 0; i < length; i++) {
    const kind = r.int(10);
    if (kind < 6) s += String.fromCharCode(0x20 + r.int(0x5f));
    else if (kind < 7) s += String.fromCharCode(r.int(0x20));
    else if (kind < 9) s += String.fromCodePoint(0xa0 + r.int(0x2f00));
    else s += String.fromCodePoint(r.chance(0.5) ? 0x1f300 + r.int(0x200) : 0xd800 + r.int(0x800));
  }
  return s;
}

/** Base64 of some bytes, or text that only looks like base64 (bad length, bad alphabet, URL-safe, padding in the middle). */
export function base64Text(r: Rng): string {
  switch (r.int(8)) {
    case 0: return r.pick(["", "=", "==", "A", "AA", "AAA", "A===", "!!!!", "YQ", "YQ=", "YQ==", "Y Q==", "YQ==YQ==", "_-_-", "+/+/", "AA==", "/w==", "\u00e9\u00e9"]);
    case 1: return randomText(r, 1 + r.int(10));
    case 2: return Buffer.from(r.bytes(r.int(40))).toString("base64url");
    default: return Buffer.from(r.bytes(r.int(24))).toString("base64");
  }
}

/** A value of `size` bytes made of one repeated piece (cheap to build, and to send). */
export function sized(r: Rng, size: number): string {
  const piece = r.pick(["x", "%01", "%80", "\u00e9", "\\u0001", "🔑", "a=b&"]);
  return piece.repeat(Math.max(1, Math.ceil(size / Buffer.byteLength(piece)))).slice(0, size);
}

/** A body length: mostly small, sometimes large, rarely right at or just past a limit. */
export function bodySize(r: Rng, limit: number): number {
  return r.weighted([
    [80, r.int(200)],
    [12, r.int(64 * 1024)],
    [5, r.int(limit)],
    [2, limit - r.int(16)],
    [1, limit + 1 + r.int(1024)],
  ]);
}
