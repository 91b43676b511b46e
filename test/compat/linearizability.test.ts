// Linearizability of our running server under faults: ~6 concurrent clients
// do set, quorum get and compare-and-swap on 3 keys of a fresh named cluster
// of the local server (`npm start`, which turns DEBUG_FAULTS on), once over
// the v2 keys API and once over the v3 KV API (put, linearizable range, txn
// comparing the value then putting, and a txn comparing two keys' values then
// putting both), while a
// nemesis crashes the leader, crashes a follower, cuts one member off, cuts
// the leader off into a minority, and heals, in a loop. The history is then
// checked with the Raft work's checker (test/server/linearizability.ts) against
// a register model (harness/txn-model.ts), per group of keys that operations
// touch together.
//
// Outcomes: a request that answers is definite (a CAS that compares false, or
// a read of a missing key, is a definite result too). A write that times out
// (8 s) or fails with a 5xx or a broken connection may or may not have taken
// effect: it goes into the history as indeterminate (its return at infinity,
// any output accepted), so it can take effect at any point after its call, or
// never. A read without an answer has no effect and is left out.
//
// Each run has its own cluster (compat-lin-<random>), so the faults disturb
// no other test. COMPAT_LIN_MS sets each workload's duration (default 25000).
import { describe, expect, inject, it } from "vitest";
import { checkLinearizability } from "../server/linearizability.ts";
import type { KvOutput } from "../server/sim/kv.ts";
import { txnModel, type TxnInput, type TxnOperation } from "./harness/txn-model";
import { configuredMembers } from "./harness/clusters";
import { leaderOf, nemesis, type Faults } from "./harness/nemesis";
import { send, type RawResponse } from "./harness/http";

const ORIGIN = inject("compatOursUrl");
const KEYS = ["k0", "k1", "k2"].map((k) => `/lin/${k}`);
/** The two-key compare-and-swaps (v3 only) always take the first two keys: they are checked together. */
const PAIR: [string, string] = [KEYS[0], KEYS[1]];
const MODEL = txnModel([PAIR, [KEYS[2]]]);
const CLIENTS = 6;
const RUN_MS = Number(process.env.COMPAT_LIN_MS ?? 25_000);
const REQUEST_TIMEOUT_MS = 8_000;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();
const form = (fields: Record<string, string>) => Object.entries(fields).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");

type Outcome = { definite: KvOutput } | { indeterminate: string };
type Perform = (root: string, input: TxnInput) => Promise<Outcome>;

/** Sends one operation over the v2 keys API and classifies the answer. */
async function performV2(root: string, input: TxnInput): Promise<Outcome> {
  if (input.kind === "cas2") throw new Error("the v2 API has no multi-key compare-and-swap");
  const path = `${root}/v2/keys${input.key}`;
  let res: RawResponse;
  try {
    if (input.kind === "read") {
      res = await send(ORIGIN, { method: "GET", path: `${path}?quorum=true` }, REQUEST_TIMEOUT_MS);
    } else {
      const q = input.kind === "cas" ? `?prevValue=${encodeURIComponent(input.expected ?? "")}` : "";
      res = await send(
        ORIGIN,
        { method: "PUT", path: path + q, body: form({ value: input.value }), contentType: "application/x-www-form-urlencoded" },
        REQUEST_TIMEOUT_MS,
      );
    }
  } catch (e) {
    return { indeterminate: /timeout/.test(String(e)) ? "timeout" : "connection error" };
  }
  const code = (() => {
    try {
      return (JSON.parse(res.body) as { errorCode?: number }).errorCode;
    } catch {
      return undefined;
    }
  })();
  switch (input.kind) {
    case "read":
      if (res.status === 200) return { definite: { kind: "read", value: (JSON.parse(res.body) as { node: { value: string } }).node.value } };
      if (res.status === 404 && code === 100) return { definite: { kind: "read", value: null } };
      break;
    case "put":
      if (res.status === 200 || res.status === 201) return { definite: { kind: "put" } };
      break;
    case "cas":
      if (res.status === 200) return { definite: { kind: "cas", ok: true } };
      // 101 compare failed; 100 the key does not exist (yet): a CAS that
      // compared false either way (expected values are never null here).
      if ((res.status === 412 && code === 101) || (res.status === 404 && code === 100)) return { definite: { kind: "cas", ok: false } };
      break;
  }
  // Anything else (5xx, an election in progress, ...) is not a definite outcome.
  return { indeterminate: `HTTP ${res.status}${code === undefined ? "" : ` errorCode ${code}`}` };
}

