/**
 * The Worker's end of a watch socket (see src/replica/watch-sockets.ts): it
 * opens a WebSocket to the replica that serves the watch and turns its
 * messages into the lines of the client's response. The replica may sleep
 * between events; the Worker holds the client's request and the socket, and
 * keeps the timers a watch needs (progress_notify's interval), so that no
 * timer keeps the replica awake. A v3 watch stream and a v2 watch (long poll
 * or stream) are served this way.
 */
import { WATCH_BACKLOG_BYTES } from "../server/v3-watch.ts";
import type { KeysReply, ReplicaStub } from "../server/api.ts";
import type { KeysRequest } from "../v2/request.ts";
import { systemClock, withTimeout } from "../server/clock.ts";
import { forEachLine } from "../server/lines.ts";
import { frame, TO_REPLICA, TO_WORKER, unframe, WATCH_SOCKET_PATH, type WatchSocketKind } from "../server/watch-socket-protocol.ts";

/** Opens a watch socket of `kind` to `replica`. */
export async function openWatchSocket(replica: ReplicaStub, kind: WatchSocketKind): Promise<WebSocket> {
  const res = await replica.fetch(new Request(`https://replica${WATCH_SOCKET_PATH}?kind=${kind}`, { headers: { Upgrade: "websocket" } }));
  const ws = res.webSocket;
  if (res.status !== 101 || !ws) throw new Error(`the replica refused a watch socket: ${res.status} ${await res.text()}`);
  ws.accept();
  return ws;
}

/** What a socket's replica sends besides response lines, for a caller that needs it (v2's head). */
export type OtherMessage = (tag: string, body: string) => void;

/**
 * The response lines of a watch socket, as a byte stream for the client.
 * The stream ends when the replica ends the watch or the socket closes;
 * the socket is closed when the reader leaves or `clientGone` aborts (the
 * replica then frees the watch). A reader more than WATCH_BACKLOG_BYTES
 * behind pauses the replica's watchers until it has caught up.
 */
export function socketLines(ws: WebSocket, clientGone?: AbortSignal, other: OtherMessage = () => {}): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let ticks: ReturnType<typeof setInterval> | null = null;
  let paused = false;
  let finished = false;
  const stopTicks = () => {
    if (ticks) clearInterval(ticks);
    ticks = null;
  };
  const close = () => {
    stopTicks();
    try {
      ws.close(1000, "watch closed");
    } catch {
      // already closed
    }
  };
  const send = (tag: string) => {
    try {
      ws.send(frame(tag));
    } catch {
      // closed: the close event ends the stream
    }
  };
  if (clientGone?.aborted) close();
  else clientGone?.addEventListener("abort", close, { once: true });
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const finish = (err?: Error) => {
          if (finished) return;
          finished = true;
          stopTicks();
          if (err) controller.error(err);
          else controller.close();
        };
        ws.addEventListener("message", (e) => {
          if (finished) return;
          const { tag, body } = unframe(e.data);
          if (tag === TO_WORKER.line) {
            controller.enqueue(encoder.encode(`${body}\n`));
            if (!paused && (controller.desiredSize ?? 0) < -WATCH_BACKLOG_BYTES) {
              paused = true;
              send(TO_REPLICA.pause);
            }
          } else if (tag === TO_WORKER.progressEvery) {
            stopTicks();
            const ms = Number(body);
            if (ms > 0) ticks = setInterval(() => send(TO_REPLICA.tick), ms);
          } else if (tag === TO_WORKER.end) {
            finish();
            close();
          } else {
            other(tag, body);
          }
        });
        ws.addEventListener("close", (e) => {
          // A clean close follows the replica's end message; any other means
          // the replica went away with the watch (the client resumes it).
          finish(e.code === 1000 ? undefined : new Error(`watch socket closed (${e.code} ${e.reason})`));
          close();
        });
        ws.addEventListener("error", () => {
          finish(new Error("watch socket failed"));
          close();
        });
      },
      pull() {
        if (paused) {
          paused = false;
          send(TO_REPLICA.resume);
        }
      },
      cancel() {
        finished = true;
        close();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: 0 }),
  );
}

/**
 * A v3 watch stream served over a watch socket: the client's request lines
 * go to the replica as they arrive, its responses come back as lines. As
 * etcd's, the stream outlives the requests; a request too large to read
 * ends it.
 */
export async function v3WatchOverSocket(replica: ReplicaStub, requests: ReadableStream<Uint8Array>, clientGone?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
  const ws = await openWatchSocket(replica, "v3");
  const lines = socketLines(ws, clientGone);
  const left = new AbortController();
  ws.addEventListener("close", () => left.abort());
  // Lines that arrive together go in one message: the replica handles them
  // in one event (one storage commit for their watchers, not one each), and
  // each message it receives is billed.
  let batch: string[] = [];
  const flush = () => {
    const lines = batch;
    batch = [];
    try {
      ws.send(frame(TO_REPLICA.request, lines.join("\n")));
    } catch {
      // closed: the close event ends the stream
    }
  };
  forEachLine(
    requests,
    (line) => {
      if (batch.push(line) === 1) setTimeout(flush, 0);
      return true;
    },
    left.signal,
  ).catch(() => {
    // Unreadable or too large, or the client went away: the stream ends.
    try {
      ws.close(1000, "requests ended");
    } catch {
      // already closed
    }
  });
  return lines;
}

/**
 * A v2 watch served over a watch socket (src/replica/v2-watch-socket.ts):
 * the request goes to the replica as the socket's one message; its answer's
 * head comes back first (what the Worker writes as status and headers),
 * then the events, as lines of the body. An answer that ends the watch at
 * once (an error) carries its body in the head. The socket closing before
 * the head, a failed call, lets the router ask another member.
 */
/** How long a v2 watch waits for its member's answer: within the router's own limit on a call (12 s), so the socket is closed before the router moves on. */
const V2_WATCH_HEAD_MS = 10_000;

export async function v2WatchOverSocket(replica: ReplicaStub, req: KeysRequest, clientGone?: AbortSignal): Promise<KeysReply> {
  if (clientGone?.aborted) throw new Error("the client left");
  const ws = await openWatchSocket(replica, "v2");
  let lines!: ReadableStream<Uint8Array>;
  const head = new Promise<KeysReply>((resolve, reject) => {
    const unanswered = () => reject(new Error("the watch socket closed before its answer"));
    ws.addEventListener("close", unanswered);
    ws.addEventListener("error", unanswered);
    lines = socketLines(ws, clientGone, (tag, body) => {
      if (tag === TO_WORKER.head) resolve(JSON.parse(body) as KeysReply);
    });
  });
  try {
    ws.send(frame(TO_REPLICA.keys, JSON.stringify(req)));
  } catch {
    // Closed already (the client left): the close event rejects the head.
  }
  let reply: KeysReply;
  try {
    reply = await withTimeout(systemClock, head, V2_WATCH_HEAD_MS, "the watch's member did not answer");
  } catch (err) {
    // The router asks another member: nobody will read this socket, so it
    // closes, and the member drops the watcher it may still register.
    await lines.cancel();
    throw err;
  }
  if (!reply.body) return { ...reply, stream: lines };
  await lines.cancel();
  return reply;
}
