/** The Prometheus exposition of a cluster's members: etcd's names and HELP/TYPE lines, one sample per member, escaping, members that did not answer. */
import { describe, expect, it } from "vitest";
import { DISK_SECONDS_BUCKETS, Histogram } from "../../src/server/histogram.ts";
import { renderMetrics, type MemberMetrics } from "../../src/server/metrics.ts";

function commits(seconds: number[]) {
  const h = new Histogram(DISK_SECONDS_BUCKETS);
  for (const s of seconds) h.observe(s);
  return h.counts();
}

const member = (id: string, extra: Partial<MemberMetrics> = {}): MemberMetrics => ({
  memberId: id,
  leader: "a1",
  isLeader: id === "a1",
  term: 2,
  commitIndex: 10,
  appliedIndex: 10,
  leaderChanges: 1,
  proposalsPending: 0,
  proposalsFailed: 0,
  dbSizeBytes: 4096,
  keys: 3,
  v2Watchers: 0,
  v3Watchers: 2,
  v3WatchStreams: 1,
  peerSentBytes: {},
  peerReceivedBytes: {},
  peerSendFailures: {},
  quiescent: false,
  usage: { requests: 5, alarms: 1, rowsRead: 7, rowsWritten: 3, awakeMs: 1500 },
  commitSeconds: commits([0.0005, 0.003, 0.003, 20]),
  ...extra,
});

describe("renderMetrics", () => {
  const text = renderMetrics(
    'c"1',
    [member("a1", { peerSentBytes: { b2: 700, a0: 5 }, peerReceivedBytes: { b2: 90 } }), member("b2", { appliedIndex: 7, quiescent: true }), { memberId: "c3", down: true }],
    "3.4.23",
  );
  const lines = text.split("\n");

  it("writes HELP and TYPE before each family's samples, with etcd's names", () => {
    const i = lines.indexOf("# TYPE etcd_server_is_leader gauge");
    expect(lines[i - 1]).toBe("# HELP etcd_server_is_leader Whether or not this member is a leader. 1 if is, 0 otherwise.");
    expect(lines.slice(i + 1, i + 3)).toEqual(['etcd_server_is_leader{member="a1"} 1', 'etcd_server_is_leader{member="b2"} 0']);
    expect(lines).toContain("# TYPE etcd_server_leader_changes_seen_total counter");
    expect(lines).toContain('etcd_server_version{server_version="3.4.23"} 1');
  });

  it("labels peer figures by peer, in order, and reports lag against the highest commit index", () => {
    expect(lines.filter((l) => l.startsWith("etcd_network_peer_sent_bytes_total{"))).toEqual([
      'etcd_network_peer_sent_bytes_total{member="a1",To="a0"} 5',
      'etcd_network_peer_sent_bytes_total{member="a1",To="b2"} 700',
    ]);
    expect(lines.filter((l) => l.startsWith("etcd_workers_apply_lag{"))).toEqual(['etcd_workers_apply_lag{member="a1"} 0', 'etcd_workers_apply_lag{member="b2"} 3']);
  });

  it("writes histograms as etcd does: cumulative buckets by le up to +Inf, then sum and count", () => {
    const name = "etcd_disk_backend_commit_duration_seconds";
    expect(lines).toContain(`# TYPE ${name} histogram`);
    const a1 = lines.filter((l) => l.startsWith(`${name}_`) && l.includes('member="a1"'));
    expect(a1.slice(0, 3)).toEqual([`${name}_bucket{member="a1",le="0.001"} 1`, `${name}_bucket{member="a1",le="0.002"} 1`, `${name}_bucket{member="a1",le="0.004"} 3`]);
    expect(a1.slice(-4)).toEqual([`${name}_bucket{member="a1",le="8.192"} 3`, `${name}_bucket{member="a1",le="+Inf"} 4`, `${name}_sum{member="a1"} 20.0065`, `${name}_count{member="a1"} 4`]);
    expect(a1).toHaveLength(14 + 1 + 2);
  });

  it("says which members are quiet, and what each did that is billed", () => {
    expect(lines.filter((l) => l.startsWith("etcd_workers_quiescent{"))).toEqual(['etcd_workers_quiescent{member="a1"} 0', 'etcd_workers_quiescent{member="b2"} 1']);
    expect(lines).toContain('etcd_workers_do_requests_total{member="a1"} 6');
    expect(lines).toContain('etcd_workers_do_rows_written_total{member="b2"} 3');
    expect(lines).toContain('etcd_workers_awake_seconds_total{member="a1"} 1.5');
  });

  it("reports a member that did not answer as down, with no other samples, and names the cluster in a comment", () => {
    expect(lines.filter((l) => l.startsWith("etcd_workers_member_up{"))).toEqual([
      'etcd_workers_member_up{member="a1"} 1',
      'etcd_workers_member_up{member="b2"} 1',
      'etcd_workers_member_up{member="c3"} 0',
    ]);
    expect(lines.some((l) => l.includes('member="c3"') && !l.startsWith("etcd_workers_member_up"))).toBe(false);
    expect(lines[0]).toBe('# Cluster c"1: 2 of 3 members answered.');
    expect(text.endsWith("\n")).toBe(true);
  });
});
