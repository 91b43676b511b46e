/**
 * etcd's --quota-backend-bytes on one member: before it proposes a write
 * that adds data, the member checks that its storage stays below the quota;
 * past it, the write is refused with NOSPACE and the alarm is raised through
 * the log (see v3-service.ts), as etcd does.
 */

export interface BackendQuota {
  /** QUOTA_BACKEND_BYTES. */
  bytes: number;
  /**
   * The member's storage now: its SQLite database (Raft log, snapshot and v3
   * keyspace together), as the runtime reports it, so no write scans
   * anything. The same figure as Status' dbSize and the metrics'
   * etcd_mvcc_db_total_size_in_bytes.
   */
  used(): number;
}

/** For a member run without one (the simulator, unit tests). */
export const NO_QUOTA: BackendQuota = { bytes: Infinity, used: () => 0 };

/** Whether `entryBytes` more would bring the member to its quota: etcd admits a write only while size plus cost stays below it. */
export function overQuota(quota: BackendQuota, entryBytes: number): boolean {
  return quota.used() + entryBytes >= quota.bytes;
}
