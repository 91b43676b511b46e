/**
 * Prometheus metrics with etcd's names and meanings, so etcd's dashboards
 * and alerts work on a cluster here. Every figure is per member, labelled
 * `member` (etcd serves one member per /metrics; here one scrape covers the
 * cluster), and comes from what the member already keeps: a scrape reads,
 * it never proposes or changes what it counts. Figures of our own carry the
 * `etcd_workers_` prefix.
 */
import type { HistogramCounts } from "./histogram.ts";

/** What one member reports (a replica's `metrics()` RPC). */
export interface MemberMetrics {
  memberId: string;
  /** The leader this member knows ("" for none). */
  leader: string;
  isLeader: boolean;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  leaderChanges: number;
  proposalsPending: number;
  proposalsFailed: number;
  /** The member's SQLite database, log and keyspace together. */
  dbSizeBytes: number;
  /** Live keys in the v3 keyspace. */
  keys: number;
  v2Watchers: number;
  v3Watchers: number;
  v3WatchStreams: number;
  /** By peer id; message sizes as the member estimates them (see transport.ts). */
  peerSentBytes: Record<string, number>;
  peerReceivedBytes: Record<string, number>;
  peerSendFailures: Record<string, number>;
  /** Quiet: not ticking, no heartbeats, until a request or a message wakes it. */
  quiescent: boolean;
  usage: UsageCounts;
  /**
   * From a Ready's SQLite transaction to its writes being durable (the
   * Durable Object's output gate flushing them): what etcd's backend commit
   * and WAL fsync histograms measure.
   */
  commitSeconds: HistogramCounts;
}

/** What a member did that Cloudflare bills, since it started (see src/replica/usage.ts). */
export interface UsageCounts {
  /** RPC calls received, from peers and from the Worker. */
  requests: number;
  alarms: number;
  rowsRead: number;
  /** SQLite rows written, and one per alarm set (billed as a row written). */
  rowsWritten: number;
  /** Milliseconds with the tick timer running. */
  awakeMs: number;
}

/** A member that did not answer the scrape: only that it is down. */
export interface MemberDown {
  memberId: string;
  down: true;
}

/** `suffix`: a histogram's _bucket, _sum or _count series. */
type Sample = { labels: Record<string, string>; value: number; suffix?: string };

interface Family {
  name: string;
  help: string;
  type: "gauge" | "counter" | "histogram";
  samples: Sample[];
}

