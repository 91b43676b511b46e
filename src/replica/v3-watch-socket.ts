/**
 * A v3 watch stream served on a watch socket (see watch-sockets.ts): the
 * client's request lines arrive as messages, each response goes back as one.
 * The session is saved after every change to what it has sent, so that it
 * goes on after a restart where it stopped: each watcher's selection in
 * SQLite (watch-specs.ts), its progress in the socket's attachment. Most
 * watchers of a stream need the same next revision (the one after the last
 * write applied), so the attachment holds that one and the few that differ.
 *
 * No timer of the replica's outlives a message: progress_notify's interval
 * runs in the Worker, which sends a tick each time it passes (the replica
 * says when to start and stop); a new watcher's history is sent once every
 * request of the message that created it is answered (as etcd sends it from
 * a later sync), in the same event.
 */
import { decodeWatchRequest } from "../v3/gateway-watch.ts";
import { encodeWatchResponse, type WatchResponse } from "../v3/gateway-watch.ts";
import type { ReplicaState } from "../server/state.ts";
import { WatchSession, type SavedSession } from "../server/v3-watch.ts";
import { TO_REPLICA, TO_WORKER } from "../server/watch-socket-protocol.ts";
import type { SocketWatch, WatchSocket } from "./watch-sockets.ts";
import type { WatcherSpec, WatchSpecs } from "./watch-specs.ts";

export interface V3SocketOptions {
  header: () => { clusterId: string; memberId: string; raftTerm: number };
  /** How often a watcher that asked for progress_notify is told the revision. */
  progressMs: number;
}

/** What the attachment holds: the next revision of most watchers, and those of the others. */
interface Progress {
  nextId: number;
  paused: boolean;
  next: number;
  /** [watch id, next revision] of each watcher whose next is not `next`. */
  others: [number, number][];
}

export function v3SocketWatch(state: ReplicaState, specs: WatchSpecs, socket: WatchSocket, options: V3SocketOptions, saved: unknown): SocketWatch {
  const progress = saved as Progress | undefined;
  let paused = progress?.paused ?? false;
  let tick: (() => void) | null = null;
  let session: WatchSession | null = null;
  /** The watch ids whose selection is in SQLite. */
  const stored = new Set<number>();
  const previous = progress && restored(specs.of(socket.id), progress, stored);
  const save = () => {
    if (session) socket.save(() => progressOf(session!, paused, specs, socket.id, stored));
  };
  const send = (r: WatchResponse) => {
    socket.send(TO_WORKER.line, encodeWatchResponse(options.header(), r));
    save();
  };
  /** What runs once the requests of the message at hand are answered. */
  const afterMessage: (() => void)[] = [];
  const timers = {
    later: (fn: () => void) => void afterMessage.push(fn),
    every: (fn: () => void) => {
      tick = fn;
      // Up to a tenth more, as etcd adds, so that streams opened together
      // are not all notified in the same instant.
      socket.send(TO_WORKER.progressEvery, String(options.progressMs + Math.floor(Math.random() * (options.progressMs / 10))));
      return () => {
        tick = null;
        socket.send(TO_WORKER.progressEvery, "0");
      };
    },
  };
  session = new WatchSession(state, send, timers, () => paused, previous);
  save();
  const s = session;
  return {
    message(tag, body) {
      if (tag === TO_REPLICA.tick) return tick?.();
      if (tag === TO_REPLICA.pause || tag === TO_REPLICA.resume) {
        paused = tag === TO_REPLICA.pause;
        if (!paused) s.resume();
        return save();
      }
      if (tag !== TO_REPLICA.request) return;
      for (const line of body.split("\n")) {
        let request;
        try {
          request = decodeWatchRequest(line);
        } catch {
          // A request it cannot read ends the stream, as etcd's gateway ends it.
          return socket.end("unreadable watch request");
        }
        s.handle(request);
      }
      for (const fn of afterMessage.splice(0)) fn();
      save();
    },
    closed() {
      s.close();
      specs.drop(socket.id);
    },
    forget() {
      s.close();
    },
  };
}

/** The session saved before a restart, from its selections and its progress. */
function restored(all: WatcherSpec[], progress: Progress, stored: Set<number>): SavedSession {
  const others = new Map(progress.others);
  for (const w of all) stored.add(w.id);
  return { nextId: progress.nextId, watchers: all.map((w) => ({ ...w, next: others.get(w.id) ?? progress.next })) };
}

/**
 * Brings SQLite up to the session's watchers, and answers their progress for
 * the attachment. Runs after every message that changed the session, so it
 * makes one pass over the watchers and copies none of them.
 */
function progressOf(session: WatchSession, paused: boolean, specs: WatchSpecs, socket: string, stored: Set<number>): Progress {
  const counts = new Map<number, number>();
  session.forEachWatcher(({ id, selector, progressNotify, next }) => {
    if (!stored.has(id)) {
      specs.put(socket, { id, selector, progressNotify });
      stored.add(id);
    }
    counts.set(next, (counts.get(next) ?? 0) + 1);
  });
  if (stored.size > session.size) {
    // Some were canceled: forget them.
    const live = new Set<number>();
    session.forEachWatcher(({ id }) => live.add(id));
    for (const id of [...stored]) {
      if (live.has(id)) continue;
      specs.remove(socket, id);
      stored.delete(id);
    }
  }
  let next = 0;
  for (const [n, count] of counts) if (count > (counts.get(next) ?? 0)) next = n;
  const others: [number, number][] = [];
  if (counts.size > 1) session.forEachWatcher((w) => w.next !== next && others.push([w.id, w.next]));
  return { nextId: session.nextWatchId, paused, next, others };
}
