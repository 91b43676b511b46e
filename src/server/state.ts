/**
 * What a replica applies committed Raft entries to: the v2 store (with its
 * auth records), the v3 keyspace and the cluster's membership. Deterministic, so every replica that
 * applies the same entries holds the same state; snapshots carry all three.
 *
 * The v2 store and the membership live in memory: a restart rebuilds them
 * from the snapshot and the log after it. The v3 keyspace lives in its
 * backend (SQLite in a replica), which records the last entry applied to it
 * in the same transaction, so replaying the log after a restart skips what
 * it already holds.
 */
import { decodeConfigEntry, type Entry } from "../raft/index.ts";
import type { StateMachine } from "./driver.ts";
import { spanOf, type DurableMvccBackend } from "../v3/backend.ts";
import { addsData, changeAlarms, hasAlarm, type AlarmMember, type AlarmRequest } from "../v3/alarms.ts";
import { decodeV3Command } from "../v3/command.ts";
import { errNoSpace, V3Error, type V3ErrorBody } from "../v3/errors.ts";
import { checkWriteAccess } from "../v3/auth-requests.ts";
import { V3AuthStore, type AuthInfo, type V3AuthCommand, type V3AuthResult, type V3AuthSnapshot } from "../v3/auth-store.ts";
import { Keyspace } from "../v3/keyspace.ts";
import { decodeDump, encodeDump, type EncodedDump } from "../v3/snapshot.ts";
import type { V3Command, V3Result } from "../v3/types.ts";
import type { WatchEvent } from "../v3/watch.ts";
import { AuthStore, type AuthCommand, type AuthResult, type AuthSnapshot } from "../v2/auth-store.ts";
import type { Command } from "../v2/command.ts";
import { loadStore, saveStore } from "../v2/snapshot.ts";
import { Store, type ApplyResult } from "../v2/store.ts";
import { emptyMembership, founded, withMember, withoutMember, type MemberContext, type Membership } from "./members.ts";
import { MAX_WATCHERS_PER_MEMBER } from "./limits.ts";

/** The data of a normal entry: a v2 store command, a v3 write (see src/v3/command.ts), new peer URLs for a member, an alarm raised or cleared, or a v2 auth change. */
export type NormalEntry =
  | { command: Command }
  | { v3: unknown; by?: AuthInfo }
  | { memberUpdate: MemberUpdate }
  | { alarm: AlarmRequest }
  | { auth: AuthCommand }
  | { v3auth: V3AuthCommand };

export interface MemberUpdate {
  id: string;
  peerURLs: string[];
}

export type EntryResult =
  | { kind: "store"; result: ApplyResult }
  | { kind: "v3"; result: V3Result }
  | { kind: "alarm"; changed: AlarmMember[] }
  | { kind: "auth"; result: AuthResult }
  | { kind: "v3auth"; result: V3AuthResult }
  | { kind: "config" }
  | { kind: "noop" };

export class ReplicaState implements StateMachine<EntryResult> {
  store = new Store();
  /** The v2 auth records: users, roles, whether auth is enabled (see src/v2/auth-store.ts). */
  auth = new AuthStore();
  /** The v3 auth store, apart from v2's as in etcd (see src/v3/auth-store.ts). */
  v3auth = new V3AuthStore();
  membership: Membership = emptyMembership();
  /** The raised alarms (etcd's alarm store), the same on every member; NOSPACE refuses writes that add data. */
  alarms: AlarmMember[] = [];
  readonly keyspace: Keyspace;
  /** v3 watchers open on this member's watch streams (each stream is one of v3Listeners). */
  v3Watchers = 0;
  /** Watchers, v2 and v3 together, this member holds at most (tests lower it). */
  maxWatchers = MAX_WATCHERS_PER_MEMBER;
  /** Live v3 keys (null: not counted since load or the last snapshot); see liveKeys. */
  private liveKeyCount: number | null = null;
  /**
   * Told of every v3 write once it is applied (its revision and events), and
   * with `null` when a snapshot replaced the keyspace (watchers then catch up
   * from its history).
   */
  readonly v3Listeners = new Set<(change: { revision: number; events: WatchEvent[] } | null) => void>();

