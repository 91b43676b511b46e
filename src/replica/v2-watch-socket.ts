/**
 * A v2 watch (GET /v2/keys/...?wait=true: a long poll, or stream=true)
 * served on a watch socket (see watch-sockets.ts), so that a waiting watch
 * holds no RPC stream and no timer in its replica: the replica may sleep
 * until the event comes. The Worker sends the parsed request as the
 * socket's one message; the replica checks it as any keys request
 * (KeysService.watch) and answers with the response's head (status and
 * X-Etcd-Index, etc.), then each event as a line. A one-shot watch ends
 * with its event, as does a stream answered from history (etcd never
 * registers such a watcher and leaves the stream hanging, etcd issue
 * #1186; ending it lets the client resume). An answer that ends the watch
 * at once (an error, the 401 of a cleared index) is the head alone.
 *
 * The socket's attachment holds the watch (path, recursive, stream) and the
 * first index it has yet to see, so that after an eviction it registers
 * again and catches up from the v2 event history (which the store's
 * snapshot keeps). Should that index have left the history meanwhile, the
 * watch ends with what it has sent, as etcd ends a watch whose watcher is
 * closed under it (an empty body for a long poll): the client polls again
 * with its waitIndex and gets etcd's 401 "cleared" error then.
 */
import { goJSON } from "../go/json.ts";
import type { KeysService, WatchSpec, WatchStart } from "../server/keys-service.ts";
import { TO_REPLICA, TO_WORKER } from "../server/watch-socket-protocol.ts";
import { V2Error } from "../v2/errors.ts";
import type { StoreEvent } from "../v2/event.ts";
import type { KeysRequest } from "../v2/request.ts";
import type { Watcher } from "../v2/watchers.ts";
import type { SocketWatch, WatchSocket } from "./watch-sockets.ts";

export function v2SocketWatch(keys: KeysService, socket: WatchSocket, saved: unknown): SocketWatch {
  let spec = saved as WatchSpec | undefined;
  let watcher: Watcher | null = null;
  let asked = false;
  let over = false;
  /** An event the store found in history while the watch registered: sent after the head. */
  let found: StoreEvent | null = null;

  const end = (reason: string) => {
    over = true;
    socket.end(reason);
  };
  const save = () => socket.save(() => spec);
  /** Sends an event: a one-shot watch ends with it, a stream saves where it stands. */
  const send = (e: StoreEvent) => {
    socket.send(TO_WORKER.line, goJSON(e.wire));
    if (!spec!.stream) return end("answered");
    spec!.since = e.index + 1;
    save();
  };
  const deliver = (e: StoreEvent): boolean => {
    if (!watcher) found = e;
    else if (!over) send(e);
    return true;
  };
  /** The watch is registered, or was answered from history as it registered. */
  const started = (w: Watcher) => {
    watcher = w;
    if (!found) return save();
    send(found);
    if (!over) end("answered from history");
  };

  const begin = async (req: KeysRequest) => {
    let start: WatchStart;
    try {
      start = await keys.watch(req, deliver);
    } catch (err) {
      // Unexpected: the socket closes with no head, and the router asks another member.
      console.error("v2 watch failed", err);
      return end("the watch failed");
    }
    if (over) {
      // The Worker left while the request was checked.
      if (start.watcher) keys.unwatch(start.watcher);
      return;
    }
    socket.send(TO_WORKER.head, JSON.stringify(start.reply));
    if (!start.watcher) return end("answered");
    spec = { path: req.path, recursive: req.recursive, stream: req.stream, since: start.watcher.sinceIndex };
    started(start.watcher);
  };

  /**
   * After an eviction: registers again from the first index not yet sent.
   * A stream catches up on every event it missed, one history answer after
   * another, before it waits again.
   */
  const resume = (saved: WatchSpec) => {
    try {
      for (;;) {
        found = null;
        const w = keys.rewatch(saved, deliver);
        const past = found as StoreEvent | null;
        if (!past || !saved.stream) return started(w);
        send(past);
      }
    } catch (err) {
      // The index left the history while the watch was away (see above).
      if (!(err instanceof V2Error)) console.error("v2 watch failed to resume", err);
      end("history cleared");
    }
  };
  const drop = () => {
    over = true;
    if (watcher) keys.unwatch(watcher);
  };
  // Once the socket's watch is in place (ending it inside WatchSockets' open would come too early).
  if (spec) queueMicrotask(() => !over && resume(spec!));

  return {
    message(tag, body) {
      // The client's reader is too far behind: as etcd closes a watcher whose buffer overflows.
      if (tag === TO_REPLICA.pause && spec) return end("the reader fell behind");
      if (tag !== TO_REPLICA.keys || asked || spec) return;
      asked = true;
      let req: KeysRequest;
      try {
        req = JSON.parse(body) as KeysRequest;
      } catch {
        return end("unreadable watch request");
      }
      void begin(req);
    },
    // Closed: nothing is kept but the attachment, which goes with the socket. Forgotten: the attachment stays.
    closed: drop,
    forget: drop,
  };
}
