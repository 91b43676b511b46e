/**
 * Sizes of strings as SQLite stores them: UTF-8, where a lone surrogate
 * becomes U+FFFD (three bytes) and a surrogate pair one four-byte character.
 * Storage limits are in bytes, while JavaScript counts UTF-16 units, and an
 * escape-heavy string can take three times its length in bytes.
 */

/** Bytes the UTF-8 encoding of `s` takes; counting stops early once past `stopAbove`. */
export function utf8Length(s: string, stopAbove = Infinity): number {
  let bytes = 0;
  for (let i = 0; i < s.length && bytes <= stopAbove; ) {
    const step = codePointAt(s, i);
    bytes += step.bytes;
    i += step.units;
  }
  return bytes;
}

/** Whether `s` takes more than `limit` bytes in UTF-8; counted only when its length leaves it in doubt (at most 3 bytes per UTF-16 unit). */
export function longerInUTF8(s: string, limit: number): boolean {
  return s.length * 3 > limit && utf8Length(s, limit) > limit;
}

/**
 * `s` cut into consecutive pieces of at most `maxBytes` bytes each in UTF-8,
 * never between the two halves of a surrogate pair (each half alone would be
 * stored as U+FFFD, and the joined pieces would no longer be `s`).
 */
export function utf8Pieces(s: string, maxBytes: number): string[] {
  const pieces: string[] = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < s.length; ) {
    const step = codePointAt(s, i);
    if (bytes + step.bytes > maxBytes && i > start) {
      pieces.push(s.slice(start, i));
      start = i;
      bytes = 0;
    }
    bytes += step.bytes;
    i += step.units;
  }
  if (start < s.length) pieces.push(s.slice(start));
  return pieces;
}

/** The character at `i`: how many UTF-16 units it spans and how many bytes it takes in UTF-8. */
function codePointAt(s: string, i: number): { units: number; bytes: number } {
  const c = s.charCodeAt(i);
  if (c < 0x80) return ONE;
  if (c < 0x800) return TWO;
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const next = s.charCodeAt(i + 1);
    if (next >= 0xdc00 && next <= 0xdfff) return PAIR;
  }
  return THREE;
}

const ONE = { units: 1, bytes: 1 };
const TWO = { units: 1, bytes: 2 };
const THREE = { units: 1, bytes: 3 };
const PAIR = { units: 2, bytes: 4 };
