/**
 * What a replica reports about itself, read from its parts and never
 * changing them: its status (/v2/stats/self, members, the router's leader
 * hints), its followers' counts (/v2/stats/leader) and its metrics
 * (/metrics). Read only, so asking wakes nothing and moves no counter but
 * the request's own. Apart from replica.ts, which wires the parts together.
 */
import type { FollowerStats, ReplicaRole, ReplicaStatus } from "../server/api.ts";
import type { RaftDriver } from "../server/driver.ts";
import type { Histogram } from "../server/histogram.ts";
import { clusterId } from "../server/identity.ts";
import { sortedMembers } from "../server/members.ts";
import type { MemberMetrics } from "../server/metrics.ts";
import type { EntryResult, ReplicaState } from "../server/state.ts";
import type { PeerStats, Transport } from "./transport.ts";
import type { Usage } from "./usage.ts";

const ROLE_NAMES: Record<string, ReplicaRole> = {
  leader: "StateLeader",
  follower: "StateFollower",
  candidate: "StateCandidate",
  "pre-candidate": "StatePreCandidate",
};

/** The parts of a replica its readouts read. */
export interface ReadoutSource {
  cluster: string;
  id: string;
  startTime: number;
  recvAppends: number;
  dbSizeBytes: number;
  state: ReplicaState;
  driver: RaftDriver<EntryResult>;
  transport: Transport;
  usage: Usage;
  commitSeconds: Histogram;
}

export function replicaStatus(r: ReadoutSource): ReplicaStatus {
  const membership = r.state.membership;
  return {
    id: r.id,
    name: membership.members.find((m) => m.id === r.id)?.name ?? "",
    clusterId: clusterId(r.cluster),
    state: ROLE_NAMES[r.driver.role],
    leader: r.driver.leader,
    startTime: r.startTime,
    leaderSince: r.driver.leaderSince,
    raft: r.driver.raftPosition(),
    members: sortedMembers(membership),
    removed: membership.removed,
    recvAppends: r.recvAppends,
    sendAppends: r.transport.sentAppends,
    quiescent: r.driver.quiescent,
  };
}

/** Per-follower counts and latencies, or null when this replica is not the leader. */
export function followerStats(r: ReadoutSource): FollowerStats[] | null {
  if (r.driver.role !== "leader") return null;
  const stats = r.transport.stats();
  return r.state.membership.members
    .filter((m) => m.id !== r.id)
    .map((m) => {
      const s: PeerStats = stats.get(m.id) ?? { success: 0, fail: 0, latencies: [], sentBytes: 0, receivedBytes: 0 };
      return { id: m.id, success: s.success, fail: s.fail, latencies: [...s.latencies] };
    });
}

/** What this member counts, for /metrics. */
export function memberMetrics(r: ReadoutSource): MemberMetrics {
  const peers = [...r.transport.stats()];
  const byPeer = (value: (s: PeerStats) => number) => Object.fromEntries(peers.map(([id, s]) => [id, value(s)]));
  const position = r.driver.raftPosition();
  return {
    memberId: r.id,
    leader: r.driver.leader,
    isLeader: r.driver.role === "leader",
    term: position.term,
    commitIndex: position.index,
    appliedIndex: r.driver.applied,
    leaderChanges: r.driver.counts.leaderChanges,
    proposalsPending: r.driver.pendingProposals(),
    proposalsFailed: r.driver.counts.proposalsFailed,
    dbSizeBytes: r.dbSizeBytes,
    keys: r.state.liveKeys(),
    v2Watchers: r.state.store.stats.watchers,
    v3Watchers: r.state.v3Watchers,
    v3WatchStreams: r.state.v3Listeners.size,
    peerSentBytes: byPeer((s) => s.sentBytes),
    peerReceivedBytes: byPeer((s) => s.receivedBytes),
    peerSendFailures: byPeer((s) => s.fail),
    quiescent: r.driver.quiescent,
    usage: r.usage.read(Date.now()),
    commitSeconds: r.commitSeconds.counts(),
  };
}
