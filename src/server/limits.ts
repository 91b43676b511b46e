/**
 * Admission limits: what one request may make a member store or hold. Each
 * is checked before anything is proposed, so that nothing fails later, at
 * persist time, where a refusal can no longer reach the client. The storage
 * quota (etcd's --quota-backend-bytes) is QUOTA_BACKEND_BYTES in src/env.ts,
 * enforced in v3-service.ts.
 */
import { RaftError } from "./raft-error.ts";
import { longerInUTF8 } from "./utf8.ts";

/**
 * A Durable Object's SQLite row, and any one string or BLOB in it, holds at
 * most "2 MB"; taken as 2,000,000 bytes, the smaller reading.
 */
export const ROW_LIMIT_BYTES = 2_000_000;

/**
 * The most a Raft entry's data may take in UTF-8. The entry is one row of the
 * log, beside its index, term and type (a few dozen bytes with SQLite's record
 * header); the 16 KiB left over keep that far from the limit. Snapshot chunks
 * are cut to this size too.
 */
export const MAX_ENTRY_BYTES = ROW_LIMIT_BYTES - 16 * 1024;

/**
 * The most a request body may carry: etcd's default --max-request-bytes
 * (1.5 MiB). Bodies are read against it as they arrive, never whole first
 * (see src/http/capped-body.ts). What a body becomes once encoded for the log
 * can still be larger (an escape such as \u0001 takes six bytes for one),
 * which MAX_ENTRY_BYTES catches.
 */
export const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

/**
 * The most a v3 JSON body may carry: etcd's gRPC server takes messages up to
 * --max-request-bytes plus 512 KiB, and applies the 1.5 MiB limit to the
 * decoded request. Here the JSON, whose bytes are in base64, may be that
 * long, and MAX_ENTRY_BYTES decides once it is encoded for the log: values
 * up to about 1.48 MB pass (etcd: 1.5 MiB).
 */
export const MAX_V3_BODY_BYTES = MAX_REQUEST_BYTES + 512 * 1024;

/** A request body, or one message of a streamed body, over its limit; reading stopped there. */
export class RequestTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`request body over ${limit} bytes`);
  }
}

/**
 * Watchers (v2 and v3 together) one member holds at most. etcd sets no such
 * bound; here every watcher costs memory in a 128 MB isolate, and the
 * benchmark's largest fan-out is 10,000 watches on one member.
 */
export const MAX_WATCHERS_PER_MEMBER = 100_000;

/**
 * A proposal whose entry would not fit a storage row. Never retryable: every
 * member would refuse it alike. Each API answers it with its own error (v2:
 * "http: POST too large", v3: "etcdserver: request is too large").
 */
export class EntryTooLarge extends RaftError {
  constructor() {
    super(`etcdserver: request is too large: a log entry holds at most ${MAX_ENTRY_BYTES} bytes`);
  }
}

/** The refusal for an entry whose data is over MAX_ENTRY_BYTES, or null when it fits. */
export function entryTooLarge(data: string): EntryTooLarge | null {
  return longerInUTF8(data, MAX_ENTRY_BYTES) ? new EntryTooLarge() : null;
}

/** etcd-style text for a v2 write refused because the store's tree reached V2_STORE_QUOTA_BYTES (etcd 3.4 has no such limit). */
export function v2StoreFull(quotaBytes: number): string {
  return `etcdserver: v2 store space exceeded (its tree holds at most ${quotaBytes} bytes in memory on a member; delete keys to free space)`;
}

/** etcd-style text for a watch refused because the member holds `max` watchers already. */
export function tooManyWatchers(max: number): string {
  return `etcdserver: too many watchers on this member (at most ${max})`;
}
