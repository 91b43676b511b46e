/**
 * The tiny key-value service the simulator replicates: a state machine that
 * nodes apply committed commands to, and the sequential model the
 * linearizability checker compares client histories against.
 */
import type { Model, Operation } from "../linearizability";

export type KvInput =
  | { kind: "read"; key: string }
  | { kind: "put"; key: string; value: string }
  | { kind: "cas"; key: string; expected: string | null; value: string };

/** `unknown`: the client never learned the outcome. */
export type KvOutput = { kind: "read"; value: string | null } | { kind: "put" } | { kind: "cas"; ok: boolean } | { kind: "unknown" };

export type KvOperation = Operation<KvInput, KvOutput>;

/** A replicated command: the client's input tagged with a unique id. */
export interface KvCommand {
  id: string;
  input: KvInput;
}

export class KvStateMachine {
  private readonly values = new Map<string, string>();

  apply(input: KvInput): KvOutput {
    const current = this.values.get(input.key) ?? null;
    switch (input.kind) {
      case "read":
        return { kind: "read", value: current };
      case "put":
        this.values.set(input.key, input.value);
        return { kind: "put" };
      case "cas":
        if (current !== input.expected) return { kind: "cas", ok: false };
        this.values.set(input.key, input.value);
        return { kind: "cas", ok: true };
    }
  }

  get(key: string): string | null {
    return this.values.get(key) ?? null;
  }

  serialize(): string {
    return JSON.stringify([...this.values].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  static restore(data: string): KvStateMachine {
    const kv = new KvStateMachine();
    if (data !== "") for (const [k, v] of JSON.parse(data) as [string, string][]) kv.values.set(k, v);
    return kv;
  }
}

/** Single-key register model; histories are partitioned by key. */
export const kvModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step(state, op) {
    const { input, output } = op;
    switch (input.kind) {
      case "read":
        return { ok: output.kind === "unknown" || (output.kind === "read" && output.value === state), state };
      case "put":
        return { ok: output.kind === "unknown" || output.kind === "put", state: input.value };
      case "cas": {
        const succeeds = state === input.expected;
        const ok = output.kind === "unknown" || (output.kind === "cas" && output.ok === succeeds);
        return { ok, state: succeeds ? input.value : state };
      }
    }
  },
  key: (state) => (state === null ? "\u0000" : state),
  partition(history) {
    const byKey = new Map<string, KvOperation[]>();
    for (const op of history) {
      const list = byKey.get(op.input.key) ?? [];
      list.push(op);
      byKey.set(op.input.key, list);
    }
    return [...byKey.values()];
  },
};
