/**
 * The streams this Worker instance holds open: v2 watches (long polls and
 * streams) and v3 streams (watch, lease keep-alive, election observe, over
 * chunked HTTP or a WebSocket). Each costs the runtime sockets, so beyond
 * `MAX_WATCHES` a new one is refused with a clear error instead of the
 * runtime running out of file descriptors and restarting (which drops every
 * stream it holds).
 */
import { onStreamEnd } from "../server/stream-end.ts";

let open = 0;

/** How many streams are open now. */
export function openStreams(): number {
  return open;
}

/**
 * Takes a place for a new stream at once, before the stream exists (so
 * that requests arriving together cannot all pass the check), or says why
 * there is none (0: no limit). The place is given back with `release`,
 * which may be called any number of times.
 */
export function admit(max: number): { release: () => void } | { refused: string } {
  if (max > 0 && open >= max) return { refused: `too many watches open on this server (${max}); retry later or raise MAX_WATCHES` };
  open++;
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      open--;
    },
  };
}

/**
 * Passes `stream` through and releases its place when the stream ends, its
 * reader leaves, or `clientGone` aborts. A quiet stream would notice a
 * departed reader only at its next write; the request's signal says so at
 * once. The stream is read here, chunk by chunk, rather than piped: a pipe
 * into the runtime's response body does not always settle once its source
 * has ended (measured under `npm start`: three answered long polls kept
 * their places), and a place must never outlive its stream.
 */
export function counted(stream: ReadableStream<Uint8Array>, release: () => void, clientGone?: AbortSignal): ReadableStream<Uint8Array> {
  clientGone?.addEventListener("abort", release, { once: true });
  return onStreamEnd(stream, release);
}
