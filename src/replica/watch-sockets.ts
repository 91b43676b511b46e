/**
 * Watches held as hibernatable WebSockets: the Worker opens one socket per
 * watch stream (v3) or long poll (v2) to the replica, which accepts it with
 * the Hibernation API. An open RPC stream would keep the object in a request,
 * so awake and billed for as long as the watch lasts; an accepted socket
 * does not: between events the object may be evicted while the socket stays
 * open, and what the replica sends on it is free.
 *
 * Each socket carries what its watch needs to go on after the object is
 * re-created (eviction, crash, restart): its attachment, kept by the runtime
 * with the socket, holds the watch's parameters and progress. The sockets
 * are revived once the replica has loaded, and each watch catches up from
 * history from where its attachment says it was. An attachment holds at most
 * 16 KiB (the runtime's limit), so what is large and changes rarely (a v3
 * stream's watchers, their keys and options) is kept in SQLite, named by the
 * socket's id; a v2 watch, one key, fits its attachment.
 */
import { frame, TO_WORKER, unframe, WATCH_SOCKET_PATH, type WatchSocketKind } from "../server/watch-socket-protocol.ts";

/** What a socket's attachment holds: which watch it is, and that watch's saved state. */
interface Attachment {
  kind: WatchSocketKind;
  /** Names the socket in what its watch keeps elsewhere (see watch-specs.ts). */
  id: string;
  saved?: unknown;
}

/** One side of a watch socket, as the watch served on it sees it. */
export interface WatchSocket {
  readonly id: string;
  send(tag: string, body?: string): void;
  /** Keeps `saved` with the socket (once per turn of the event loop, however often it is called). */
  save(saved: () => unknown): void;
  /** Ends the watch: tells the Worker why, and closes. */
  end(reason: string): void;
}

/** A watch served on a socket: it hears the Worker's messages and the socket closing. */
export interface SocketWatch {
  message(tag: string, body: string): void;
  /** The socket closed: the watch is over, and what it kept is deleted. */
  closed(): void;
  /** Drops the watch from memory, keeping what it saved (as an eviction would; see forgetAll). */
  forget(): void;
}

/** Makes the watch of a new socket (`saved` undefined) or of a revived one. */
export type OpenWatch = (kind: WatchSocketKind, socket: WatchSocket, saved: unknown) => SocketWatch;

export class WatchSockets {
  private readonly watches = new Map<WebSocket, SocketWatch>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly open: OpenWatch,
  ) {}

  /** Whether `request` is the Worker opening a watch socket. */
  static isWatchRequest(request: Request): boolean {
    return new URL(request.url).pathname === WATCH_SOCKET_PATH && request.headers.get("Upgrade")?.toLowerCase() === "websocket";
  }

  /** Accepts a watch socket; its watch starts with the first message. */
  accept(request: Request): Response {
    const kind = new URL(request.url).searchParams.get("kind");
    if (kind !== "v3" && kind !== "v2") return new Response("unknown watch kind", { status: 400 });
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server, [kind]);
    const attachment: Attachment = { kind, id: crypto.randomUUID() };
    server.serializeAttachment(attachment);
    this.watches.set(server, this.open(kind, this.socketOf(server, attachment), undefined));
    return new Response(null, { status: 101, webSocket: client });
  }

  /**
   * Gives every socket the runtime still holds its watch back, from its
   * attachment: after the object was re-created, nothing of them is in
   * memory. Called once the replica has loaded its state; answers the ids
   * of the sockets still open.
   */
  revive(): string[] {
    const ids: string[] = [];
    for (const ws of this.ctx.getWebSockets()) {
      if (this.watchOf(ws)) ids.push((ws.deserializeAttachment() as Attachment).id);
    }
    return ids;
  }

  message(ws: WebSocket, message: string | ArrayBuffer): void {
    const { tag, body } = unframe(message);
    this.watchOf(ws)?.message(tag, body);
  }

  /** The Worker closed the socket (its client left): the watch is freed. */
  closed(ws: WebSocket): void {
    const watch = this.watchOf(ws);
    this.watches.delete(ws);
    watch?.closed();
    try {
      ws.close(1000, "watch closed");
    } catch {
      // already closed
    }
  }

  /**
   * Drops every watch from memory and keeps the sockets, as the runtime does
   * when it evicts a hibernating object; the next event or revive() brings
   * each back from its attachment. For tests: workerd closes the sockets of
   * an object that aborts, so a crash cannot show this locally.
   */
  forgetAll(): void {
    for (const watch of this.watches.values()) watch.forget();
    this.watches.clear();
  }

  /** Sockets open now. */
  get size(): number {
    return this.ctx.getWebSockets().length;
  }

  private watchOf(ws: WebSocket): SocketWatch | undefined {
    let watch = this.watches.get(ws);
    if (watch) return watch;
    const attachment = ws.deserializeAttachment() as Attachment | null;
    if (!attachment || ws.readyState !== WebSocket.OPEN) return undefined;
    watch = this.open(attachment.kind, this.socketOf(ws, attachment), attachment.saved);
    this.watches.set(ws, watch);
    return watch;
  }

  private socketOf(ws: WebSocket, { kind, id }: Attachment): WatchSocket {
    let pending: (() => unknown) | null = null;
    return {
      id,
      send: (tag, body) => {
        try {
          ws.send(frame(tag, body));
        } catch {
          // The Worker went away; its close event frees the watch.
        }
      },
      save: (saved) => {
        const first = pending === null;
        pending = saved;
        if (!first) return;
        queueMicrotask(() => {
          const attachment: Attachment = { kind, id, saved: pending?.() };
          pending = null;
          try {
            ws.serializeAttachment(attachment);
          } catch (err) {
            // Too large for the runtime to keep: a restart could not resume
            // this watch, so it ends now and the client resumes it (from the
            // last revision it saw), as after any lost connection.
            console.error("watch socket attachment refused", err);
            this.end(ws, "watch state too large to keep across restarts");
          }
        });
      },
      end: (reason) => this.end(ws, reason),
    };
  }

  private end(ws: WebSocket, reason: string): void {
    const watch = this.watches.get(ws);
    this.watches.delete(ws);
    watch?.closed();
    try {
      ws.send(frame(TO_WORKER.end, reason));
      ws.close(1000, "watch ended");
    } catch {
      // already closed
    }
  }
}
