/**
 * A transaction's compares, as etcd decides them: a compare over a range
 * holds when it holds for every key there; over no key, it is decided against
 * a key with every field zero, except that a VALUE compare then fails (a
 * missing value cannot be told from an empty one).
 */
import type { Compare, KeyValue } from "./types.ts";

export function compareHolds(c: Compare, kvs: KeyValue[]): boolean {
  if (kvs.length === 0) return c.target !== "VALUE" && holds(c, ZERO);
  return kvs.every((kv) => holds(c, kv));
}

const ZERO: KeyValue = { key: "", createRevision: 0, modRevision: 0, version: 0, value: "", lease: 0 };

function holds(c: Compare, kv: KeyValue): boolean {
  const order = ordering(c, kv);
  switch (c.result) {
    case "EQUAL":
      return order === 0;
    case "NOT_EQUAL":
      return order !== 0;
    case "GREATER":
      return order > 0;
    case "LESS":
      return order < 0;
    case "UNKNOWN":
      return true;
  }
}

/** How the key's field orders against the compare's operand: negative, zero or positive. */
function ordering(c: Compare, kv: KeyValue): number {
  switch (c.target) {
    case "VALUE":
      return kv.value < c.value ? -1 : kv.value > c.value ? 1 : 0;
    case "VERSION":
      return Math.sign(kv.version - c.version);
    case "CREATE":
      return Math.sign(kv.createRevision - c.createRevision);
    case "MOD":
      return Math.sign(kv.modRevision - c.modRevision);
    case "LEASE":
      return Math.sign(kv.lease - c.lease);
    case "UNKNOWN":
      return 0;
  }
}
