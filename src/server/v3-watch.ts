/**
 * One v3 watch stream on a member: the watches a client created on it, fed
 * from the keyspace's history (any revision not yet compacted: it is on
 * disk, not a fixed window) and then from every write this member applies.
 * Each watcher has the next revision it must see, so no revision is skipped
 * or sent twice, also when a snapshot replaces the keyspace under it.
 *
 * A reader that falls behind is not sent more than WATCH_BACKLOG_BYTES: past
 * that, watchers with events to send wait, and catch up from history once
 * the reader has taken what is queued (etcd's "victim" watchers), or are
 * canceled with the compaction's revision if history was compacted
 * meanwhile, as etcd cancels them.
 */
import type { WatchRequest, WatchResponse } from "../v3/gateway-watch.ts";
import { history, select, selectorOf, type WatchEvent, type WatchSelector } from "../v3/watch.ts";
import { decodeWatchRequest, encodeWatchResponse } from "../v3/gateway-watch.ts";
import { forEachLine } from "./lines.ts";
import { tooManyWatchers } from "./limits.ts";
import type { ReplicaState } from "./state.ts";

/** Bytes of responses a stream may have queued for its reader before its watchers wait (see above). */
export const WATCH_BACKLOG_BYTES = 1 << 20;

interface Watcher {
  id: number;
  selector: WatchSelector;
  /** The first revision this watcher has not been sent yet. */
  next: number;
  progressNotify: boolean;
  /** Nothing was sent to it since the last progress tick (etcd's `progress[id]`). */
  quietSinceTick: boolean;
}

/**
 * What a session must keep to go on after its member restarts (see
 * src/replica/watch-sockets.ts): each watcher's selection and the next
 * revision it must see. Plain data, kept with the session's socket.
 */
export interface SavedSession {
  nextId: number;
  watchers: { id: number; selector: WatchSelector; next: number; progressNotify: boolean }[];
}

/** The timers a session runs on: the replica's, or a test's. */
export interface WatchTimers {
  /** Runs `fn` after the requests at hand are answered. */
  later(fn: () => void): void;
  /** Runs `fn` every progress-notify interval until the returned function is called. */
  every(fn: () => void): () => void;
}

/**
 * A watch stream as bytes: the client's request lines in, `{"result":...}`
 * lines out. It stays open when the requests end (as etcd's does), until the
 * reader goes away; a request it cannot read ends it, as etcd's gateway does.
 */
export function watchStream(
  state: ReplicaState,
  requests: ReadableStream<Uint8Array>,
  header: () => { clusterId: string; memberId: string; raftTerm: number },
  timers: WatchTimers,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let session: WatchSession | null = null;
  return new ReadableStream({
    type: "bytes",
    start(controller: ReadableByteStreamController) {
      // A reader that went away must never fail the write that is being
      // applied (watchers are told from inside the apply): the session ends.
      const send = (r: WatchResponse) => {
        try {
          controller.enqueue(encoder.encode(`${encodeWatchResponse(header(), r)}\n`));
        } catch {
          session?.close();
        }
      };
      const backlogged = () => (controller.desiredSize ?? 0) < -WATCH_BACKLOG_BYTES;
      const s = new WatchSession(state, send, timers, backlogged);
      session = s;
      const end = () => {
        s.close();
        controller.close();
      };
      forEachLine(requests, (line) => {
        s.handle(decodeWatchRequest(line));
        return true;
      }).catch(() => end());
    },
    // The reader has taken everything queued.
    pull() {
      session?.resume();
    },
    cancel() {
      session?.close();
    },
  });
}

export class WatchSession {
  private readonly watchers = new Map<number, Watcher>();
  private nextId = 0;
  private readonly listener = (change: { revision: number; events: WatchEvent[] } | null) => this.changed(change);
  /** Watchers created since the last sync, waiting for their history. */
  private readonly unsynced: Watcher[] = [];
  /** Watchers with events they were not sent because the reader is backlogged; they catch up from history (see resume). */
  private readonly behind = new Set<Watcher>();
  /** Stops the progress ticks; set while some watcher asked for progress_notify. */
  private stopTicks: (() => void) | null = null;

  constructor(
    private readonly state: ReplicaState,
    private readonly sendResponse: (response: WatchResponse) => void,
    private readonly timers: WatchTimers,
    /** Whether the reader has more than it should queued already (see WATCH_BACKLOG_BYTES). */
    private readonly backlogged: () => boolean = () => false,
    /** The session as it was before its member restarted: its watchers go on from where they were. */
    saved?: SavedSession,
  ) {
    state.v3Listeners.add(this.listener);
    if (saved) this.restore(saved);
  }

  /** The session as plain data (see SavedSession). */
  save(): SavedSession {
    const watchers: SavedSession["watchers"] = [];
    this.forEachWatcher((w) => watchers.push(w));
    return { nextId: this.nextId, watchers };
  }

  /** The id the next watcher created without one gets. */
  get nextWatchId(): number {
    return this.nextId;
  }

  /** Visits each watcher as SavedSession holds it, without copying the lot (a stream may hold thousands). */
  forEachWatcher(visit: (w: Readonly<SavedSession["watchers"][number]>) => void): void {
    for (const w of this.watchers.values()) visit(w);
  }

  get size(): number {
    return this.watchers.size;
  }

