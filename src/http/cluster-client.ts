/**
 * How the Worker reaches a cluster: it sends each request to the replica it
 * believes leads, learns the real leader from every answer, and moves on to
 * another member when a replica does not answer. Followers forward what only
 * the leader may do, so a stale hint costs one extra hop, not an error.
 */
import type { KeysRequest } from "./keys-request.ts";
import type { Env } from "./app.ts";
import type {
  FollowerStats,
  KeysReply,
  MemberChange,
  ReplicaStatus,
  ReplicaStub,
} from "../replica/replica.ts";
import { clusterSize, foundingMembers, replicaName } from "../replica/members.ts";
import type { StoreStats } from "../store/stats.ts";
import { withTimeout } from "../replica/transport.ts";

/** What the router asks of a cluster. */
export interface ClusterApi {
  keys(req: KeysRequest): Promise<KeysReply>;
  cancelWatch(watch: { member: string; id: number }): Promise<void>;
  status(): Promise<ReplicaStatus>;
  storeStats(): Promise<StoreStats>;
  followerStats(): Promise<{ leader: string; followers: FollowerStats[] } | null>;
  addMember(peerURLs: string[]): Promise<MemberChange>;
  removeMember(id: string): Promise<MemberChange>;
  updateMember(id: string, peerURLs: string[]): Promise<MemberChange>;
  member(id: string): ReplicaStub;
}

/** Leader hints and known members per cluster, kept for the life of the Worker isolate. */
const leaderHints = new Map<string, string>();
const knownMembers = new Map<string, string[]>();

/** A call that gets no answer in this time is tried on the next member. */
const CALL_TIMEOUT_MS = 12_000;

export function clusterClient(env: Env, cluster: string): ClusterApi {
  const stub = (id: string) => env.REPLICA.getByName(replicaName(cluster, id)) as unknown as ReplicaStub;

  /** The hinted leader first, then every other member we know of. */
  const candidates = (): string[] => {
    const members = knownMembers.get(cluster) ?? foundingMembers(cluster, clusterSize(env)).map((m) => m.id);
    const hint = leaderHints.get(cluster);
    return hint ? [hint, ...members.filter((m) => m !== hint)] : members;
  };

  const learn = (leader: string) => {
    if (leader) leaderHints.set(cluster, leader);
  };

  /** Runs `fn` on the first member that answers, starting with `first` when given. */
  async function call<T>(fn: (replica: ReplicaStub) => Promise<T>, first?: string): Promise<T> {
    let lastError: unknown;
    const order = first ? [first, ...candidates().filter((c) => c !== first)] : candidates();
    for (const id of order) {
      try {
        return await withTimeout(fn(stub(id)), CALL_TIMEOUT_MS, `member ${id} did not answer`);
      } catch (err) {
        lastError = err;
        if (leaderHints.get(cluster) === id) leaderHints.delete(cluster);
      }
    }
    throw lastError;
  }

  return {
    async keys(req) {
      // A member that knows no leader answers "retryable": the request reached
      // no log, so the next member may serve it (and the hint was wrong).
      let reply: KeysReply | undefined;
      for (const id of candidates()) {
        reply = await call((r) => r.keys(req), id);
        if (!reply.retryable) break;
        if (leaderHints.get(cluster) === id) leaderHints.delete(cluster);
      }
      learn(reply!.leader);
      return reply!;
    },
    cancelWatch: (watch) => stub(watch.member).cancelWatch(watch.id),
    async status() {
      const s = await call((r) => r.status());
      learn(s.leader);
      knownMembers.set(cluster, s.members.map((m) => m.id));
      return s;
    },
    storeStats: () => call((r) => r.storeStats()),
    async followerStats() {
      const s = await this.status();
      if (!s.leader) return null;
      const followers = await stub(s.leader).followerStats();
      return followers ? { leader: s.leader, followers } : null;
    },
    addMember: (peerURLs) => call((r) => r.addMember(peerURLs)),
    removeMember: (id) => call((r) => r.removeMember(id)),
    updateMember: (id, peerURLs) => call((r) => r.updateMember(id, peerURLs)),
    member: stub,
  };
}
