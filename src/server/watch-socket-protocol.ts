/**
 * What travels over a watch socket between the Worker and a replica (see
 * src/replica/watch-sockets.ts and src/http/watch-socket.ts). Each message
 * is one text frame: a one-letter tag, then its body. The tags keep the
 * Worker's own signals apart from the client's requests, which pass
 * through as the client wrote them.
 */

/** The path a Worker opens a watch socket on; `kind` says which API's watch it carries. */
export const WATCH_SOCKET_PATH = "/_watch";

export type WatchSocketKind = "v3" | "v2";

/** Worker to replica. */
export const TO_REPLICA = {
  /** v3 request lines as the client sent them (create, cancel, progress): one or more, a newline between two. */
  request: "r",
  /** A v2 watch: the parsed request, as JSON; the first and only message of a v2 socket. */
  keys: "k",
  /** The progress-notify interval has passed (the Worker keeps that timer; see PROGRESS_EVERY). */
  tick: "t",
  /** The client's reader is behind (see WATCH_BACKLOG_BYTES): v3 watchers with news wait; a v2 stream ends, as etcd closes a watcher that overflows. */
  pause: "p",
  /** The client's reader has caught up: watchers left behind catch up from history. */
  resume: "g",
} as const;

/** Replica to Worker. */
export const TO_WORKER = {
  /** A v3 response line, or a v2 event line, for the client as it is. */
  line: "r",
  /** A v2 watch's answer before its events, as JSON (a KeysReply: status, what goes in headers and, for an answer that ends the watch, its body). */
  head: "h",
  /** Send a tick every this many milliseconds (0: stop); some watcher asked for progress_notify. */
  progressEvery: "t",
  /** The watch is over (a request it could not read, a v2 one-shot answered); the body says why. */
  end: "e",
} as const;

/** A message: its tag, then its body. */
export function frame(tag: string, body = ""): string {
  return tag + body;
}

/** A message's tag and body. */
export function unframe(message: string | ArrayBuffer): { tag: string; body: string } {
  const text = typeof message === "string" ? message : new TextDecoder().decode(message);
  return { tag: text.slice(0, 1), body: text.slice(1) };
}
