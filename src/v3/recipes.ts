/**
 * etcd's lock and election services (v3lock, v3election), built as etcd
 * builds them: clients of the KV API following the concurrency recipes, with
 * the same keys, so that clients using etcd's client-side recipes and clients
 * using these services see the same locks and leaders. A lock or a
 * candidacy is the key `<name>/<lease id in hex>`, created with that lease;
 * it is held (or leads) once every key of the name created before it is
 * gone, which the caller waits for key by key.
 */
import { GrpcCode, V3Error } from "./errors.ts";
import { putRequest, rangeRequest } from "./requests.ts";
import type { Bytes, KeyValue, RangeRequest, RangeResponse, RequestOp, TxnResponse } from "./types.ts";

/** What the recipes need of the cluster. */
export interface RecipeClient {
  range(req: Partial<RangeRequest> & { key: Bytes }): Promise<RangeResponse>;
  txn(compare: { key: Bytes; createRevision: number }, success: RequestOp[], failure: RequestOp[]): Promise<TxnResponse>;
  deleteKey(key: Bytes): Promise<{ revision: number }>;
  /** Resolves once `key` is deleted at a revision after `revision`. */
  deleted(key: Bytes, revision: number): Promise<void>;
}

export interface LeaderKey {
  name: Bytes;
  key: Bytes;
  rev: number;
  lease: number;
}

/** A key of a name that is now the oldest: what it holds, and the revisions its creation and the wait answered at. */
export interface Held {
  key: Bytes;
  /** Its create revision. */
  rev: number;
  value: Bytes;
  txnRevision: number;
  waitRevision: number;
}

const unknown = (message: string) => new V3Error(GrpcCode.Unknown, message);
export const errNotLeader = () => unknown("election: not leader");
export const errNoLeader = () => unknown("election: no leader");
export const errNoLeaderKey = () => unknown('"leader" field must be provided');

/** The end of the prefix range of `prefix` (etcd's GetPrefixRangeEnd). */
export function prefixEnd(prefix: Bytes): Bytes {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const c = prefix.charCodeAt(i);
    if (c < 0xff) return prefix.slice(0, i) + String.fromCharCode(c + 1);
  }
  return "\0";
}

export const keyOf = (name: Bytes, lease: number) => `${name}/${lease.toString(16)}`;

/**
 * Creates the key of `name` for `lease` (or finds it), then waits until it is
 * the oldest of the name: the lock is held, or the candidacy leads. `value`
 * is what a new key holds.
 */
export async function acquire(c: RecipeClient, name: Bytes, lease: number, value: Bytes): Promise<Held> {
  const key = keyOf(name, lease);
  const r = await c.txn(
    { key, createRevision: 0 },
    [{ put: putRequest(key, value, { lease }) }],
    [{ range: rangeRequest(key) }],
  );
  let rev = r.revision;
  let current = value;
  if (!r.succeeded) {
    const kv = (r.responses[0] as { range: RangeResponse }).range.kvs[0];
    rev = kv.createRevision;
    current = kv.value;
  }
  const waitRevision = await waitForOlder(c, `${name}/`, rev);
  return { key, rev, value: current, txnRevision: r.revision, waitRevision };
}

/** Waits until no key of `prefix` created before `rev` is left; answers the revision it last saw. */
async function waitForOlder(c: RecipeClient, prefix: Bytes, rev: number): Promise<number> {
  for (;;) {
    const older = await c.range({ key: prefix, rangeEnd: prefixEnd(prefix), maxCreateRevision: rev - 1, sortTarget: "CREATE", sortOrder: "DESCEND", limit: 1 });
    if (older.kvs.length === 0) return older.revision;
    await c.deleted(older.kvs[0].key, older.revision);
  }
}

/** Puts a new value on the leader's key, if it still leads (its key was created at `rev`). */
export async function proclaim(c: RecipeClient, leader: LeaderKey, value: Bytes): Promise<number> {
  const r = await c.txn(
    { key: leader.key, createRevision: leader.rev },
    [{ put: putRequest(leader.key, value, { ignoreLease: true }) }],
    [],
  );
  if (!r.succeeded) throw errNotLeader();
  return r.revision;
}

/** Deletes the leader's key, if it is still the one created at `rev`. */
export async function resign(c: RecipeClient, leader: LeaderKey): Promise<number> {
  const r = await c.txn({ key: leader.key, createRevision: leader.rev }, [{ deleteRange: { key: leader.key, rangeEnd: "", prevKv: false } }], []);
  return r.revision;
}

/** The oldest key of the election `name`: its leader. */
export async function leaderOf(c: RecipeClient, name: Bytes): Promise<{ revision: number; kv: KeyValue }> {
  const prefix = `${name}/`;
  const r = await c.range({ key: prefix, rangeEnd: prefixEnd(prefix), sortTarget: "CREATE", sortOrder: "ASCEND", limit: 1 });
  if (r.kvs.length === 0) throw errNoLeader();
  return { revision: r.revision, kv: r.kvs[0] };
}
