/**
 * The v2 members API on one member: adding, removing and updating members
 * through Raft configuration changes, run on the leader (a follower passes
 * the call on). A new member joins as a learner; the driver promotes it once
 * it has caught up.
 */
import type { MemberChange } from "./api.ts";
import type { RaftDriver } from "./driver.ts";
import { nextMember } from "./members.ts";
import { memberRemoved, RaftError } from "./raft-error.ts";
import { encodeMemberUpdate, type EntryResult, type ReplicaState } from "./state.ts";

/** The members API as the leader answers it over the host's RPC. */
export interface MembersApi {
  addMember(peerURLs: string[]): Promise<MemberChange>;
  removeMember(id: string): Promise<MemberChange>;
  updateMember(id: string, peerURLs: string[]): Promise<MemberChange>;
}

export class MembersService implements MembersApi {
  constructor(
    private readonly cluster: string,
    private readonly driver: RaftDriver<EntryResult>,
    private readonly state: ReplicaState,
    private readonly leaderMembers: (leader: string) => MembersApi,
    /** Whether this member knows it was removed from the cluster. */
    private readonly removed: () => boolean,
  ) {}

  /** POST /v2/members: the new member joins as a learner and is promoted once it has caught up. */
  addMember(peerURLs: string[]): Promise<MemberChange> {
    return this.change(async () => {
      if (this.driver.role !== "leader") return this.leader().addMember(peerURLs);
      if (this.peerURLTaken(peerURLs, null)) return peerURLExists();
      const { id, name } = nextMember(this.cluster, this.state.membership);
      await this.driver.proposeConfigChange({ type: "addLearner", node: id, context: JSON.stringify({ name, peerURLs }) });
      return { ok: true, member: { id, name, peerURLs } };
    });
  }

  /** DELETE /v2/members/<id>. A leader removing itself hands leadership over first. */
  removeMember(id: string): Promise<MemberChange> {
    return this.change(async () => {
      const missing = this.checkMember(id);
      if (missing) return missing;
      if (this.driver.role !== "leader") return this.leader().removeMember(id);
      if (id === this.driver.id) {
        await this.driver.handOverLeadership();
        return this.leader().removeMember(id);
      }
      await this.driver.proposeConfigChange({ type: "removeNode", node: id });
      return { ok: true };
    });
  }

  /** PUT /v2/members/<id>: new peer URLs for a member. */
  updateMember(id: string, peerURLs: string[]): Promise<MemberChange> {
    return this.change(async () => {
      const missing = this.checkMember(id);
      if (missing) return missing;
      if (this.driver.role !== "leader") return this.leader().updateMember(id, peerURLs);
      if (this.peerURLTaken(peerURLs, id)) return peerURLExists();
      await this.driver.propose(encodeMemberUpdate({ id, peerURLs }));
      return { ok: true };
    });
  }

  /**
   * Runs a members change here or on the leader: waits for a leader first (a
   * follower with none refuses, retryable), and turns Raft failures into
   * etcd's 500 answers instead of exceptions. A removed member refuses, so
   * the router asks a member instead.
   */
  private async change(run: () => Promise<MemberChange>): Promise<MemberChange> {
    try {
      if (this.removed()) throw memberRemoved();
      if (this.driver.role !== "leader") await this.driver.waitForLeader();
      return await run();
    } catch (err) {
      if (!(err instanceof RaftError)) throw err;
      return { ok: false, status: 500, message: err.message, retryable: err.retryable };
    }
  }

  private leader(): MembersApi {
    return this.leaderMembers(this.driver.leader);
  }

  /** Whether another member (than `except`) already uses one of `peerURLs`. */
  private peerURLTaken(peerURLs: string[], except: string | null): boolean {
    const taken = new Set(this.state.membership.members.filter((m) => m.id !== except).flatMap((m) => m.peerURLs));
    return peerURLs.some((u) => taken.has(u));
  }

  private checkMember(id: string): MemberChange | null {
    if (this.state.isRemoved(id)) return { ok: false, status: 410, message: `Member permanently removed: ${id}` };
    if (!this.state.membership.members.some((m) => m.id === id)) return { ok: false, status: 404, message: `No such member: ${id}` };
    return null;
  }
}

function peerURLExists(): MemberChange {
  return { ok: false, status: 409, message: "membership: peerURL exists" };
}
