/**
 * Where the v3 keyspace's versions are kept: the interface the MVCC logic
 * (keyspace.ts) reads and writes through. SQLite holds it in a replica
 * (src/replica/mvcc-sqlite.ts); memory holds it in tests (memory-backend.ts).
 * Both must answer alike: a conformance test in workerd checks that they do.
 */
import type { Bytes, KeyValue, Lease } from "./types.ts";

/**
 * A span of keys: one key (`end` null), every key from `key` on (`end` ""),
 * or [key, end). An end at or before the key holds nothing.
 */
export interface Span {
  key: Bytes;
  end: Bytes | null;
}

export interface MvccBackend {
  /** The newest revision; 1 in an empty keyspace, as in etcd. */
  revision(): number;
  /** The revision of the last compaction (0: never compacted). */
  compacted(): number;
  /** The live keys of `span` at `rev`, ascending by key; at most `limit` of them when limit > 0. */
  range(span: Span, rev: number, limit: number): KeyValue[];
  /** How many keys of `span` are live at `rev`. */
  count(span: Span, rev: number): number;
  /** Every version (tombstones included) of the keys of `span` written at `from` or later, by revision then key. */
  changes(span: Span, from: number): KeyValue[];
  /** Records revision `rev` (the next one): a new version of each changed key, or a tombstone (version 0) for a deleted one. */
  write(rev: number, changes: KeyValue[]): void;
  /** Drops the versions no read at `rev` or later can see. */
  compact(rev: number): void;
  lease(id: number): Lease | undefined;
  /** Every lease, by id. */
  leases(): Lease[];
  putLease(lease: Lease): void;
  deleteLease(id: number): void;
  /** The keys live now whose current version is attached to lease `id`, ascending. */
  leaseKeys(id: number): Bytes[];
}

/** The span of a request's key and range_end, as etcd reads them ("\0" as the end means no end). */
export function spanOf(key: Bytes, rangeEnd: Bytes): Span {
  if (rangeEnd === "") return { key, end: null };
  if (rangeEnd === "\0") return { key, end: "" };
  return { key, end: rangeEnd };
}

export function inSpan(span: Span, key: Bytes): boolean {
  if (span.end === null) return key === span.key;
  return key >= span.key && (span.end === "" || key < span.end);
}

/** A tombstone: what a deleted key's last revision holds. */
export function tombstone(key: Bytes, rev: number): KeyValue {
  return { key, createRevision: 0, modRevision: rev, version: 0, value: "", lease: 0 };
}

/** Everything a backend holds, for a Raft snapshot. */
export interface MvccDump {
  revision: number;
  compacted: number;
  /** Every version of every key, by key then revision. */
  versions: KeyValue[];
  /** Every lease, by id. */
  leases: Lease[];
}

/**
 * A backend that outlives its process (SQLite in a replica). It records the
 * index of the last log entry applied to it in the same transaction as that
 * entry's changes, so that after a restart nothing is lost or applied twice.
 */
export interface DurableMvccBackend extends MvccBackend {
  appliedIndex(): number;
  /** Runs `apply` and records `index` as applied: both happen, or neither. */
  applyAt(index: number, apply: () => void): void;
  dump(): MvccDump;
  /** Replaces everything with a snapshot's contents, taken at log index `index`. */
  load(dump: MvccDump, index: number): void;
}
