/**
 * A v3 write as it is kept in the Raft log: JSON with every byte field (key,
 * range_end, value) in base64. Bytes as they are would cost up to six
 * characters each once JSON-escaped (\u0000), and a log entry must stay
 * under a storage row's 2 MB; base64 costs four for three.
 */
import type { AuthInfo } from "./auth-store.ts";
import type { V3Command } from "./types.ts";

const BYTE_FIELDS = new Set(["key", "rangeEnd", "value"]);

/**
 * The entry data for a v3 write: `{"v3": command}`, and with v3 auth the
 * requester as `"by"` (etcd's AuthInfo in the request header), which the
 * apply checks the command against.
 */
export function encodeV3Entry(cmd: V3Command, by?: AuthInfo | null): string {
  const entry = by ? { v3: cmd, by } : { v3: cmd };
  return JSON.stringify(entry, (field, v) => (BYTE_FIELDS.has(field) && typeof v === "string" ? btoa(v) : v));
}

/** The command of a parsed entry's `v3` field, its bytes decoded. */
export function decodeV3Command(parsed: unknown): V3Command {
  return decodeBytes(parsed) as V3Command;
}

function decodeBytes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeBytes);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [field, v] of Object.entries(value)) out[field] = BYTE_FIELDS.has(field) && typeof v === "string" ? atob(v) : decodeBytes(v);
  return out;
}
