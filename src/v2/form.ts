/**
 * Request parameters parsed the way Go's net/http does for etcd: query and
 * url-encoded form bodies, percent-decoding to bytes then UTF-8, the error
 * texts etcd reports (as the cause of error 210), and body values placed
 * before query values so that the body wins.
 */
import { POST_TOO_LARGE } from "./errors.ts";

export type Params = Map<string, string[]>;

export class FormError extends Error {}

/** Go's url.QueryUnescape (or PathUnescape when `plusIsSpace` is false). */
export function unescape(s: string, plusIsSpace: boolean): string {
  if (!s.includes("%") && !(plusIsSpace && s.includes("+"))) return s;
  let out = "";
  for (let i = 0; i < s.length; ) {
    if (s[i] === "%") {
      // A run of escapes is one byte sequence: decode it as UTF-8 as a whole.
      const bytes: number[] = [];
      while (s[i] === "%") {
        const hex = s.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new FormError(`invalid URL escape ${goQuote(s.slice(i, i + 3))}`);
        bytes.push(parseInt(hex, 16));
        i += 3;
      }
      out += decodeUTF8(bytes);
    } else if (s[i] === "+" && plusIsSpace) {
      out += " ";
      i++;
    } else {
      out += s[i++];
    }
  }
  return out;
}

/**
 * UTF-8 to a string, keeping invalid bytes: each becomes a lone surrogate
 * (U+DC80 + byte, Python's "surrogateescape"), so values round-trip and the
 * JSON encoder can write one \ufffd per invalid byte as Go does.
 */
export function decodeUTF8(bytes: ArrayLike<number>): string {
  try {
    // Valid UTF-8, the common case, decodes natively.
    return strictUTF8.decode(bytes instanceof Uint8Array ? bytes : new Uint8Array(Array.from(bytes)));
  } catch {
    return decodeKeepingInvalidBytes(bytes);
  }
}

const strictUTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function decodeKeepingInvalidBytes(bytes: ArrayLike<number>): string {
  let out = "";
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    const need = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    let cp = need === 0 ? b : need === 1 ? b & 0x1f : need === 2 ? b & 0x0f : b & 0x07;
    let ok = need >= 0 && i + need < bytes.length + (need === 0 ? 1 : 0);
    for (let k = 1; ok && k <= need; k++) {
      const c = bytes[i + k];
      if ((c & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (c & 0x3f);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are invalid too.
    if (ok && ((need === 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (need === 3 && (cp < 0x10000 || cp > 0x10ffff)))) ok = false;
    if (!ok) {
      out += String.fromCharCode(0xdc00 + b);
      i++;
      continue;
    }
    out += String.fromCodePoint(cp);
    i += need + 1;
  }
  return out;
}

/** Go's url.ParseQuery: keeps going after an error but reports the first one. */
export function parseQuery(query: string, into: Params = new Map()): { params: Params; error: string | null } {
  let error: string | null = null;
  for (const part of query.split("&")) {
    if (part.includes(";")) {
      error ??= "invalid semicolon separator in query";
      continue;
    }
    if (part === "") continue;
    const eq = part.indexOf("=");
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? "" : part.slice(eq + 1);
    try {
      const key = unescape(rawKey, true);
      const value = unescape(rawValue, true);
      const list = into.get(key);
      if (list) list.push(value);
      else into.set(key, [value]);
    } catch (e) {
      if (!(e instanceof FormError)) throw e;
      error ??= e.message;
    }
  }
  return { params: into, error };
}

/** Go's strconv.Quote for the short ASCII strings in escape errors. */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

export const MAX_FORM_BYTES = 10 << 20;

/**
 * Go's mime.ParseMediaType, reduced to what decides form parsing: the
 * lower-cased media type, or an error text for a malformed header.
 */
export function mediaType(contentType: string): { type: string; error: string | null } {
  const semi = contentType.indexOf(";");
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (type === "") return { type, error: "mime: no media type" };
  const token = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
  const slash = type.indexOf("/");
  if (slash < 0) return { type, error: "mime: expected slash after first token" };
  if (!token.test(type.slice(0, slash)) || !token.test(type.slice(slash + 1))) {
    return { type, error: "mime: expected token after slash" };
  }
  if (semi >= 0) {
    for (const param of contentType.slice(semi + 1).split(";")) {
      if (param.trim() === "") continue;
      if (!/^\s*[!#$%&'*+\-.^_`|~0-9A-Za-z]+=("[^"]*"|[!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*$/.test(param)) {
        return { type, error: "mime: invalid media parameter" };
      }
    }
  }
  return { type, error: null };
}

/**
 * Go's Request.ParseForm for etcd's handlers: a url-encoded body is read
 * only for POST and PUT, its values come before the query's, and the first
 * error wins. The body is passed in already read (null when none).
 */
export function parseForm(
  method: string,
  contentType: string | null,
  body: string | null,
  rawQuery: string,
): { params: Params; error: string | null } {
  const params: Params = new Map();
  let error: string | null = null;
  if ((method === "POST" || method === "PUT") && body !== null) {
    const media = mediaType(contentType || "application/octet-stream");
    error = media.error;
    if (media.type === "application/x-www-form-urlencoded") {
      if (body.length > MAX_FORM_BYTES) return { params, error: POST_TOO_LARGE };
      error ??= parseQuery(body, params).error;
    }
  }
  const query = parseQuery(rawQuery, params);
  return { params, error: error ?? query.error };
}
