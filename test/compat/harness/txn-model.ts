// The register model of the linearizability test, extended with a compare-
// and-swap over two keys at once (a v3 txn: both values compared, both keys
// put), which ties those keys together: histories are checked per group of
// keys that some operation touches together, instead of per key.
import type { Model, Operation } from "../../server/linearizability.ts";
import type { KvInput, KvOutput } from "../../server/sim/kv.ts";

/** Both keys hold their expected value: then both get the new ones. */
export interface Cas2Input {
  kind: "cas2";
  keys: [string, string];
  expected: [string | null, string | null];
  values: [string, string];
}

export type TxnInput = KvInput | Cas2Input;
export type TxnOperation = Operation<TxnInput, KvOutput>;

type State = Record<string, string | null>;

const keysOf = (input: TxnInput): string[] => (input.kind === "cas2" ? input.keys : [input.key]);

/** The model, for keys grouped as `groups` (every two-key operation must stay within one group). */
export function txnModel(groups: string[][]): Model<State, TxnInput, KvOutput> {
  const groupOf = new Map(groups.flatMap((g, i) => g.map((k) => [k, i] as const)));
  return {
    init: () => ({}),
    step(state, op) {
      const { input, output } = op;
      const value = (k: string) => state[k] ?? null;
      const unknown = output.kind === "unknown";
      switch (input.kind) {
        case "read":
          return { ok: unknown || (output.kind === "read" && output.value === value(input.key)), state };
        case "put":
          return { ok: unknown || output.kind === "put", state: { ...state, [input.key]: input.value } };
        case "cas": {
          const succeeds = value(input.key) === input.expected;
          const ok = unknown || (output.kind === "cas" && output.ok === succeeds);
          return { ok, state: succeeds ? { ...state, [input.key]: input.value } : state };
        }
        case "cas2": {
          const succeeds = input.keys.every((k, i) => value(k) === input.expected[i]);
          const ok = unknown || (output.kind === "cas" && output.ok === succeeds);
          const next = succeeds ? { ...state, [input.keys[0]]: input.values[0], [input.keys[1]]: input.values[1] } : state;
          return { ok, state: next };
        }
      }
    },
    key: (state) => JSON.stringify(Object.entries(state).sort(([a], [b]) => (a < b ? -1 : 1))),
    partition(history) {
      const parts = groups.map((): TxnOperation[] => []);
      for (const op of history) {
        const [first, ...rest] = keysOf(op.input).map((k) => groupOf.get(k)!);
        if (rest.some((g) => g !== first)) throw new Error(`an operation spans two groups: ${JSON.stringify(op.input)}`);
        parts[first].push(op);
      }
      return parts.filter((p) => p.length > 0);
    },
  };
}
