/**
 * A linearizability checker for histories of concurrent operations against a
 * sequential model, after Wing & Gong's search with Lowe's memoization (the
 * approach Porcupine popularized).
 *
 * The search walks the history in time order, tentatively linearizing any
 * pending operation whose call has happened and whose model step accepts its
 * recorded output, and backtracks when it meets the return of an operation it
 * could not place. A (set of linearized operations, model state) pair already
 * explored is never explored again, which keeps typical histories fast.
 *
 * Nothing here knows about Raft: give it any history and model.
 *
 * An operation whose outcome the caller never learned (timeout, crash) must
 * have `return: Infinity` and an output that the model accepts whatever the
 * operation did. An operation known to have had no effect can be left out.
 */

export interface Operation<I, O> {
  /** Who issued it (informational; one client may have several open operations). */
  client: string | number;
  /** Operation name, for messages (e.g. "read", "cas"). */
  op: string;
  input: I;
  output: O;
  /** Invocation and response times; only their order matters. */
  call: number;
  return: number;
}

export interface Model<S, I, O> {
  init(): S;
  /** Apply op to state; ok is false if the op's recorded output is impossible in that state. */
  step(state: S, op: Operation<I, O>): { ok: boolean; state: S };
  /** A string that is equal for equal states (memoization key). */
  key(state: S): string;
  /**
   * Split a history into independent sub-histories (e.g. by key) that can be
   * checked separately: a history is linearizable iff each part is.
   */
  partition?(history: Operation<I, O>[]): Operation<I, O>[][];
}

export type CheckResult<I, O> =
  | { linearizable: true }
  | { linearizable: false; part: Operation<I, O>[] }
  | { linearizable: "unknown"; part: Operation<I, O>[] };

interface Event {
  id: number;
  isCall: boolean;
  time: number;
  /** For a call: its return event. */
  match: Event | undefined;
  prev: Event | undefined;
  next: Event | undefined;
}

/** Check a history; `maxSteps` bounds the search per part (result "unknown" if exceeded). */
export function checkLinearizability<S, I, O>(
  model: Model<S, I, O>,
  history: Operation<I, O>[],
  maxSteps = 5_000_000,
): CheckResult<I, O> {
  const parts = model.partition ? model.partition(history) : [history];
  for (const part of parts) {
    const result = checkPart(model, part, maxSteps);
    if (result === "no") return { linearizable: false, part };
    if (result === "unknown") return { linearizable: "unknown", part };
  }
  return { linearizable: true };
}

function checkPart<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[], maxSteps: number): "yes" | "no" | "unknown" {
  const events: Event[] = [];
  ops.forEach((op, id) => {
    if (!(op.return >= op.call)) throw new Error(`operation ${id} (${op.op}) returns before it is called`);
    const ret: Event = { id, isCall: false, time: op.return, match: undefined, prev: undefined, next: undefined };
    events.push({ id, isCall: true, time: op.call, match: ret, prev: undefined, next: undefined }, ret);
  });
  // At equal times, calls first: such operations count as concurrent.
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1) || a.id - b.id);
  const head: Event = { id: -1, isCall: false, time: -Infinity, match: undefined, prev: undefined, next: undefined };
  let last = head;
  for (const e of events) {
    e.prev = last;
    last.next = e;
    last = e;
  }

  const linearized = new Uint32Array((ops.length + 31) >>> 5);
  const seen = new Set<string>();
  const stack: { call: Event; state: S }[] = [];
  let state = model.init();
  let entry = head.next;
  let steps = 0;

  while (head.next !== undefined) {
    if (++steps > maxSteps) return "unknown";
    if (entry === undefined) throw new Error("history walk ran off the end; every call needs a return");
    if (entry.isCall) {
      const result = model.step(state, ops[entry.id]);
      if (result.ok) {
        setBit(linearized, entry.id, true);
        const key = `${linearized.join(",")}|${model.key(result.state)}`;
        if (!seen.has(key)) {
          seen.add(key);
          stack.push({ call: entry, state });
          state = result.state;
          lift(entry);
          entry = head.next;
          continue;
        }
        setBit(linearized, entry.id, false);
      }
      entry = entry.next;
    } else {
      // An operation returned before we could place it: undo the last choice.
      const top = stack.pop();
      if (!top) return "no";
      state = top.state;
      setBit(linearized, top.call.id, false);
      unlift(top.call);
      entry = top.call.next;
    }
  }
  return "yes";
}

function setBit(bits: Uint32Array, i: number, on: boolean): void {
  if (on) bits[i >>> 5] |= 1 << (i & 31);
  else bits[i >>> 5] &= ~(1 << (i & 31));
}

/** Take a call and its return out of the list (the op is now linearized). */
function lift(call: Event): void {
  const ret = call.match as Event;
  (call.prev as Event).next = call.next;
  if (call.next) call.next.prev = call.prev;
  (ret.prev as Event).next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

function unlift(call: Event): void {
  const ret = call.match as Event;
  (ret.prev as Event).next = ret;
  if (ret.next) ret.next.prev = ret;
  (call.prev as Event).next = call;
  if (call.next) call.next.prev = call;
}
