/**
 * The linearizability checker itself: it must accept every linearizable
 * history and reject the ones that are not, or the simulation proves nothing.
 */
import { describe, expect, it } from "vitest";
import { checkLinearizability, type Model, type Operation } from "./linearizability.ts";
import { kvModel, type KvInput, type KvOperation, type KvOutput } from "./sim/kv.ts";

function op(client: string, input: KvInput, output: KvOutput, call: number, ret: number): KvOperation {
  return { client, op: input.kind, input, output, call, return: ret };
}
const put = (key: string, value: string): KvInput => ({ kind: "put", key, value });
const read = (key: string): KvInput => ({ kind: "read", key });
const cas = (key: string, expected: string | null, value: string): KvInput => ({ kind: "cas", key, expected, value });

describe("linearizability checker", () => {
  it("accepts a sequential history and concurrent ones that have a valid order", () => {
    const history = [
      op("a", put("x", "1"), { kind: "put" }, 0, 1),
      op("b", read("x"), { kind: "read", value: "1" }, 2, 3),
      // Overlapping put and reads: one read sees the old value, one the new.
      op("a", put("x", "2"), { kind: "put" }, 4, 9),
      op("b", read("x"), { kind: "read", value: "2" }, 5, 6),
      op("c", read("x"), { kind: "read", value: "1" }, 5, 7),
    ];
    // Both reads overlap the second put and each other: c's read, then the
    // put, then b's read is a valid order.
    expect(checkLinearizability(kvModel, history)).toEqual({ linearizable: true });
  });

  it("rejects a stale read after a completed write", () => {
    const history = [
      op("a", put("x", "1"), { kind: "put" }, 0, 1),
      op("a", put("x", "2"), { kind: "put" }, 2, 3),
      op("b", read("x"), { kind: "read", value: "1" }, 4, 5),
    ];
    const result = checkLinearizability(kvModel, history);
    expect(result.linearizable).toBe(false);
  });

  it("rejects reads that observe two writes in opposite orders", () => {
    const history = [
      op("a", put("x", "1"), { kind: "put" }, 0, 10),
      op("b", put("x", "2"), { kind: "put" }, 0, 10),
      op("c", read("x"), { kind: "read", value: "1" }, 1, 2),
      op("c", read("x"), { kind: "read", value: "2" }, 3, 4),
      op("d", read("x"), { kind: "read", value: "2" }, 1, 2),
      op("d", read("x"), { kind: "read", value: "1" }, 3, 4),
    ];
    expect(checkLinearizability(kvModel, history).linearizable).toBe(false);
  });

  it("rejects a compare-and-swap that succeeded against a value that was not there", () => {
    const history = [
      op("a", put("x", "1"), { kind: "put" }, 0, 1),
      op("b", cas("x", "0", "2"), { kind: "cas", ok: true }, 2, 3),
    ];
    expect(checkLinearizability(kvModel, history).linearizable).toBe(false);
    const fine = [history[0], op("b", cas("x", "1", "2"), { kind: "cas", ok: true }, 2, 3)];
    expect(checkLinearizability(kvModel, fine).linearizable).toBe(true);
  });

  it("lets an operation with unknown outcome take effect or not", () => {
    const lost = op("a", put("x", "9"), { kind: "unknown" }, 0, Infinity);
    const sawIt = [lost, op("b", read("x"), { kind: "read", value: "9" }, 5, 6)];
    const missedIt = [lost, op("b", read("x"), { kind: "read", value: null }, 5, 6)];
    expect(checkLinearizability(kvModel, sawIt).linearizable).toBe(true);
    expect(checkLinearizability(kvModel, missedIt).linearizable).toBe(true);
    // But once seen, it cannot be unseen.
    const flipFlop = [...sawIt, op("b", read("x"), { kind: "read", value: null }, 7, 8)];
    expect(checkLinearizability(kvModel, flipFlop).linearizable).toBe(false);
  });

  it("reports which independent part failed", () => {
    const history = [
      op("a", put("y", "1"), { kind: "put" }, 0, 1),
      op("a", put("x", "1"), { kind: "put" }, 2, 3),
      op("b", read("x"), { kind: "read", value: null }, 4, 5),
      op("b", read("y"), { kind: "read", value: "1" }, 6, 7),
    ];
    const result = checkLinearizability(kvModel, history);
    expect(result).toEqual({ linearizable: false, part: [history[1], history[2]] });
  });

  it("works with any model: a counter", () => {
    type In = { add: number } | { get: true };
    const counter: Model<number, In, number | null> = {
      init: () => 0,
      step: (s, o) => ("add" in o.input ? { ok: true, state: s + o.input.add } : { ok: o.output === s, state: s }),
      key: (s) => String(s),
    };
    const ops = (outputs: number[]): Operation<In, number | null>[] => [
      { client: 1, op: "add", input: { add: 1 }, output: null, call: 0, return: 5 },
      { client: 2, op: "add", input: { add: 2 }, output: null, call: 0, return: 5 },
      { client: 3, op: "get", input: { get: true }, output: outputs[0], call: 1, return: 2 },
      { client: 3, op: "get", input: { get: true }, output: outputs[1], call: 6, return: 7 },
    ];
    expect(checkLinearizability(counter, ops([2, 3])).linearizable).toBe(true);
    expect(checkLinearizability(counter, ops([3, 3])).linearizable).toBe(true);
    expect(checkLinearizability(counter, ops([3, 2])).linearizable).toBe(false);
    expect(checkLinearizability(counter, ops([2, 4])).linearizable).toBe(false);
  });

  it("handles long concurrent histories quickly", () => {
    const history: KvOperation[] = [];
    let t = 0;
    let value: string | null = null;
    for (let k = 0; k < 300; k++) {
      const start = t++;
      // Three clients always in flight, overlapping each other.
      const v = `v${k}`;
      history.push(op(`c${k % 3}`, put("x", v), { kind: "put" }, start, start + 3));
      value = v;
      history.push(op(`r${k % 3}`, read("x"), { kind: "read", value }, start + 3.5, start + 4));
    }
    const began = performance.now();
    expect(checkLinearizability(kvModel, history).linearizable).toBe(true);
    expect(performance.now() - began).toBeLessThan(2000);
  });
});
