/**
 * The checks etcd makes before a v3 request reaches Raft
 * (etcdserver/api/v3rpc/key.go), in its order, with its errors.
 */
import type { Span } from "./backend.ts";
import { errDuplicateKey, errEmptyKey, errLeaseProvided, errTooManyOps, errValueProvided } from "./errors.ts";
import type { DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from "./types.ts";

/** Whether a transaction only reads: every op of both branches a range (etcd serves it without the log). */
export function isReadOnlyTxn(t: TxnRequest): boolean {
  return [...t.success, ...t.failure].every((op) => "range" in op);
}

/** etcd's default --max-txn-ops. */
export const MAX_TXN_OPS = 128;

export function checkRange(r: RangeRequest): void {
  if (r.key === "") throw errEmptyKey();
}

export function checkPut(r: PutRequest): void {
  if (r.key === "") throw errEmptyKey();
  if (r.ignoreValue && r.value !== "") throw errValueProvided();
  if (r.ignoreLease && r.lease !== 0) throw errLeaseProvided();
}

export function checkDelete(r: DeleteRangeRequest): void {
  if (r.key === "") throw errEmptyKey();
}

export function checkTxn(r: TxnRequest, maxOps = MAX_TXN_OPS): void {
  const ops = Math.max(r.compare.length, r.success.length, r.failure.length);
  if (ops > maxOps) throw errTooManyOps();
  for (const c of r.compare) if (c.key === "") throw errEmptyKey();
  for (const op of [...r.success, ...r.failure]) checkOp(op, maxOps - ops);
  writes(r.success);
  writes(r.failure);
}

function checkOp(op: RequestOp, maxOps: number): void {
  if ("range" in op) checkRange(op.range);
  else if ("put" in op) checkPut(op.put);
  else if ("deleteRange" in op) checkDelete(op.deleteRange);
  else if ("txn" in op) checkTxn(op.txn, maxOps);
}

/**
 * The keys a list of ops puts and the spans it deletes, nested transactions
 * included; throws etcd's duplicate-key error when one key would be written
 * twice. The two branches of a nested transaction exclude each other, so a
 * key put in both is fine.
 */
function writes(ops: RequestOp[]): { puts: Set<string>; dels: Span[] } {
  const dels: Span[] = ops.flatMap((op) => ("deleteRange" in op ? [deletedSpan(op.deleteRange)] : []));
  const puts = new Set<string>();
  const deleted = (key: string) => dels.some((d) => covers(d, key));
  for (const op of ops) {
    if (!("txn" in op)) continue;
    const then = writes(op.txn.success);
    const otherwise = writes(op.txn.failure);
    for (const k of then.puts) {
      if (puts.has(k) || deleted(k)) throw errDuplicateKey();
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      if ((puts.has(k) && !then.puts.has(k)) || deleted(k)) throw errDuplicateKey();
      puts.add(k);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of ops) {
    if (!("put" in op)) continue;
    const k = op.put.key;
    if (puts.has(k) || deleted(k)) throw errDuplicateKey();
    puts.add(k);
  }
  return { puts, dels };
}

/**
 * A delete's span as etcd's duplicate check sees it: the range_end taken
 * literally, so "\0" (every key from `key` on, when deleting) makes an empty
 * interval here and conflicts with nothing, as in etcd 3.4.
 */
function deletedSpan(d: DeleteRangeRequest): Span {
  return { key: d.key, end: d.rangeEnd === "" ? null : d.rangeEnd };
}

function covers(span: Span, key: string): boolean {
  if (span.end === null) return key === span.key;
  return key >= span.key && key < span.end;
}
