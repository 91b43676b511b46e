/**
 * v3 auth on a watch stream, as etcd 3.4's watch server applies it: each
 * create request is checked for read permission on its keys, with the
 * identity the stream was opened with; a refused one is answered in the
 * stream (created, then canceled at once, watch_id -1, the error as its
 * cancel reason) and the stream goes on.
 *
 * The check is made here, in the Worker, by asking the cluster before a
 * create request is passed on to the member holding the stream, so that
 * the stream's transport to its member (plain RPC or a watch socket)
 * carries nothing but watch requests. Refusals are written between whole
 * response lines of the member's stream.
 */
import type { V3Identity, WatchCheckResponse } from "../server/api.ts";
import { forEachLine } from "../server/lines.ts";
import { clusterId } from "../server/identity.ts";
import { decodeWatchRequest, encodeWatchResponse } from "../v3/gateway-watch.ts";
import { idToDecimal } from "../v3/gateway-json.ts";
import type { ClusterApi } from "./cluster-client.ts";

/** gRPC's names for the codes a watch can be refused with, as a cancel reason spells them. */
const CODE_NAMES: Record<number, string> = { 2: "Unknown", 3: "InvalidArgument", 7: "PermissionDenied", 14: "Unavailable", 16: "Unauthenticated" };

/**
 * Opens a watch stream through `open`, passing on every request line but
 * the create requests the cluster refuses for `identity`, which are
 * answered here.
 */
export async function authorizedWatch(
  requests: ReadableStream<Uint8Array>,
  identity: V3Identity,
  cluster: string,
  api: ClusterApi,
  open: (requests: ReadableStream<Uint8Array>) => Promise<ReadableStream<Uint8Array>>,
): Promise<ReadableStream<Uint8Array>> {
  const encoder = new TextEncoder();
  const passed = new TransformStream<Uint8Array, Uint8Array>();
  const passing = passed.writable.getWriter();
  let output: ReadableStreamDefaultController<Uint8Array> | null = null;
  const pending: string[] = [];
  const emit = (line: string) => (output ? output.enqueue(encoder.encode(`${line}\n`)) : pending.push(line));

  const refusal = async (line: string): Promise<string | null> => {
    let request;
    try {
      request = decodeWatchRequest(line);
    } catch {
      return null; // the member answers a request it cannot read
    }
    if (!("create" in request)) return null;
    const reply = await api.v3({ method: "watchCheck", req: { key: request.create.key, rangeEnd: request.create.rangeEnd }, ...identity });
    // An error of the call itself (no leader, say) refuses too, as etcd refuses a watch it cannot check.
    const refused = reply.ok ? (reply.response as WatchCheckResponse).refused : reply.error;
    if (!refused) return null;
    const header = { clusterId: idToDecimal(clusterId(cluster)), memberId: reply.ok ? idToDecimal(reply.memberId) : "", raftTerm: reply.ok ? reply.raftTerm : 0 };
    const reason = `rpc error: code = ${CODE_NAMES[refused.code] ?? refused.code} desc = ${refused.message}`;
    return encodeWatchResponse(header, { revision: reply.ok ? reply.response.revision : undefined, watchId: -1, created: true, canceled: true, cancelReason: reason });
  };

  forEachLine(requests, async (line) => {
    const refused = await refusal(line);
    if (refused) emit(refused);
    else await passing.write(encoder.encode(`${line}\n`));
    return true;
  })
    .catch(() => {})
    .finally(() => passing.close().catch(() => {}));

  const fromMember = await open(passed.readable);
  // forEachLine holds the member's stream locked while it reads, so the
  // client leaving is passed on through its abort signal.
  const reading = new AbortController();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      output = controller;
      for (const line of pending.splice(0)) emit(line);
      forEachLine(
        fromMember,
        (line) => {
          controller.enqueue(encoder.encode(`${line}\n`));
          return true;
        },
        reading.signal,
      )
        .then(() => controller.close())
        .catch((err: unknown) => controller.error(err));
    },
    cancel() {
      reading.abort();
    },
  });
}
