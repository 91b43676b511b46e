/**
 * A byte stream that says once when it is over: its source ended, failed,
 * or its reader left. Read chunk by chunk rather than piped, since a pipe
 * into the runtime's response body does not always settle once its source
 * has ended (see src/http/open-streams.ts). A byte stream, so that it can
 * also be returned over RPC.
 */
export function onStreamEnd(stream: ReadableStream<Uint8Array>, ended: () => void): ReadableStream<Uint8Array> {
  let open = true;
  const end = () => {
    if (open) ended();
    open = false;
  };
  const reader = stream.getReader();
  return new ReadableStream({
    type: "bytes",
    async pull(controller: ReadableByteStreamController) {
      try {
        const { done, value } = await reader.read();
        if (!done) return controller.enqueue(value);
        end();
        controller.close();
      } catch (err) {
        end();
        controller.error(err);
      }
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  });
}
