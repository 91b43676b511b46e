// What one fuzz request is, and the encodings the generators build them with.

/** How the answer is read and judged. */
export type Shape =
  /** Answered at once: the whole answer is read, and must come within the bound. */
  | "unary"
  /** A stream (v2 wait, v3 watch, keep-alive, observe): its headers must come within the bound; a little of the body is read, then the connection is closed. */
  | "stream"
  /** May wait for something that never comes (a lock held by someone else, a campaign): aborted at the bound without blame. */
  | "blocking";

export interface FuzzRequest {
  /** The endpoint family, for the report (e.g. "v2/keys", "v3/kv/txn"). */
  family: string;
  method: string;
  /** Path and query, sent as they are (percent-escapes included). */
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  shape: Shape;
}

export const b64 = (s: string | Uint8Array): string => Buffer.from(typeof s === "string" ? Buffer.from(s, "utf8") : s).toString("base64");

/** The string with each unpaired surrogate (which has no UTF-8 form) as U+FFFD. */
export function wellFormed(s: string): string {
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
}

/** A form or query string from pairs, each part escaped unless `raw` says it is already what should go on the wire. */
export function formOf(pairs: ReadonlyArray<readonly [string, string]>, raw = false): string {
  const esc = raw ? (s: string) => s : (s: string) => encodeURIComponent(wellFormed(s));
  return pairs.map(([k, v]) => `${esc(k)}=${esc(v)}`).join("&");
}

/** Escapes what Node refuses to put in a request line (controls, spaces, non-ASCII), and leaves the rest, '%' included, as it is. */
export function onTheWire(path: string): string {
  return wellFormed(path).replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));
}

export function withQuery(path: string, query: string): string {
  return query ? `${path}?${query}` : path;
}
