// What the fuzzer must not do, checked on each request as it will go on the
// wire (after mutation): write or delete under the prefixes that hold the
// acknowledged writes, delete a v3 range that could cover them, make auth
// enableable (a root user), change membership for real, create clusters
// outside its own, or reach the fault-injection API. A request that could is
// skipped (and counted), never changed, so a seed still replays exactly.
import type { FuzzRequest } from "./request.ts";

/** The acknowledged writes live here: v2 keys under the directory, v3 keys under the prefix. */
export const PROTECTED_V2_DIR = "/fuzz-acked";
export const PROTECTED_V3_PREFIX = "fuzz-acked/";
const PROTECTED_V3_END = "fuzz-acked0";
const MARKER = "fuzz-acked";

/** Named clusters the fuzzer creates and uses; any other name it must not create. */
export const FUZZ_CLUSTERS = ["fz-one"];

/** Why the request must be skipped, or null when it is safe to send. */
export function threat(req: FuzzRequest): string | null {
  const path = decodedPath(req.path);
  const body = bodyText(req.body);
  const reads = req.method === "GET" || req.method === "HEAD" || req.method === "OPTIONS";
  if (path.includes("_debug")) return "the fault-injection API";
  const cluster = /^\/clusters\/([^/]*)/.exec(path);
  if (cluster && !FUZZ_CLUSTERS.includes(cluster[1])) return "a cluster the fuzzer does not own";
  if (!reads && path.toLowerCase().includes(MARKER)) return "a write under the protected v2 directory";
  if (/\/v3(beta)?\//.test(path) || path.startsWith("/discovery/v3/")) {
    const strings = decodedStrings(body);
    if (strings.some((s) => s.includes(MARKER))) return "a v3 key under the protected prefix";
    if (/deleterange|txn|unlock|resign/.test(path) && coversProtected(strings)) return "a v3 range that could cover the protected prefix";
  }
  if (!reads && /\/auth\//.test(path) && (path.includes("root") || body.includes("root") || body.includes("cm9vd"))) return "a root user or role (auth could then be enabled)";
  if (!reads && /\/members|cluster\/member\//.test(path) && validPeerURLs(body)) return "a real membership change";
  return null;
}

/** The path with its escapes decoded, as many times as they nest (a server decodes once; this errs on the safe side). */
function decodedPath(path: string): string {
  let p = path.split("?")[0];
  for (let i = 0; i < 3; i++) {
    const next = p.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    if (next === p) break;
    p = next;
  }
  return p;
}

function bodyText(body: string | Uint8Array | undefined): string {
  if (body === undefined) return "";
  return typeof body === "string" ? body : Buffer.from(body).toString("latin1");
}

/**
 * Every JSON string literal in the body, unescaped, with what it decodes to
 * as base64 (standard or URL-safe: the gateway takes both) read as UTF-8 and
 * as bytes. Found by scanning, not parsing, so that a body the gateway reads
 * past a syntax error (it decodes the first value and ignores the rest) is
 * judged too.
 */
function decodedStrings(body: string): string[] {
  const out: string[] = [];
  for (const m of body.matchAll(/"((?:[^"\\]|\\.)*)"/gs)) {
    let s = m[1];
    try {
      s = JSON.parse(`"${m[1]}"`) as string;
    } catch {
      // an invalid escape: judged as written
    }
    const bytes = Buffer.from(s, "base64");
    out.push(s, bytes.toString("utf8"), bytes.toString("latin1"));
  }
  return out;
}

/** Whether some [key, range_end) among the strings ("\0" as range_end: to the end) could reach into the protected prefix. */
function coversProtected(strings: string[]): boolean {
  const starts = strings.filter((s) => s !== "" && s < PROTECTED_V3_END);
  if (starts.length === 0) return false;
  return strings.some((end) => end === "\u0000" || end > PROTECTED_V3_PREFIX);
}

/** Whether the body names peer URLs etcd would accept (scheme, host:port, no path): a member would really be added or changed. */
function validPeerURLs(body: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return /peerURLs/i.test(body) && /(https?|unixs?):\/\/[^/"]*:/i.test(body);
  }
  // etcd takes an empty host or port ("http://:"), so anything with a colon after the host counts.
  const urls = (parsed as { peerURLs?: unknown } | null)?.peerURLs;
  return Array.isArray(urls) && urls.length > 0 && urls.every((u) => typeof u === "string" && /^\s*(https?|unixs?):\/\/[^/?#]*:/i.test(u));
}
