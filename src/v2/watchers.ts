/**
 * Live watchers and how an event reaches them (etcd's watcherHub rules):
 * - a watcher on the event's key always gets it;
 * - a recursive watcher on an ancestor gets it unless the part of the key
 *   below the watcher has a hidden ("_") component;
 * - when a delete or expiry removes a subtree, a watcher sitting on any
 *   removed path gets the event of the top removed node;
 * and only events at or after the watcher's start index count.
 * A one-shot watcher is removed after its first event; a stream watcher stays
 * until it is closed or its buffer overflows.
 */
import { EventHistory } from "./history.ts";
import { eventKey, type StoreEvent } from "./event.ts";
import { components, joinPath } from "./path.ts";

/** Receives an event; returns false when it cannot take more (buffer full). */
export type Deliver = (e: StoreEvent) => boolean;

export interface Watcher {
  readonly path: string;
  readonly recursive: boolean;
  readonly stream: boolean;
  readonly sinceIndex: number;
  /** The store index when the watch was registered (the X-Etcd-Index of the answer). */
  readonly startIndex: number;
  removed: boolean;
  deliver: Deliver;
}

export class WatcherHub {
  private byPath = new Map<string, Set<Watcher>>();
  count = 0;

  constructor(readonly history: EventHistory) {}

  /**
   * Starts a watch. If history already holds a matching event the watcher is
   * answered at once and never registered (for stream watchers too, as etcd
   * does).
   */
  watch(
    path: string,
    recursive: boolean,
    stream: boolean,
    sinceIndex: number,
    currentIndex: number,
    deliver: Deliver,
  ): Watcher {
    const past = this.history.scan(path, recursive, sinceIndex, currentIndex);
    const w: Watcher = { path, recursive, stream, sinceIndex, startIndex: currentIndex, removed: false, deliver };
    if (past) {
      w.removed = true;
      deliver(past);
      return w;
    }
    let set = this.byPath.get(path);
    if (!set) this.byPath.set(path, (set = new Set()));
    set.add(w);
    this.count++;
    return w;
  }

  remove(w: Watcher): void {
    if (w.removed) return;
    w.removed = true;
    const set = this.byPath.get(w.path);
    if (set?.delete(w)) {
      this.count--;
      if (set.size === 0) this.byPath.delete(w.path);
    }
  }

  /** Records the event in history and notifies the key and each of its ancestors. */
  notify(e: StoreEvent): void {
    this.history.add(e);
    const key = eventKey(e);
    let current = "/";
    this.notifyAt(e, current, false);
    for (const part of components(key)) {
      current = joinPath(current, part);
      this.notifyAt(e, current, false);
    }
  }

  /** Records a refresh: it takes an index but wakes nobody. */
  addSilently(e: StoreEvent): void {
    this.history.add(e);
  }

  /** Notifies watchers sitting exactly on a removed path. */
  notifyRemoved(e: StoreEvent, removedPath: string): void {
    this.notifyAt(e, removedPath, true);
  }

  private notifyAt(e: StoreEvent, watchPath: string, deleted: boolean): void {
    const set = this.byPath.get(watchPath);
    if (!set) return;
    const key = eventKey(e);
    const original = key === watchPath;
    if (!original && hiddenBelow(watchPath, key)) return;
    for (const w of [...set]) {
      if (!(w.recursive || original || deleted) || e.index < w.sinceIndex) continue;
      const accepted = w.deliver(e);
      if (!w.stream || !accepted) this.remove(w);
    }
  }

  /** Takes over another hub's live watchers (a replica restoring a snapshot keeps its watches). */
  adopt(other: WatcherHub): void {
    for (const [path, set] of other.byPath) {
      let mine = this.byPath.get(path);
      if (!mine) this.byPath.set(path, (mine = new Set()));
      for (const w of set) mine.add(w);
    }
    this.count += other.count;
    other.byPath.clear();
    other.count = 0;
  }
}

/** Whether the part of `key` below `watchPath` contains a hidden component. */
function hiddenBelow(watchPath: string, key: string): boolean {
  // A removed descendant can be deeper than the event's key: never hidden then.
  if (watchPath.length > key.length) return false;
  const rest = key.slice(watchPath === "/" ? 0 : watchPath.length);
  return ("/" + rest).replace(/\/+/g, "/").includes("/_");
}
