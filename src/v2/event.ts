/**
 * Store events: what each mutation did, as the API writes it, plus the
 * bookkeeping the history and watchers need.
 */
import type { NodeExtern } from "./node.ts";

export type Action =
  | "get"
  | "set"
  | "create"
  | "update"
  | "compareAndSwap"
  | "delete"
  | "compareAndDelete"
  | "expire";

/** The wire form of an event: action, node, prevNode, in that order. */
export interface WireEvent {
  action: Action;
  node?: NodeExtern;
  prevNode?: NodeExtern;
}

export interface StoreEvent {
  wire: WireEvent;
  /** The event's index: the index of the write (etcd's Event.Index()). */
  index: number;
  /** Set for TTL refreshes: kept in history but never sent to watchers. */
  refresh: boolean;
  /** Whether the node it removed (delete/expire) was a directory. */
  prevDir: boolean;
  /** Set for writes to the auth records (see Store.recordInternalWrites): they take an index but match no key. */
  internal?: true;
}

export function newEvent(action: Action, node: NodeExtern, index: number, prevNode?: NodeExtern): StoreEvent {
  const wire: WireEvent = prevNode ? { action, node, prevNode } : { action, node };
  return { wire, index, refresh: false, prevDir: prevNode?.dir === true };
}

/** The event's key ("/" for the root, whose key is omitted on the wire). */
export function eventKey(e: StoreEvent): string {
  return e.wire.node?.key ?? "/";
}
