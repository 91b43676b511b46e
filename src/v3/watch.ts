/**
 * etcd's v3 watch, the part that is pure: which changes a watcher sees, as
 * which events. A change is a new version of a key (a PUT) or a tombstone (a
 * DELETE, whose kv carries only the key and the revision); the events of one
 * revision reach a watcher together, in the order of the transaction's ops.
 */
import { inSpan, spanOf, type MvccBackend, type Span } from "./backend.ts";
import type { Bytes, KeyValue } from "./types.ts";

export type WatchFilter = "NOPUT" | "NODELETE";

export interface WatchEvent {
  type: "PUT" | "DELETE";
  kv: KeyValue;
  prevKv?: KeyValue;
}

/** WatchCreateRequest. */
export interface WatchCreate {
  key: Bytes;
  rangeEnd: Bytes;
  /** 0: from the next revision on. */
  startRevision: number;
  progressNotify: boolean;
  filters: WatchFilter[];
  prevKv: boolean;
  /** 0: the server assigns one. */
  watchId: number;
}

/** What a watcher wants: its keys, the events it filters out, whether it wants each event's previous version. */
export interface WatchSelector {
  span: Span;
  filters: WatchFilter[];
  prevKv: boolean;
}

export function selectorOf(c: WatchCreate): WatchSelector {
  return { span: spanOf(c.key, c.rangeEnd), filters: c.filters, prevKv: c.prevKv };
}

/** The events of changed versions; `prevOf` finds the version a change replaced (live, or none). */
export function eventsOf(changed: KeyValue[], prevOf: (kv: KeyValue) => KeyValue | undefined): WatchEvent[] {
  return changed.map((kv) => {
    const prevKv = prevOf(kv);
    const event: WatchEvent = { type: kv.version === 0 ? "DELETE" : "PUT", kv };
    if (prevKv) event.prevKv = prevKv;
    return event;
  });
}

/** The events a watcher sees among `events`. */
export function select(w: WatchSelector, events: WatchEvent[]): WatchEvent[] {
  const out: WatchEvent[] = [];
  for (const e of events) {
    if (!inSpan(w.span, e.kv.key)) continue;
    if ((e.type === "PUT" && w.filters.includes("NOPUT")) || (e.type === "DELETE" && w.filters.includes("NODELETE"))) continue;
    out.push(w.prevKv || !e.prevKv ? e : { type: e.type, kv: e.kv });
  }
  return out;
}

/** The events of `span` from revision `from` to now, read back from the keyspace's history. */
export function history(backend: MvccBackend, w: WatchSelector, from: number): WatchEvent[] {
  const changed = backend.changes(w.span, from);
  const prevOf = (kv: KeyValue) => (w.prevKv ? backend.range({ key: kv.key, end: null }, kv.modRevision - 1, 1)[0] : undefined);
  return select(w, eventsOf(changed, prevOf));
}