  constructor(
    private readonly cluster: string,
    readonly mvcc: DurableMvccBackend,
  ) {
    this.keyspace = new Keyspace(mvcc);
  }

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
    if ("v3" in data) return this.applyV3(entry.index, data.v3, data.by ?? null);
    if ("v3auth" in data) return { kind: "v3auth", result: this.v3auth.apply(data.v3auth, entry.index) };
    if ("alarm" in data) {
      const { alarms, changed } = changeAlarms(this.alarms, data.alarm);
      this.alarms = alarms;
      return { kind: "alarm", changed };
    }
    if ("auth" in data) {
      const { result, writes } = this.auth.apply(data.auth);
      this.store.recordInternalWrites(writes);
      return { kind: "auth", result };
    }
    return { kind: "store", result: this.store.apply(data.command) };
  }

  private applyV3(index: number, encoded: unknown, by: AuthInfo | null): EntryResult {
    // Already in the backend: applied before a restart.
    if (index <= this.mvcc.appliedIndex()) return { kind: "noop" };
    const cmd = decodeV3Command(encoded);
    // As etcd's capped applier: under NOSPACE every member refuses what adds
    // data, whatever its own size, since the alarm came through the log.
    // Nothing reaches the backend, so a replay after a restart (with the
    // alarms as they were at this index) refuses it again.
    if (hasAlarm(this.alarms, "NOSPACE") && addsData(cmd)) return { kind: "v3", result: { ok: false, error: errNoSpace().body } };
    // etcd's auth applier: permissions as they are at this entry, the same
    // on every member and again on a replay; refused, nothing is written.
    const refused = this.authRefusal(by, cmd);
    if (refused) return { kind: "v3", result: { ok: false, error: refused } };
    let result!: V3Result;
    this.mvcc.applyAt(index, () => (result = this.keyspace.apply(cmd)));
    const change = this.keyspace.takeEvents();
    if (change) {
      if (this.liveKeyCount !== null) this.liveKeyCount += liveKeyDelta(change.events);
      this.tell(change);
    }
    return { kind: "v3", result };
  }

  /**
   * Live v3 keys: counted once (a scan of the keyspace), then kept up to
   * date from each write's events, so that a metrics scrape does not scan
   * the keyspace while the member waits.
   */
  liveKeys(): number {
    this.liveKeyCount ??= this.mvcc.count(spanOf("", "\0"), this.mvcc.revision());
    return this.liveKeyCount;
  }

  private authRefusal(by: AuthInfo | null, cmd: V3Command): V3ErrorBody | null {
    try {
      checkWriteAccess(this.v3auth, by, cmd, (lease) => this.mvcc.leaseKeys(lease));
      return null;
    } catch (err) {
      if (err instanceof V3Error) return err.body;
      throw err;
    }
  }

  /** Tells the listeners; one that fails must not fail the entry being applied. */
  private tell(change: { revision: number; events: WatchEvent[] } | null): void {
    for (const listen of this.v3Listeners) {
      try {
        listen(change);
      } catch (err) {
        console.error("a v3 watch listener failed", err);
        this.v3Listeners.delete(listen);
      }
    }
  }

  /** Watchers this member holds now, v2 and v3 together (see maxWatchers). */
  watchers(): number {
    return this.store.hub.count + this.v3Watchers;
  }

  /** Whether `id` was removed from the cluster for good. */
  isRemoved(id: string): boolean {
    return this.membership.removed.includes(id);
  }

  encode(): string {
    return JSON.stringify({ store: saveStore(this.store), membership: this.membership, alarms: this.alarms, auth: this.auth.toJSON(), v3auth: this.v3auth.toJSON(), v3: encodeDump(this.mvcc.dump()) });
  }

  /**
   * Replaces everything with the state of a snapshot taken at log index
   * `index`; live v2 watchers are kept and stay registered. A v3 backend that
   * has already applied that far (this replica's own snapshot, at start-up)
   * is newer than the snapshot and stays as it is.
   */
  restore(data: string, index: number): void {
    const parsed = JSON.parse(data) as { store: string; membership: Membership; alarms?: AlarmMember[]; auth?: AuthSnapshot; v3auth?: V3AuthSnapshot; v3?: EncodedDump };
    const watchers = this.store.hub;
    this.store = loadStore(parsed.store);
    this.store.adoptWatchers(watchers);
    this.membership = parsed.membership;
    this.alarms = parsed.alarms ?? [];
    this.auth = AuthStore.fromJSON(parsed.auth);
    this.v3auth = V3AuthStore.fromJSON(parsed.v3auth);
    if (parsed.v3 && index > this.mvcc.appliedIndex()) {
      this.mvcc.load(decodeDump(parsed.v3), index);
      this.liveKeyCount = null;
      this.tell(null);
    }
  }
}

/** How a write's events change the number of live keys: a key's first version adds one, a delete takes one away. */
function liveKeyDelta(events: WatchEvent[]): number {
  let delta = 0;
  for (const e of events) {
    if (e.type === "DELETE") delta--;
    else if (e.kv.version === 1) delta++;
  }
  return delta;
}

export function encodeCommand(command: Command): string {
  const entry: NormalEntry = { command };
  return JSON.stringify(entry);
}

export function encodeMemberUpdate(memberUpdate: MemberUpdate): string {
  const entry: NormalEntry = { memberUpdate };
  return JSON.stringify(entry);
}

export function encodeAlarm(alarm: AlarmRequest): string {
  const entry: NormalEntry = { alarm };
  return JSON.stringify(entry);
}

export function encodeAuthCommand(auth: AuthCommand): string {
  const entry: NormalEntry = { auth };
  return JSON.stringify(entry);
}

export function encodeV3AuthCommand(v3auth: V3AuthCommand): string {
  const entry: NormalEntry = { v3auth };
  return JSON.stringify(entry);
}