/** Sends one operation over the v3 KV API (a CAS is a txn comparing the value) and classifies the answer. */
async function performV3(root: string, input: TxnInput): Promise<Outcome> {
  const put = (key: string, value: string) => ({ key: btoa(key), value: btoa(value) });
  const equal = (key: string, expected: string | null) => ({ key: btoa(key), target: "VALUE", result: "EQUAL", value: btoa(expected ?? "") });
  let res: RawResponse;
  try {
    const [path, body] =
      input.kind === "read"
        ? ["kv/range", { key: btoa(input.key) }]
        : input.kind === "put"
          ? ["kv/put", put(input.key, input.value)]
          : input.kind === "cas"
            ? ["kv/txn", { compare: [equal(input.key, input.expected)], success: [{ request_put: put(input.key, input.value) }] }]
            : [
                "kv/txn",
                {
                  compare: input.keys.map((k, i) => equal(k, input.expected[i])),
                  success: input.keys.map((k, i) => ({ request_put: put(k, input.values[i]) })),
                },
              ];
    res = await send(ORIGIN, { method: "POST", path: `${root}/v3/${path}`, body: JSON.stringify(body), contentType: "application/json" }, REQUEST_TIMEOUT_MS);
  } catch (e) {
    return { indeterminate: /timeout/.test(String(e)) ? "timeout" : "connection error" };
  }
  if (res.status !== 200) return { indeterminate: `HTTP ${res.status} ${res.body.slice(0, 80)}` };
  const answer = JSON.parse(res.body) as { kvs?: { value?: string }[]; succeeded?: boolean };
  if (input.kind === "read") return { definite: { kind: "read", value: answer.kvs ? atob(answer.kvs[0].value ?? "") : null } };
  if (input.kind === "put") return { definite: { kind: "put" } };
  return { definite: { kind: "cas", ok: answer.succeeded === true } };
}

interface Tally {
  ok: number;
  /** Reads without an answer: no effect, left out of the history. */
  failed: number;
  /** Writes with an unknown outcome: in the history as indeterminate. */
  indeterminate: number;
  reasons: Map<string, number>;
}

async function client(
  perform: (input: TxnInput) => Promise<Outcome>,
  pairs: boolean,
  id: number,
  deadline: number,
  history: TxnOperation[],
  tally: Tally,
): Promise<void> {
  const lastSeen = new Map<string, string>();
  let seq = 0;
  while (now() < deadline) {
    const key = KEYS[Math.floor(Math.random() * KEYS.length)];
    const value = `c${id}-${seq++}`;
    const r = Math.random();
    const known = lastSeen.get(key);
    let input: TxnInput;
    const guess = (k: string) => (Math.random() < 0.8 ? (lastSeen.get(k) ?? null) : `c${id}-stale`);
    if (r < 0.4) input = { kind: "read", key };
    else if (r < 0.7 || known === undefined) input = { kind: "put", key, value };
    // Both keys of the pair at once, with the values last seen (mostly).
    else if (pairs && r < 0.85) input = { kind: "cas2", keys: PAIR, expected: [guess(PAIR[0]), guess(PAIR[1])], values: [`${value}a`, `${value}b`] };
    // Mostly the value last seen (likely to succeed), sometimes a stale guess.
    else input = { kind: "cas", key, expected: Math.random() < 0.8 ? known : `c${id}-stale`, value };
    const call = now();
    const outcome = await perform(input);
    const ret = now();
    if ("definite" in outcome) {
      tally.ok++;
      history.push({ client: id, op: input.kind, input, output: outcome.definite, call, return: ret });
      const o = outcome.definite;
      if (o.kind === "read" && o.value !== null) lastSeen.set(key, o.value);
      else if (input.kind === "cas2" && o.kind === "cas" && o.ok) input.keys.forEach((k, i) => lastSeen.set(k, input.values[i]));
      else if (input.kind !== "read" && input.kind !== "cas2" && (o.kind === "put" || (o.kind === "cas" && o.ok))) lastSeen.set(key, value);
    } else {
      tally.reasons.set(`${input.kind}: ${outcome.indeterminate}`, (tally.reasons.get(`${input.kind}: ${outcome.indeterminate}`) ?? 0) + 1);
      if (input.kind === "read") {
        tally.failed++;
      } else {
        tally.indeterminate++;
        history.push({ client: id, op: input.kind, input, output: { kind: "unknown" }, call, return: Infinity });
      }
      await pause(100);
    }
  }
}

/** Greedily drops operations while the history stays non-linearizable (bounded in time). */
function shrink(part: TxnOperation[], budgetMs = 20_000): TxnOperation[] {
  let cur = part.slice();
  const start = Date.now();
  for (let i = cur.length - 1; i >= 0 && Date.now() - start < budgetMs; i--) {
    const without = cur.slice(0, i).concat(cur.slice(i + 1));
    if (checkLinearizability(MODEL, without).linearizable === false) cur = without;
  }
  return cur;
}

