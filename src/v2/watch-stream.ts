/**
 * A watch as a byte stream: each event the store delivers becomes one JSON
 * line. A one-shot watch ends with its first event; a `stream=true` watch
 * stays open until its reader goes away or falls too far behind (etcd closes
 * a watcher whose 100-event buffer overflows).
 */
import { goJSONLine } from "../go/json.ts";
import type { KeysRequest } from "./request.ts";
import type { Store } from "./store.ts";
import type { Watcher } from "./watchers.ts";

/** Bytes a stream watcher may have waiting for its reader before it is closed. */
const STREAM_BACKLOG_BYTES = 1 << 20;

export interface WatchStream {
  watcher: Watcher;
  stream: ReadableStream<Uint8Array>;
}

/**
 * Registers a watch on `store`. `ended` runs once the watch can deliver no
 * more (its stream closed or its reader left); `cancelled` when the reader
 * cancels the stream. Throws the store's V2Error (e.g. 401, index cleared).
 */
export function openWatch(store: Store, req: KeysRequest, ended: () => void, cancelled: () => void): WatchStream {
  const encoder = new TextEncoder();
  let controller!: ReadableByteStreamController;
  let watcher: Watcher | null = null;
  const stream = new ReadableStream({
    type: "bytes",
    start: (c) => {
      controller = c;
    },
    cancel: cancelled,
  });
  watcher = store.watch(req.path, req.recursive, req.stream, req.waitIndex, (e) => {
    try {
      controller.enqueue(encoder.encode(goJSONLine(e.wire)));
    } catch {
      ended();
      return false; // the reader is gone
    }
    // A one-shot watch ends with its event. So does a stream answered from
    // history: etcd never registers such a watcher and leaves the stream
    // hanging (etcd issue #1186); ending it lets the client resume instead.
    const oneShot = !req.stream || watcher === null;
    const overflowing = (controller.desiredSize ?? 0) < -STREAM_BACKLOG_BYTES;
    if (oneShot || overflowing) {
      controller.close();
      ended();
      return !overflowing;
    }
    return true;
  });
  return { watcher, stream };
}
