/**
 * The messages of a streamed request body, one JSON message per line (how
 * clients of etcd's gateway send Watch and LeaseKeepAlive requests).
 */
import { MAX_REQUEST_BYTES, RequestTooLarge } from "./limits.ts";

/**
 * Calls `handle` with each non-empty line as it arrives, in order; stops
 * early when it returns false, or when `signal` aborts (the stream is then
 * canceled, which tells whoever writes it). A line longer than
 * `maxLineBytes` is never held whole: the stream is canceled and this
 * rejects with RequestTooLarge.
 */
export async function forEachLine(
  body: ReadableStream<Uint8Array> | null,
  handle: (line: string) => Promise<boolean> | boolean,
  signal?: AbortSignal,
  maxLineBytes = MAX_REQUEST_BYTES,
): Promise<void> {
  if (!body) return;
  const reader = body.getReader();
  if (signal?.aborted) return void (await reader.cancel().catch(() => {}));
  signal?.addEventListener("abort", () => void reader.cancel().catch(() => {}));
  const decoder = new TextDecoder();
  let pending = "";
  for (;;) {
    const chunk = await reader.read();
    pending += chunk.done ? decoder.decode() : decoder.decode(chunk.value, { stream: true });
    const lines = pending.split("\n");
    pending = chunk.done ? "" : lines.pop()!;
    // Characters, not bytes: a character held is at least one byte received.
    if (pending.length > maxLineBytes || lines.some((line) => line.length > maxLineBytes)) {
      await reader.cancel().catch(() => {});
      throw new RequestTooLarge(maxLineBytes);
    }
    for (const line of lines) {
      if (line.trim() !== "" && !(await handle(line))) {
        await reader.cancel().catch(() => {});
        return;
      }
    }
    if (chunk.done) return;
  }
}