function show(op: TxnOperation, t0: number): string {
  const t = (x: number) => (x === Infinity ? "∞" : `${((x - t0) / 1000).toFixed(3)}s`);
  const i = op.input;
  const what =
    i.kind === "read" ? `${i.key} read` : i.kind === "put" ? `${i.key} set ${i.value}` : i.kind === "cas" ? `${i.key} cas ${i.expected} -> ${i.value}` : `${i.keys.join("+")} cas ${i.expected.join(",")} -> ${i.values.join(",")}`;
  return `  client ${op.client} [${t(op.call)} .. ${t(op.return)}] ${what} => ${JSON.stringify(op.output)}`;
}

/** Each API's workload; only v3 has a compare-and-swap over two keys. */
const APIS: [string, Perform, boolean][] = [
  ["v2 (set, quorum get, CAS)", performV2, false],
  ["v3 (put, linearizable range, txn CAS on one key and on two)", performV3, true],
];

describe.skipIf(inject("compatOursKind") !== "worker")("linearizability under faults", () => {
  it.each(APIS)(
    "%s from 6 clients stays linearizable through crashes and partitions",
    async (_api, performOn, pairs) => {
      const cluster = `compat-lin-${Math.random().toString(36).slice(2, 8)}`;
      const ROOT = `/clusters/${cluster}`;
      const perform = (input: TxnInput) => performOn(ROOT, input);
      const ids = configuredMembers(cluster).map((m) => m.id);
      // The first request creates the cluster; wait for its first leader.
      expect(await leaderOf(ROOT), "the new cluster elects a leader").toBeDefined();

      const history: TxnOperation[] = [];
      const tally: Tally = { ok: 0, failed: 0, indeterminate: 0, reasons: new Map() };
      const faults: Faults = { crashes: 0, partitions: 0, heals: 0, errors: [], log: [] };
      const t0 = now();
      const deadline = t0 + RUN_MS;
      await Promise.all([...Array.from({ length: CLIENTS }, (_, i) => client(perform, pairs, i, deadline, history, tally)), nemesis(ROOT, deadline, ids, faults)]);
      // After healing, one more quorum read of every key joins the history.
      await pause(1_000);
      for (const key of KEYS) {
        const call = now();
        const o = await perform({ kind: "read", key });
        if ("definite" in o) {
          tally.ok++;
          history.push({ client: "final", op: "read", input: { kind: "read", key }, output: o.definite, call, return: now() });
        }
      }

      const checkStart = Date.now();
      const result = checkLinearizability(MODEL, history);
      const checkMs = Date.now() - checkStart;
      const byKind = (k: string) => history.filter((o) => o.op === k && o.output.kind !== "unknown").length;
      console.log(
        [
          `linearizability: ${((now() - t0) / 1000).toFixed(1)} s, ${CLIENTS} clients, keys ${KEYS.join(" ")} on ${ROOT}`,
          `  ops ok ${tally.ok} (read ${byKind("read")}, set ${byKind("put")}, cas ${byKind("cas")}, two-key cas ${byKind("cas2")}; cas succeeded ${history.filter((o) => o.output.kind === "cas" && o.output.ok).length})`,
          `  failed (reads without answer) ${tally.failed}, indeterminate (writes) ${tally.indeterminate}`,
          ...[...tally.reasons.entries()].map(([r, n]) => `    ${r}: ${n}`),
          `  faults: ${faults.crashes} crashes, ${faults.partitions} partitions, ${faults.heals} heals${faults.errors.length ? `; ${faults.errors.length} fault requests failed` : ""}`,
          ...faults.log.map((l) => `    ${l}`),
          ...faults.errors.map((e) => `    failed: ${e}`),
          `  checker: ${JSON.stringify(result.linearizable)} in ${checkMs} ms`,
        ].join("\n"),
      );
      if (result.linearizable !== true) {
        const minimal = result.linearizable === false ? shrink(result.part) : result.part;
        const first = result.part[0]?.input;
        const key = first && ("key" in first ? first.key : first.keys.join("+"));
        console.log(
          `${result.linearizable === false ? "NOT LINEARIZABLE" : "checker gave up (search budget)"}: key ${key}, ` +
            `${result.part.length} ops, ${minimal.length} in the smallest failing history found:\n` +
            minimal
              .slice()
              .sort((a, b) => a.call - b.call)
              .map((o) => show(o, t0))
              .join("\n"),
        );
      }
      expect(result.linearizable).toBe(true);
      expect(tally.ok).toBeGreaterThan(100);
      expect(faults.crashes).toBeGreaterThanOrEqual(1);
      expect(faults.partitions).toBeGreaterThanOrEqual(1);
    },
    150_000,
  );
});
