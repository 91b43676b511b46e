/**
 * What a replica applies committed Raft entries to: the v2 store plus the
 * cluster's membership. Deterministic, so every replica that applies the same
 * entries holds the same state; snapshots carry both halves.
 */
import { decodeConfigEntry, type Entry } from "../raft/index.ts";
import type { StateMachine } from "./driver.ts";
import type { Command } from "../v2/command.ts";
import { loadStore, saveStore } from "../v2/snapshot.ts";
import { Store, type ApplyResult } from "../v2/store.ts";
import { emptyMembership, founded, withMember, withoutMember, type MemberContext, type Membership } from "./members.ts";

/** The data of a normal entry: a store command, or new peer URLs for a member. */
export type NormalEntry = { command: Command } | { memberUpdate: MemberUpdate };

export interface MemberUpdate {
  id: string;
  peerURLs: string[];
}

export type EntryResult = { kind: "store"; result: ApplyResult } | { kind: "config" } | { kind: "noop" };

export class ReplicaState implements StateMachine<EntryResult> {
  store = new Store();
  membership: Membership = emptyMembership();

  constructor(private readonly cluster: string) {}

  apply(entry: Entry): EntryResult {
    if (entry.type === "config") {
      const { change, config } = decodeConfigEntry(entry.data);
      if (!change) this.membership = founded(this.cluster, config.voters);
      else if (change.type === "removeNode") this.membership = withoutMember(this.membership, change.node);
      else if (change.context) {
        this.membership = withMember(this.membership, change.node, JSON.parse(change.context) as MemberContext);
      }
      return { kind: "config" };
    }
    // An empty normal entry is the no-op a new leader appends (§5.4.2).
    if (entry.data === "") return { kind: "noop" };
    const data = JSON.parse(entry.data) as NormalEntry;
    if ("memberUpdate" in data) {
      const { id, peerURLs } = data.memberUpdate;
      this.membership = {
        ...this.membership,
        members: this.membership.members.map((m) => (m.id === id ? { ...m, peerURLs } : m)),
      };
      return { kind: "config" };
    }
    return { kind: "store", result: this.store.apply(data.command) };
  }

  /** Whether `id` was removed from the cluster for good. */
  isRemoved(id: string): boolean {
    return this.membership.removed.includes(id);
  }

  encode(): string {
    return JSON.stringify({ store: saveStore(this.store), membership: this.membership });
  }

  /** Replaces everything with a snapshot's state; live watchers are kept and stay registered. */
  restore(data: string): void {
    const parsed = JSON.parse(data) as { store: string; membership: Membership };
    const watchers = this.store.hub;
    this.store = loadStore(parsed.store);
    this.store.adoptWatchers(watchers);
    this.membership = parsed.membership;
  }
}

export function encodeCommand(command: Command): string {
  const entry: NormalEntry = { command };
  return JSON.stringify(entry);
}

export function encodeMemberUpdate(memberUpdate: MemberUpdate): string {
  const entry: NormalEntry = { memberUpdate };
  return JSON.stringify(entry);
}
