/**
 * Which key permissions each v3 KV request needs, as etcd 3.4 checks them
 * (etcdserver/apply_auth.go, v3_server.go): a range reads its range; a put
 * writes its key (reads it too with prev_kv), and may not attach a lease
 * whose keys the user could not write; a delete writes its range (reads it
 * with prev_kv); a transaction reads every compare's range and needs what
 * each of its ops needs, in both branches; revoking a lease needs write on
 * every key attached to it. Compaction and the other lease calls are not
 * checked, as in etcd 3.4.
 */
import type { AuthInfo, V3AuthStore } from "./auth-store.ts";
import type { Bytes, RequestOp, TxnRequest, V3Command } from "./types.ts";

/** The keys attached to a lease now (none for a lease that does not exist). */
export type LeaseKeys = (lease: number) => Bytes[];

/** Throws etcd's error when `by` may not run the write `cmd`; checked as the entry is applied. */
export function checkWriteAccess(store: V3AuthStore, by: AuthInfo | null, cmd: V3Command, leaseKeys: LeaseKeys): void {
  if (!store.enabled) return;
  switch (cmd.op) {
    case "put":
      store.checkKeys(by, cmd.req.key, "", true);
      checkLeasePuts(store, by, cmd.req.lease, leaseKeys);
      if (cmd.req.prevKv) store.checkKeys(by, cmd.req.key, "", false);
      return;
    case "deleteRange":
      store.checkKeys(by, cmd.req.key, cmd.req.rangeEnd, true);
      if (cmd.req.prevKv) store.checkKeys(by, cmd.req.key, cmd.req.rangeEnd, false);
      return;
    case "txn":
      return checkTxnAccess(store, by, cmd.req);
    case "leaseRevoke":
      return checkLeasePuts(store, by, cmd.req.id, leaseKeys);
    case "compact":
    case "leaseGrant":
      return;
  }
}

/** Throws etcd's error when `by` may not read `key` to `rangeEnd` (a range, or a watch's keys). */
export function checkReadAccess(store: V3AuthStore, by: AuthInfo | null, key: Bytes, rangeEnd: Bytes): void {
  if (store.enabled) store.checkKeys(by, key, rangeEnd, false);
}

/** checkTxnAuth: every compare is a read; every op of both branches, nested transactions included. */
export function checkTxnAccess(store: V3AuthStore, by: AuthInfo | null, txn: TxnRequest): void {
  if (!store.enabled) return;
  for (const c of txn.compare) store.checkKeys(by, c.key, c.rangeEnd, false);
  for (const op of [...txn.success, ...txn.failure]) checkOp(store, by, op);
}

function checkOp(store: V3AuthStore, by: AuthInfo | null, op: RequestOp): void {
  if ("range" in op) store.checkKeys(by, op.range.key, op.range.rangeEnd, false);
  else if ("put" in op) store.checkKeys(by, op.put.key, "", true);
  else if ("deleteRange" in op) {
    if (op.deleteRange.prevKv) store.checkKeys(by, op.deleteRange.key, op.deleteRange.rangeEnd, false);
    store.checkKeys(by, op.deleteRange.key, op.deleteRange.rangeEnd, true);
  } else if ("txn" in op) checkTxnAccess(store, by, op.txn);
}

function checkLeasePuts(store: V3AuthStore, by: AuthInfo | null, lease: number, leaseKeys: LeaseKeys): void {
  if (lease === 0) return;
  for (const key of leaseKeys(lease)) store.checkKeys(by, key, "", true);
}
