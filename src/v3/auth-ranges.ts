/**
 * Whether a role's key permissions cover a request's keys, with the
 * interval rules of etcd 3.4's permission cache (auth/range_perm_cache.go
 * over pkg/adt's affine byte intervals):
 *
 * - a permission with no range_end covers its key alone; with range_end
 *   "\0", every key from its key on; otherwise [key, range_end);
 * - an empty byte string as a bound stands for "past every key", so a
 *   permission whose key is "" covers nothing; every key is "\0" to "\0",
 *   which is what etcdctl sends for `--prefix` (or `--from-key`) on "";
 * - a request for one key (no range_end) needs a permission that holds
 *   that key; a range request needs the permissions that meet its
 *   interval to cover it without a gap, as adt's IntervalTree.Contains
 *   decides.
 */
import type { Bytes } from "./types.ts";

export type PermType = "READ" | "WRITE" | "READWRITE";

export interface KeyPermission {
  permType: PermType;
  key: Bytes;
  rangeEnd: Bytes;
}

/** A bound; null is past every key (adt's empty BytesAffineComparable). */
type Bound = Bytes | null;

interface Interval {
  begin: Bound;
  end: Bound;
}

function compare(a: Bound, b: Bound): number {
  if (a === null) return b === null ? 0 : 1;
  if (b === null) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

const bound = (b: Bytes): Bound => (b === "" ? null : b);

/** The interval a permission covers (getMergedPerms). */
function permInterval(p: KeyPermission): Interval {
  if (p.rangeEnd === "") return { begin: bound(p.key), end: `${p.key}\0` };
  return { begin: bound(p.key), end: p.rangeEnd === "\0" ? null : p.rangeEnd };
}

/** Whether `p` grants reading (or writing) at all: READWRITE does both. */
export function grants(p: KeyPermission, write: boolean): boolean {
  return p.permType === "READWRITE" || p.permType === (write ? "WRITE" : "READ");
}

/** Whether `perms` (already those of the wanted type) cover key (and range_end, as a request gives them). */
export function covers(perms: KeyPermission[], key: Bytes, rangeEnd: Bytes): boolean {
  const intervals = perms.map(permInterval);
  if (rangeEnd === "") {
    // checkKeyPoint: some permission holds the key.
    return intervals.some((i) => compare(i.begin, key) <= 0 && compare(key, i.end) < 0);
  }
  const want: Interval = { begin: bound(key), end: rangeEnd === "\0" ? null : rangeEnd };
  // IntervalTree.Contains: the intervals meeting `want`, by begin, without a gap, from before its begin to past its end.
  const meeting = intervals
    .filter((i) => compare(i.begin, want.end) < 0 && compare(want.begin, i.end) < 0)
    .sort((a, b) => compare(a.begin, b.begin));
  if (meeting.length === 0) return false;
  let maxEnd = meeting[0].end;
  for (const i of meeting.slice(1)) {
    if (compare(maxEnd, i.begin) < 0) return false;
    if (compare(i.end, maxEnd) > 0) maxEnd = i.end;
  }
  return compare(meeting[0].begin, want.begin) <= 0 && compare(maxEnd, want.end) >= 0;
}