/** The Prometheus text exposition (version 0.0.4) of a cluster's members. */
export function renderMetrics(cluster: string, members: (MemberMetrics | MemberDown)[], version: string): string {
  const up = members.filter((m): m is MemberMetrics => !("down" in m));
  const per = (value: (m: MemberMetrics) => number) => up.map((m) => ({ labels: { member: m.memberId }, value: value(m) }));
  const perPeer = (value: (m: MemberMetrics) => Record<string, number>) =>
    up.flatMap((m) =>
      Object.entries(value(m))
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([peer, v]) => ({ labels: { member: m.memberId, To: peer }, value: v })),
    );
  const families: Family[] = [
    { name: "etcd_server_has_leader", type: "gauge", help: "Whether or not a leader exists. 1 is existence, 0 is not.", samples: per((m) => (m.leader ? 1 : 0)) },
    { name: "etcd_server_is_leader", type: "gauge", help: "Whether or not this member is a leader. 1 if is, 0 otherwise.", samples: per((m) => (m.isLeader ? 1 : 0)) },
    { name: "etcd_server_leader_changes_seen_total", type: "counter", help: "The number of leader changes seen.", samples: per((m) => m.leaderChanges) },
    { name: "etcd_server_proposals_committed_total", type: "gauge", help: "The total number of consensus proposals committed.", samples: per((m) => m.commitIndex) },
    { name: "etcd_server_proposals_applied_total", type: "gauge", help: "The total number of consensus proposals applied.", samples: per((m) => m.appliedIndex) },
    { name: "etcd_server_proposals_pending", type: "gauge", help: "The current number of pending proposals to commit.", samples: per((m) => m.proposalsPending) },
    { name: "etcd_server_proposals_failed_total", type: "counter", help: "The total number of failed proposals seen.", samples: per((m) => m.proposalsFailed) },
    { name: "etcd_mvcc_db_total_size_in_bytes", type: "gauge", help: "Total size of the underlying database physically allocated in bytes.", samples: per((m) => m.dbSizeBytes) },
    { name: "etcd_debugging_mvcc_keys_total", type: "gauge", help: "Total number of keys.", samples: per((m) => m.keys) },
    { name: "etcd_debugging_mvcc_watcher_total", type: "gauge", help: "Total number of watchers.", samples: per((m) => m.v3Watchers) },
    { name: "etcd_debugging_store_watchers", type: "gauge", help: "Count of currently active watchers.", samples: per((m) => m.v2Watchers) },
    { name: "etcd_network_peer_sent_bytes_total", type: "counter", help: "The total number of bytes sent to peers.", samples: perPeer((m) => m.peerSentBytes) },
    { name: "etcd_network_peer_received_bytes_total", type: "counter", help: "The total number of bytes received from peers.", samples: perPeer((m) => m.peerReceivedBytes) },
    { name: "etcd_network_peer_sent_failures_total", type: "counter", help: "The total number of send failures from peers.", samples: perPeer((m) => m.peerSendFailures) },
    { name: "etcd_disk_backend_commit_duration_seconds", type: "histogram", help: "The latency distributions of commit called by backend.", samples: histogram(up, (m) => m.commitSeconds) },
    { name: "etcd_disk_wal_fsync_duration_seconds", type: "histogram", help: "The latency distributions of fsync called by WAL.", samples: histogram(up, (m) => m.commitSeconds) },
    { name: "etcd_server_version", type: "gauge", help: "Which version is running. 1 for 'server_version' label with current version.", samples: [{ labels: { server_version: version }, value: 1 }] },
    { name: "etcd_workers_member_up", type: "gauge", help: "Whether the member answered this scrape (1) or not (0).", samples: members.map((m) => ({ labels: { member: m.memberId }, value: "down" in m ? 0 : 1 })) },
    { name: "etcd_workers_quiescent", type: "gauge", help: "Whether this member is quiet (1: no ticks, no heartbeats until a request wakes it) or awake (0).", samples: per((m) => (m.quiescent ? 1 : 0)) },
    { name: "etcd_workers_do_requests_total", type: "counter", help: "Durable Object requests this member received (RPC calls and alarms), since it started.", samples: per((m) => m.usage.requests + m.usage.alarms) },
    { name: "etcd_workers_do_rows_read_total", type: "counter", help: "SQLite rows this member read, since it started.", samples: per((m) => m.usage.rowsRead) },
    { name: "etcd_workers_do_rows_written_total", type: "counter", help: "SQLite rows this member wrote (and alarms it set), since it started.", samples: per((m) => m.usage.rowsWritten) },
    { name: "etcd_workers_awake_seconds_total", type: "counter", help: "Seconds this member spent ticking (awake, billed for duration), since it started.", samples: per((m) => m.usage.awakeMs / 1000) },
    { name: "etcd_workers_raft_term", type: "gauge", help: "The Raft term this member is in.", samples: per((m) => m.term) },
    { name: "etcd_workers_apply_lag", type: "gauge", help: "Entries the leader has committed that this member has not applied yet.", samples: lag(up) },
    { name: "etcd_workers_v3_watch_streams", type: "gauge", help: "v3 watch streams this member serves.", samples: per((m) => m.v3WatchStreams) },
  ];
  const head = `# Cluster ${cluster}: ${up.length} of ${members.length} members answered.\n`;
  return head + families.map(render).join("");
}

/** A histogram's series per member: cumulative _bucket counts by `le` (as Go formats it), then _sum and _count. */
function histogram(members: MemberMetrics[], of: (m: MemberMetrics) => HistogramCounts): Sample[] {
  return members.flatMap((m) => {
    const h = of(m);
    const member = m.memberId;
    let cumulative = 0;
    const buckets = h.buckets.map((n, k) => {
      cumulative += n;
      const le = k < h.bounds.length ? String(h.bounds[k]) : "+Inf";
      return { labels: { member, le }, value: cumulative, suffix: "_bucket" };
    });
    return [...buckets, { labels: { member }, value: h.sum, suffix: "_sum" }, { labels: { member }, value: h.count, suffix: "_count" }];
  });
}

/** Each member's distance behind the highest commit index any member reports (its leader's, normally). */
function lag(members: MemberMetrics[]): Sample[] {
  const commit = Math.max(0, ...members.map((m) => m.commitIndex));
  return members.map((m) => ({ labels: { member: m.memberId }, value: Math.max(0, commit - m.appliedIndex) }));
}

function render(f: Family): string {
  let out = `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`;
  for (const s of f.samples) out += `${f.name}${s.suffix ?? ""}${labelsOf(s.labels)} ${s.value}\n`;
  return out;
}

function labelsOf(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}
