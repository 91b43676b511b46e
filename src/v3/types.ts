/**
 * etcd's v3 KV messages (etcdserverpb, mvccpb) as plain data. Keys and values
 * are byte strings: JavaScript strings whose every character is one byte
 * (0-255), so that comparing two keys compares their bytes as etcd does, and
 * messages cross RPC and the Raft log as plain JSON. int64 fields are numbers:
 * revisions, versions and counts stay far below 2^53.
 */

/** A byte string: one character per byte. */
export type Bytes = string;

/** mvccpb.KeyValue. A tombstone (a deleted key's last revision) has version 0. */
export interface KeyValue {
  key: Bytes;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Bytes;
  lease: number;
}

/**
 * Enums as etcd's names. "UNKNOWN" stands for a number with no name, which
 * etcd accepts: it sorts nothing by an unknown order, decides a compare with
 * an unknown result as true and one with an unknown target as equal.
 */
export type SortOrder = "NONE" | "ASCEND" | "DESCEND" | "UNKNOWN";
export type SortTarget = "KEY" | "VERSION" | "CREATE" | "MOD" | "VALUE";

export interface RangeRequest {
  key: Bytes;
  /** Empty: the single key. "\0": every key from `key` on. Otherwise the end, exclusive. */
  rangeEnd: Bytes;
  limit: number;
  /** 0 or less: the current revision. */
  revision: number;
  sortOrder: SortOrder;
  sortTarget: SortTarget;
  serializable: boolean;
  keysOnly: boolean;
  countOnly: boolean;
  minModRevision: number;
  maxModRevision: number;
  minCreateRevision: number;
  maxCreateRevision: number;
}

export interface PutRequest {
  key: Bytes;
  value: Bytes;
  lease: number;
  prevKv: boolean;
  ignoreValue: boolean;
  ignoreLease: boolean;
}

export interface DeleteRangeRequest {
  key: Bytes;
  rangeEnd: Bytes;
  prevKv: boolean;
}

export type CompareTarget = "VERSION" | "CREATE" | "MOD" | "VALUE" | "LEASE" | "UNKNOWN";
export type CompareResult = "EQUAL" | "GREATER" | "LESS" | "NOT_EQUAL" | "UNKNOWN";

export interface Compare {
  key: Bytes;
  rangeEnd: Bytes;
  target: CompareTarget;
  result: CompareResult;
  /** The operand for the target: a number, or bytes for VALUE. */
  version: number;
  createRevision: number;
  modRevision: number;
  value: Bytes;
  lease: number;
}

export type RequestOp =
  | { range: RangeRequest }
  | { put: PutRequest }
  | { deleteRange: DeleteRangeRequest }
  | { txn: TxnRequest }
  /** A RequestOp with no request set: etcd 3.4 refuses a transaction that runs one ("key not found"). */
  | { empty: true };

export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

export interface CompactionRequest {
  revision: number;
  physical: boolean;
}

/** Responses carry the revision their header reports; the router adds cluster, member and term. */
export interface RangeResponse {
  revision: number;
  kvs: KeyValue[];
  more: boolean;
  count: number;
}

export interface PutResponse {
  revision: number;
  prevKv?: KeyValue;
}

export interface DeleteRangeResponse {
  revision: number;
  deleted: number;
  prevKvs: KeyValue[];
}

export type ResponseOp =
  | { range: RangeResponse }
  | { put: PutResponse }
  | { deleteRange: DeleteRangeResponse }
  | { txn: TxnResponse }
  | { empty: true };

export interface TxnResponse {
  revision: number;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface CompactionResponse {
  revision: number;
}

/** A lease: its id and the TTL it was granted, in seconds. When it expires is the leader's business (see src/server/lessor.ts). */
export interface Lease {
  id: number;
  ttl: number;
}

export interface LeaseGrantRequest {
  /** 0: the server chooses. */
  id: number;
  ttl: number;
}

export interface LeaseGrantResponse {
  revision: number;
  id: number;
  ttl: number;
}

export interface LeaseRevokeRequest {
  id: number;
}

export interface LeaseRevokeResponse {
  revision: number;
}

export interface LeaseTimeToLiveRequest {
  id: number;
  keys: boolean;
}

export interface LeaseTimeToLiveResponse {
  revision: number;
  id: number;
  /** Seconds left; -1 for a lease that does not exist. */
  ttl: number;
  grantedTtl: number;
  keys: Bytes[];
}

export interface LeaseLeasesResponse {
  revision: number;
  leases: number[];
}

export interface LeaseKeepAliveRequest {
  id: number;
}

export interface LeaseKeepAliveResponse {
  revision: number;
  id: number;
  /** The granted TTL, renewed; 0 for a lease that does not exist. */
  ttl: number;
}

/** A v3 write as it travels in the Raft log. */
export type V3Command =
  | { op: "put"; req: PutRequest }
  | { op: "deleteRange"; req: DeleteRangeRequest }
  | { op: "txn"; req: TxnRequest }
  | { op: "compact"; req: CompactionRequest }
  | { op: "leaseGrant"; req: LeaseGrantRequest }
  | { op: "leaseRevoke"; req: LeaseRevokeRequest };

export type V3Result =
  | { ok: true; put: PutResponse }
  | { ok: true; deleteRange: DeleteRangeResponse }
  | { ok: true; txn: TxnResponse }
  | { ok: true; compact: CompactionResponse }
  | { ok: true; leaseGrant: LeaseGrantResponse }
  | { ok: true; leaseRevoke: LeaseRevokeResponse }
  | { ok: false; error: { code: number; message: string } };
