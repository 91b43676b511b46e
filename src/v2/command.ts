/**
 * Commands: every change to the store is one of these plain objects, applied
 * in order. Each carries `now` (milliseconds since the epoch, decided by the
 * node that proposed it), so applying the same commands gives the same store
 * on every replica, TTL expirations included. `ttl` is in seconds; null means
 * no TTL (a write without a TTL makes the node permanent). `prevIndex` is the
 * decimal text of a uint64, "0" meaning "not given".
 */
export type Command =
  | { op: "set"; path: string; value: string; dir: boolean; ttl: number | null; refresh: boolean; now: number }
  | { op: "create"; path: string; value: string; dir: boolean; ttl: number | null; unique: boolean; now: number }
  | { op: "update"; path: string; value: string; ttl: number | null; refresh: boolean; now: number }
  | {
      op: "compareAndSwap";
      path: string;
      value: string;
      prevValue: string;
      prevIndex: string;
      ttl: number | null;
      refresh: boolean;
      now: number;
    }
  | { op: "delete"; path: string; dir: boolean; recursive: boolean; now: number }
  | { op: "compareAndDelete"; path: string; prevValue: string; prevIndex: string; now: number }
  /** Removes every node whose expiry is at or before `now` (etcd's SYNC). */
  | { op: "expire"; now: number };