  /**
   * Takes the watchers back after a restart. A revision the keyspace no
   * longer holds was never durable, so never sent (the runtime holds what a
   * member sends until its writes are on disk): the watcher waits for it
   * again. What it missed meanwhile comes from history, or it is canceled
   * with the compaction's revision.
   */
  private restore(saved: SavedSession): void {
    const revision = this.state.keyspace.revision();
    this.nextId = saved.nextId;
    for (const s of saved.watchers) {
      const w: Watcher = { ...s, next: Math.min(s.next, revision + 1), quietSinceTick: true };
      this.watchers.set(w.id, w);
      this.state.v3Watchers++;
      if (w.progressNotify && !this.stopTicks) this.stopTicks = this.timers.every(() => this.progressTick());
    }
    for (const w of this.watchers.values()) this.catchUp(w, revision);
  }

  handle(req: WatchRequest): void {
    if ("create" in req) return this.create(req.create);
    const revision = this.state.keyspace.revision();
    if ("cancel" in req) {
      if (this.watchers.delete(req.cancel)) this.state.v3Watchers--;
      return this.send({ revision, watchId: req.cancel, canceled: true });
    }
    // etcd 3.4 answers a progress request with watch_id -1.
    if ("progress" in req) this.send({ revision, watchId: -1 });
  }

  /** Watchers left behind catch up from history, as long as the reader keeps up. */
  resume(): void {
    if (this.behind.size === 0) return;
    const revision = this.state.keyspace.revision();
    for (const w of [...this.behind]) this.catchUp(w, revision);
  }

  close(): void {
    this.state.v3Listeners.delete(this.listener);
    this.state.v3Watchers -= this.watchers.size;
    this.watchers.clear();
    this.behind.clear();
    this.stopTicks?.();
    this.stopTicks = null;
  }

  private send(response: WatchResponse): void {
    if (response.events?.length) {
      const w = this.watchers.get(response.watchId);
      if (w) w.quietSinceTick = false;
    }
    this.sendResponse(response);
  }

  /**
   * progress_notify, as etcd's server does it: on each tick, a watcher that
   * was sent no events since the previous tick and is caught up gets an
   * empty response carrying the current revision (so a client knows it has
   * seen everything up to there); one that got events gets nothing.
   */
  private progressTick(): void {
    const revision = this.state.keyspace.revision();
    for (const w of this.watchers.values()) {
      if (!w.progressNotify) continue;
      if (w.quietSinceTick && w.next > revision) this.sendResponse({ revision, watchId: w.id });
      w.quietSinceTick = true;
    }
  }

  private create(c: Extract<WatchRequest, { create: unknown }>["create"]): void {
    const revision = this.state.keyspace.revision();
    if (this.state.watchers() >= this.state.maxWatchers) {
      // Refused in-band, as etcd refuses a watch it cannot create.
      return this.send({ revision, watchId: -1, created: true, canceled: true, cancelReason: tooManyWatchers(this.state.maxWatchers) });
    }
    const id = c.watchId > 0 ? c.watchId : this.nextId++;
    const compacted = this.state.mvcc.compacted();
    this.send({ revision, watchId: id, created: true });
    if (c.startRevision > 0 && c.startRevision < compacted) {
      // The history it asks for is gone: created, then canceled with the compaction's revision.
      return this.send({ watchId: id, canceled: true, compactRevision: compacted });
    }
    const next = c.startRevision > 0 ? c.startRevision : revision + 1;
    const watcher: Watcher = { id, selector: selectorOf(c), next, progressNotify: c.progressNotify, quietSinceTick: true };
    if (!this.watchers.has(id)) this.state.v3Watchers++;
    this.watchers.set(id, watcher);
    if (c.progressNotify && !this.stopTicks) this.stopTicks = this.timers.every(() => this.progressTick());
    // etcd sends history from a background sync, after it has answered the
    // requests that came with the create; so does this. One timer serves
    // every watcher created meanwhile: the runtime caps a Worker's pending
    // timers (10,000), and one stream may carry more watches than that.
    this.unsynced.push(watcher);
    if (this.unsynced.length === 1) this.timers.later(() => this.syncCreated());
  }

  private syncCreated(): void {
    const revision = this.state.keyspace.revision();
    for (const w of this.unsynced.splice(0)) if (this.watchers.get(w.id) === w) this.catchUp(w, revision);
  }

  /**
   * Sends a watcher the history it has not seen, up to `revision`, in one
   * response; leaves it behind while the reader is backlogged, and cancels it
   * when that history was compacted away.
   */
  private catchUp(w: Watcher, revision: number): void {
    if (this.watchers.get(w.id) !== w) return void this.behind.delete(w);
    if (w.next > revision) return;
    if (this.backlogged()) {
      this.behind.add(w);
      return;
    }
    this.behind.delete(w);
    const compacted = this.state.mvcc.compacted();
    if (w.next < compacted) {
      this.watchers.delete(w.id);
      this.state.v3Watchers--;
      return this.send({ watchId: w.id, canceled: true, compactRevision: compacted });
    }
    const events = history(this.state.mvcc, w.selector, w.next).filter((e) => e.kv.modRevision <= revision);
    w.next = revision + 1;
    if (events.length > 0) this.send({ revision, watchId: w.id, events });
  }

  private changed(change: { revision: number; events: WatchEvent[] } | null): void {
    const revision = this.state.keyspace.revision();
    for (const w of [...this.watchers.values()]) {
      if (change === null || this.behind.has(w)) {
        this.catchUp(w, revision);
        continue;
      }
      if (change.revision < w.next) continue;
      // Revisions it has not been sent (none, normally) come from history first.
      if (change.revision > w.next) this.catchUp(w, change.revision - 1);
      if (this.behind.has(w) || this.watchers.get(w.id) !== w) continue;
      const events = select(w.selector, change.events);
      if (events.length > 0 && this.backlogged()) {
        this.behind.add(w);
        continue;
      }
      w.next = change.revision + 1;
      if (events.length > 0) this.send({ revision: change.revision, watchId: w.id, events });
    }
  }
}
