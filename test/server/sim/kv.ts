/**
 * The tiny key-value service the simulator replicates: a state machine that
 * members apply committed commands to, and the sequential model the
 * linearizability checker compares client histories against.
 */
import type { Entry } from "../../../src/raft/index.ts";
import type { StateMachine } from "../../../src/server/driver.ts";
import type { Model, Operation } from "../linearizability.ts";

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

/** What applying an entry returned: a command's output, or nothing for a no-op or config entry. */
export interface KvApplied {
  index: number;
  command?: KvCommand;
  output?: KvOutput;
}

/** The replicated state machine, as the driver applies committed entries to it. */
export class KvStateMachine implements StateMachine<KvApplied> {
  private values = new Map<string, string>();

  apply(entry: Entry): KvApplied {
    // Empty normal entries are a new leader's no-ops (§5.4.2).
    if (entry.type !== "normal" || entry.data === "") return { index: entry.index };
    const command = JSON.parse(entry.data) as KvCommand;
    return { index: entry.index, command, output: this.run(command.input) };
  }

  private run(input: KvInput): KvOutput {
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

  encode(): string {
    return JSON.stringify([...this.values].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  restore(data: string): void {
    this.values = new Map(data === "" ? [] : (JSON.parse(data) as [string, string][]));
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
