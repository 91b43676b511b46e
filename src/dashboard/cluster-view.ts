/**
 * `GET /_dashboard/api/cluster`: every member of one cluster in one answer,
 * for the dashboard's members table and charts. The etcd endpoints each tell
 * one member's side (/v2/stats/self answers for whichever member served it);
 * the dashboard wants all of them side by side, so this asks each member
 * directly, all at once. It only reads what the members already keep (their
 * status and their /metrics figures): polling it proposes nothing.
 */
import type { ClusterApi } from "../http/cluster-client.ts";
import type { ReplicaRole, ReplicaStatus } from "../server/api.ts";
import { systemClock, withTimeout } from "../server/clock.ts";
import type { Member } from "../server/members.ts";
import type { MemberMetrics } from "../server/metrics.ts";

/** A member that does not answer in this time is shown as down (the page polls every 2 s). */
const MEMBER_TIMEOUT_MS = 3000;

export interface MemberView {
  id: string;
  name: string;
  up: boolean;
  /** Where the member was placed (a Durable Object location hint, MEMBER_LOCATIONS), or "" (near its first request). */
  location: string;
  /** The rest is known only for a member that answered. */
  role?: ReplicaRole;
  /** The leader this member knows ("" for none). */
  leader?: string;
  term?: number;
  commitIndex?: number;
  appliedIndex?: number;
  /** Entries behind the highest commit index any member reports. */
  lag?: number;
  /** Quiet (not ticking until a request or a message wakes it) or awake. */
  quiescent?: boolean;
  /** When this member's replica last started (a crash restarts it), in ms since the epoch. */
  startTime?: number;
  keys?: number;
  dbSizeBytes?: number;
  proposalsPending?: number;
  v2Watchers?: number;
  v3Watchers?: number;
  v3WatchStreams?: number;
}

export interface ClusterView {
  cluster: string;
  /** When the Worker put this answer together, in ms since the epoch. */
  at: number;
  /** The member that leads in the highest term any member reports ("" while there is none). */
  leader: string;
  term: number;
  members: MemberView[];
}

export async function clusterView(api: ClusterApi, cluster: string, locate: (id: string) => string = () => ""): Promise<ClusterView> {
  const { members } = await api.status();
  const answers = await Promise.all(members.map((m) => askMember(api, m)));
  return summarize(cluster, Date.now(), answers, locate);
}

export type MemberAnswer = { member: Member } & ({ down: true } | { status: ReplicaStatus; metrics: MemberMetrics });

async function askMember(api: ClusterApi, member: Member): Promise<MemberAnswer> {
  const stub = api.member(member.id);
  const ask = <T>(call: Promise<T>) => withTimeout(systemClock, call, MEMBER_TIMEOUT_MS, `member ${member.id} did not answer`);
  try {
    const [status, metrics] = await Promise.all([ask(stub.status()), ask(stub.metrics())]);
    return { member, status, metrics };
  } catch {
    return { member, down: true };
  }
}

/** The view of the members' answers (pure, so that it is tested without a cluster). */
export function summarize(cluster: string, at: number, answers: MemberAnswer[], locate: (id: string) => string = () => ""): ClusterView {
  const up = answers.flatMap((a) => ("down" in a ? [] : [a]));
  const highestCommit = Math.max(0, ...up.map((a) => a.metrics.commitIndex));
  // An old leader can still believe it leads for a moment after a newer
  // term began elsewhere: the one that leads is the one in the highest term.
  const leaders = up.filter((a) => a.metrics.isLeader).sort((a, b) => b.metrics.term - a.metrics.term);
  const leader = leaders[0]?.member.id ?? "";
  const members = answers.map((a): MemberView => {
    const location = locate(a.member.id);
    if ("down" in a) return { id: a.member.id, name: a.member.name, up: false, location };
    const m = a.metrics;
    return {
      id: a.member.id,
      name: a.member.name,
      up: true,
      location,
      role: a.status.state,
      leader: m.leader,
      term: m.term,
      commitIndex: m.commitIndex,
      appliedIndex: m.appliedIndex,
      lag: Math.max(0, highestCommit - m.appliedIndex),
      // A replica still running code from before quiescence reports nothing: awake.
      quiescent: m.quiescent === true,
      startTime: a.status.startTime,
      keys: m.keys,
      dbSizeBytes: m.dbSizeBytes,
      proposalsPending: m.proposalsPending,
      v2Watchers: m.v2Watchers,
      v3Watchers: m.v3Watchers,
      v3WatchStreams: m.v3WatchStreams,
    };
  });
  return { cluster, at, leader, term: Math.max(0, ...up.map((a) => a.metrics.term)), members };
}
