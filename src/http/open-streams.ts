/**
 * The streams this Worker instance holds open: v2 watches (long polls and
 * streams) and v3 streams (watch, lease keep-alive, election observe, over
 * chunked HTTP or a WebSocket). Each costs the runtime sockets, so beyond
 * `MAX_WATCHES` a new one is refused with a clear error instead of the
 * runtime running out of file descriptors and restarting (which drops every
 * stream it holds).
 */

let open = 0;

/** How many streams are open now. */
export function openStreams(): number {
  return open;
}

/** Why a new stream is refused, or null when there is room (0: no limit). */
export function refusal(max: number): string | null {
  if (max > 0 && open >= max) return `too many watches open on this server (${max}); retry later or raise MAX_WATCHES`;
  return null;
}

/** Counts a stream as open until `release` is called (once). */
export function hold(): () => void {
  open++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    open--;
  };
}

/**
 * Passes `stream` through, counting it as open until it ends, its reader
 * leaves, or `clientGone` aborts. A quiet stream would notice a departed
 * reader only at its next write; the request's signal says so at once.
 */
export function counted(stream: ReadableStream<Uint8Array>, clientGone?: AbortSignal): ReadableStream<Uint8Array> {
  const release = hold();
  const pipe = new IdentityTransformStream();
  stream
    .pipeTo(pipe.writable, { signal: clientGone })
    .catch(() => {})
    .finally(release);
  return pipe.readable;
}
