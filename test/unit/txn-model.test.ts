/** The linearizability test's model for two-key compare-and-swaps (test/compat/harness/txn-model.ts). */
import { describe, expect, it } from "vitest";
import { checkLinearizability } from "../server/linearizability.ts";
import { txnModel, type TxnOperation } from "../compat/harness/txn-model.ts";

const model = txnModel([["a", "b"], ["c"]]);
const op = (client: number, input: TxnOperation["input"], output: TxnOperation["output"], call: number, ret: number): TxnOperation => ({
  client,
  op: input.kind,
  input,
  output,
  call,
  return: ret,
});

describe("the two-key compare-and-swap model", () => {
  it("accepts a history where a two-key CAS sees both keys' last writes", () => {
    const history = [
      op(1, { kind: "put", key: "a", value: "1" }, { kind: "put" }, 0, 1),
      op(1, { kind: "put", key: "b", value: "2" }, { kind: "put" }, 2, 3),
      op(2, { kind: "cas2", keys: ["a", "b"], expected: ["1", "2"], values: ["x", "y"] }, { kind: "cas", ok: true }, 4, 5),
      op(1, { kind: "read", key: "b" }, { kind: "read", value: "y" }, 6, 7),
    ];
    expect(checkLinearizability(model, history).linearizable).toBe(true);
  });

  it("refuses a two-key CAS that succeeded though one key did not hold its expected value", () => {
    const history = [
      op(1, { kind: "put", key: "a", value: "1" }, { kind: "put" }, 0, 1),
      op(2, { kind: "cas2", keys: ["a", "b"], expected: ["1", "2"], values: ["x", "y"] }, { kind: "cas", ok: true }, 2, 3),
    ];
    expect(checkLinearizability(model, history).linearizable).toBe(false);
  });

  it("refuses a read that misses a two-key CAS finished before it", () => {
    const history = [
      op(2, { kind: "cas2", keys: ["a", "b"], expected: [null, null], values: ["x", "y"] }, { kind: "cas", ok: true }, 0, 1),
      op(1, { kind: "read", key: "b" }, { kind: "read", value: null }, 2, 3),
    ];
    expect(checkLinearizability(model, history).linearizable).toBe(false);
  });
});
