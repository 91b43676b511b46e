/**
 * The last N events (etcd keeps 1000), across all keys, so that a watch can
 * start from a past index. Refresh events are kept but never replayed.
 *
 * Also bounded in bytes: an event holds its value and the one it replaced,
 * up to 1.5 MiB each, and 1000 of those would not fit a replica's memory.
 * Past HISTORY_BYTES the oldest events go first, and a watch from before
 * them gets etcd's error 401, as after 1000 events. Sizes come from the
 * events alone, so every member drops the same ones.
 */
import { V2Error, ErrorCode } from "./errors.ts";
import { eventKey, type StoreEvent } from "./event.ts";
import type { NodeExtern } from "./node.ts";

/** Estimated bytes of history kept at most (the newest event is always kept). */
export const HISTORY_BYTES = 16 * 1024 * 1024;

export class EventHistory {
  private events: StoreEvent[] = [];
  private start = 0; // position of the oldest event in `events`
  /** Estimated size of the retained events (see eventBytes). */
  private bytes = 0;

  constructor(
    readonly capacity: number,
    readonly maxBytes = HISTORY_BYTES,
  ) {}

  add(e: StoreEvent): void {
    this.events.push(e);
    this.bytes += eventBytes(e);
    while (this.events.length - this.start > 1 && (this.events.length - this.start > this.capacity || this.bytes > this.maxBytes)) {
      this.bytes -= eventBytes(this.events[this.start++]);
    }
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
      if (e.refresh || e.internal) continue;
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

/** What an event holds in memory, estimated from its strings (two bytes a character) plus a fixed cost. */
export function eventBytes(e: StoreEvent): number {
  return 128 + nodeChars(e.wire.node) * 2 + nodeChars(e.wire.prevNode) * 2;
}

function nodeChars(n: NodeExtern | undefined): number {
  return n ? (n.key?.length ?? 0) + (n.value?.length ?? 0) : 0;
}
