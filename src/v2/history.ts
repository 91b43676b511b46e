/**
 * The last N events (etcd keeps 1000), across all keys, so that a watch can
 * start from a past index. Refresh events are kept but never replayed.
 */
import { V2Error, ErrorCode } from "./errors.ts";
import { eventKey, type StoreEvent } from "./event.ts";

export class EventHistory {
  private events: StoreEvent[] = [];
  private start = 0; // position of the oldest event in `events`

  constructor(readonly capacity: number) {}

  add(e: StoreEvent): void {
    this.events.push(e);
    if (this.events.length - this.start > this.capacity) this.start++;
    // Drop the consumed prefix now and then instead of shifting on every add.
    if (this.start >= this.capacity) {
      this.events = this.events.slice(this.start);
      this.start = 0;
    }
  }

  /** Index of the oldest retained event, 0 while empty. */
  get startIndex(): number {
    return this.events.length > this.start ? this.events[this.start].index : 0;
  }

  get lastIndex(): number {
    return this.events.length > this.start ? this.events[this.events.length - 1].index : 0;
  }

  /**
   * The first event at or after `index` that a watch on `key` would see, or
   * null when none has happened yet. Matches the key itself, its subtree when
   * recursive, and the deletion of a directory whose key is a string prefix of
   * `key` (etcd's rule, quirk included: deleting /foo matches /foobar). No
   * hidden-key filtering applies to replays, as in etcd.
   */
  scan(key: string, recursive: boolean, index: number, currentIndex: number): StoreEvent | null {
    const startIndex = this.startIndex;
    if (index < startIndex) {
      throw new V2Error(
        ErrorCode.EventIndexCleared,
        `the requested history has been cleared [${startIndex}/${index}]`,
        currentIndex,
      );
    }
    if (index > this.lastIndex) return null;
    const prefix = key === "/" ? "/" : key + "/";
    for (let i = this.start + (index - startIndex); i < this.events.length; i++) {
      const e = this.events[i];
      if (e.refresh) continue;
      const k = eventKey(e);
      if (k === key || (recursive && k.startsWith(prefix))) return e;
      if (e.prevDir && (e.wire.action === "delete" || e.wire.action === "expire") && key.startsWith(k)) return e;
    }
    return null;
  }

  toJSON(): StoreEvent[] {
    return this.events.slice(this.start);
  }

  static fromJSON(capacity: number, events: StoreEvent[]): EventHistory {
    const h = new EventHistory(capacity);
    for (const e of events) h.add(e);
    return h;
  }
}
