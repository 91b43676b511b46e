/**
 * Who belongs to a cluster: member ids, names, peer URLs and the Durable
 * Object that hosts each member. Membership itself is decided by Raft
 * (config entries); this is the metadata that travels with those entries and
 * in snapshots, so every replica can name and reach every member.
 */
import { memberId } from "./identity.ts";

export interface Member {
  id: string;
  name: string;
  peerURLs: string[];
}

/** What a config change entry carries in its context for an added member. */
export interface MemberContext {
  name: string;
  peerURLs: string[];
}

export interface Membership {
  members: Member[];
  /** Ids removed for good (etcd answers 410 for them and never reuses them). */
  removed: string[];
  /** Next number for a generated member name. */
  nextNumber: number;
}

/** The Durable Object name of a member: its cluster and id, so any replica can reach it by id. */
export function replicaName(cluster: string, id: string): string {
  return `${cluster}/${id}`;
}

/** Splits a replica name back into cluster and member id. */
export function parseReplicaName(name: string): { cluster: string; id: string } {
  const slash = name.lastIndexOf("/");
  if (slash < 0) throw new Error(`replica name ${JSON.stringify(name)} is not <cluster>/<member id>`);
  return { cluster: name.slice(0, slash), id: name.slice(slash + 1) };
}

/** Founding members of a cluster of `size`: member-0 … member-(size-1), ids derived from their names. */
export function foundingMembers(cluster: string, size: number): Member[] {
  return Array.from({ length: size }, (_, k) => {
    const name = `member-${k}`;
    const id = memberId(cluster, name);
    // Replicas talk over Durable Object RPC, not a URL; this peer URL says so
    // and stays unique, as etcd requires of peer URLs.
    return { id, name, peerURLs: [`http://${id}.${cluster}.replica.invalid:2380`] };
  });
}

/** The id and name for the next member added through the members API. */
export function nextMember(cluster: string, state: Membership): { id: string; name: string } {
  const name = `member-${state.nextNumber}`;
  return { id: memberId(cluster, name), name };
}

export function emptyMembership(): Membership {
  return { members: [], removed: [], nextNumber: 0 };
}

/** Membership after the bootstrap entry: the founders, whose ids must be exactly `voters`. */
export function founded(cluster: string, voters: string[]): Membership {
  const founders = foundingMembers(cluster, voters.length);
  const ids = new Set(voters);
  if (!founders.every((m) => ids.has(m.id))) {
    throw new Error(`cluster ${cluster}: bootstrap voters are not its founding members`);
  }
  return { members: founders, removed: [], nextNumber: voters.length };
}

export function withMember(state: Membership, id: string, ctx: MemberContext): Membership {
  const others = state.members.filter((m) => m.id !== id);
  const number = Math.max(state.nextNumber, numberOf(ctx.name) + 1);
  return { ...state, members: [...others, { id, name: ctx.name, peerURLs: ctx.peerURLs }], nextNumber: number };
}

export function withoutMember(state: Membership, id: string): Membership {
  return {
    ...state,
    members: state.members.filter((m) => m.id !== id),
    removed: state.removed.includes(id) ? state.removed : [...state.removed, id],
  };
}

function numberOf(name: string): number {
  const m = /^member-(\d+)$/.exec(name);
  return m ? Number(m[1]) : -1;
}

/** Members sorted by numeric id, as etcd lists them. */
export function sortedMembers(state: Membership): Member[] {
  return [...state.members].sort((a, b) => (BigInt("0x" + a.id) < BigInt("0x" + b.id) ? -1 : 1));
}
