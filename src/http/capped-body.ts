/**
 * Request bodies read against a limit as they arrive: a body that announces
 * more (Content-Length) is refused before any of it is read, and a streamed
 * one as soon as it passes the limit, the rest left unread. Every route that
 * reads a body reads it here, and answers RequestTooLarge with its API's
 * error.
 */
import { MAX_REQUEST_BYTES, RequestTooLarge } from "../server/limits.ts";

/** The body's bytes (empty when there is none); throws RequestTooLarge past `limit`. */
export async function readCappedBody(request: Request, limit = MAX_REQUEST_BYTES): Promise<Uint8Array> {
  const declared = Number(request.headers.get("Content-Length"));
  if (declared > limit) throw new RequestTooLarge(limit);
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new RequestTooLarge(limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const body = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return body;
}

/** The body as text (UTF-8, invalid bytes replaced, as Request.text() reads it); throws RequestTooLarge past `limit`. */
export async function readCappedText(request: Request, limit = MAX_REQUEST_BYTES): Promise<string> {
  return new TextDecoder().decode(await readCappedBody(request, limit));
}
