/**
 * Many /v2/keys requests bound for the same replica travel in one RPC.
 *
 * Why: a Worker→Durable Object call is the largest fixed cost of a request,
 * larger than the replica's own work for a read. Requests that arrive in the
 * same turn of the event loop join one batch; the first of them (the sender)
 * makes the call one turn later, and the replica answers each request
 * separately. Under load that is one call for many requests; a lone request
 * still makes one call of its own.
 *
 * Why the others poll: a request's continuation must run in its own I/O
 * context. When a promise is settled from another request's call, workerd
 * may run the waiting request's continuation in the caller's context, and
 * the Response built there is then refused ("Cannot perform I/O on behalf of
 * a different request"). So only the sender awaits the call; every other
 * request (a rider) wakes on zero-delay timers of its own and checks its
 * slot. The call is kept alive past the sender's own request (`keepAlive`,
 * the Worker's waitUntil), so a sender whose client leaves does not strand
 * its riders, and a rider gives up on its own deadline regardless.
 */
import type { KeysRequest } from "../v2/request.ts";
import type { BatchedKeysReply } from "../server/api.ts";

/** What the batch brought back for one request. */
export type BatchOutcome = BatchedKeysReply | { failed: string };

/** Requests per call, so that a call's message stays far below the RPC size limit. */
export const MAX_BATCH = 128;
/** Requests carrying more than this go alone (their value alone is a large message). */
export const MAX_BATCHED_REQUEST_BYTES = 64 * 1024;

interface Slot {
  req: KeysRequest;
  outcome: BatchOutcome | null;
}

/** Batches still collecting requests, by the replica they go to. */
const forming = new Map<string, Slot[]>();

export interface BatchTarget {
  /** The replica's name: requests for the same one share a batch. */
  name: string;
  call(reqs: KeysRequest[]): Promise<BatchedKeysReply[]>;
}

export async function batchedKeys(
  target: BatchTarget,
  req: KeysRequest,
  timeoutMs: number,
  keepAlive: (work: Promise<unknown>) => void,
): Promise<BatchOutcome> {
  const slot: Slot = { req, outcome: null };
  const batch = forming.get(target.name);
  if (batch) {
    batch.push(slot);
    if (batch.length >= MAX_BATCH) forming.delete(target.name);
    // A little past the call's own timeout, which normally answers first.
    return awaitOutcome(slot, timeoutMs + 1000);
  }
  const slots = [slot];
  forming.set(target.name, slots);
  await nextTurn();
  if (forming.get(target.name) === slots) forming.delete(target.name);
  const sending = send(target, slots);
  keepAlive(sending);
  await sending;
  return slot.outcome!;
}

/** Makes the call and fills every slot; never rejects. */
async function send(target: BatchTarget, slots: Slot[]): Promise<void> {
  try {
    const replies = await target.call(slots.map((s) => s.req));
    slots.forEach((s, i) => (s.outcome = replies[i] ?? { failed: "no answer for this request in the batch" }));
  } catch (err) {
    const failed = (err as Error).message ?? String(err);
    for (const s of slots) s.outcome = { failed };
  }
}

async function awaitOutcome(slot: Slot, timeoutMs: number): Promise<BatchOutcome> {
  const deadline = Date.now() + timeoutMs;
  while (slot.outcome === null) {
    if (Date.now() > deadline) return { failed: "the batch this request joined did not answer" };
    await nextTurn();
  }
  return slot.outcome;
}

const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
