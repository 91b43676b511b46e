// The benchmark rows. Each function measures one row against one target and
// returns its metrics by name; report.ts lays them side by side. The same rows
// run over the v2 API and over the v3 JSON gateway: an Api says how each
// operation is spelt, the rows around it are shared.
import { bulk, closedLoop, connect, openWatch, postJson, send, type Conn, type LoopResult, type Outcome, type RssSampler } from "./load.ts";
import type { Target } from "./targets.ts";

export type Metrics = Record<string, number>;
export interface RowResult {
  metrics: Metrics;
  note?: string;
}

export interface Settings {
  warmupMs: number;
  measureMs: number;
}

export const VALUE = "v".repeat(100);
const FORM = `value=${VALUE}`;
export const MB = 1024 * 1024;

class HttpError extends Error {}

export function expect(status: number, ok: number[], body: string, what: string): void {
  if (!ok.includes(status)) throw new HttpError(`${what}: HTTP ${status} ${body.slice(0, 160).trim()}`);
}

// ------------------------------------------------------------------- keys

const KEY_DIGITS = 7;

/**
 * Key i, zero-padded so that each block of 10^d keys shares a prefix: the
 * v3 range rows read such a block as a prefix.
 */
export const key = (i: number) => `bench/k${String(i).padStart(KEY_DIGITS, "0")}`;
const CAS_KEY = "bench-cas/x";
export const pick = (keys: number) => Math.floor(Math.random() * keys);

/** The prefix of a random block of `span` keys (a power of 10) among keys 0..keys-1; span 1 is one whole key. */
function pickBlock(keys: number, span: number): string {
  const digits = Math.round(Math.log10(span));
  if (10 ** digits !== span || digits > KEY_DIGITS) throw new Error(`a range spans a power of 10 keys, not ${span}`);
  if (keys < span) throw new Error(`a range of ${span} keys needs at least that many keys, not ${keys}`);
  const name = key(pick(Math.floor(keys / span)) * span);
  return digits === 0 ? name : name.slice(0, -digits);
}

// -------------------------------------------------------------------- APIs

/** One operation as an API spells it; each rejects on an answer it does not expect. */
export interface Api {
  /** Keys one write may carry: a v2 PUT writes one, a v3 txn up to 128 (etcd's --max-txn-ops). */
  batch: number;
  /** Writes a 100-byte value to each of `keys` in one request. */
  put(c: Conn, keys: string[]): Promise<void>;
  /**
   * Reads `key`, or every key under it when `prefix`; linearizable or served
   * by the member asked. Resolves with how many keys it found.
   */
  get(c: Conn, key: string, o: { prefix: boolean; linearizable: boolean }): Promise<number>;
  /** One compare-and-swap attempt on `key`: "expected" when the compare failed; `seen` is this client's memory of the key. */
  swap(c: Conn, key: string, seen: { revision?: string }): Promise<Outcome>;
  /** The metric a failed compare counts under. */
  refusedMetric: string;
}

export const v2: Api = {
  batch: 1,
  async put(c, keys) {
    if (keys.length !== 1) throw new Error("a v2 PUT writes one key");
    const r = await send(c, "PUT", `/v2/keys/${keys[0]}`, FORM);
    expect(r.status, [200, 201], r.body, "PUT");
  },
  async get(c, k, o) {
    if (o.prefix) throw new Error("the v2 rows read one key");
    const r = await send(c, "GET", `/v2/keys/${k}${o.linearizable ? "?quorum=true" : ""}`);
    expect(r.status, [200], r.body, "GET");
    return 1;
  },
  // A refused v2 PUT does not say the key's modifiedIndex: every attempt reads it first.
  async swap(c, k) {
    const g = await send(c, "GET", `/v2/keys/${k}`);
    expect(g.status, [200], g.body, "CAS GET");
    const idx = (JSON.parse(g.body) as { node: { modifiedIndex: number } }).node.modifiedIndex;
    const p = await send(c, "PUT", `/v2/keys/${k}?prevIndex=${idx}`, FORM);
    if (p.status === 412) return "expected";
    expect(p.status, [200], p.body, "CAS PUT");
    return "ok";
  },
  refusedMetric: "412/s",
};

interface GatewayReply {
  header: { revision: string };
  count?: string;
  succeeded?: boolean;
  responses?: { response_range?: { kvs?: { mod_revision: string }[] } }[];
}

export const base64 = (s: string) => Buffer.from(s).toString("base64");
export const VALUE_BASE64 = base64(VALUE);

/** The first key after every key that starts with `prefix` (etcd's range_end for a prefix). */
const prefixEnd = (prefix: string) => prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);

export async function gateway(c: Conn, method: "put" | "range" | "txn", message: unknown): Promise<GatewayReply> {
  const r = await postJson(c, `/v3/kv/${method}`, message);
  expect(r.status, [200], r.body, method);
  return JSON.parse(r.body) as GatewayReply;
}

export const v3: Api = {
  batch: 128,
  async put(c, keys) {
    const puts = keys.map((k) => ({ key: base64(k), value: VALUE_BASE64 }));
    if (puts.length === 1) await gateway(c, "put", puts[0]);
    else await gateway(c, "txn", { success: puts.map((p) => ({ request_put: p })) });
  },
  async get(c, k, o) {
    const r = await gateway(c, "range", { key: base64(k), range_end: o.prefix ? base64(prefixEnd(k)) : undefined, serializable: !o.linearizable });
    return Number(r.count ?? 0);
  },
  // One request per attempt: a failed compare answers with the key as it is
  // now (the failure branch's range), and a swap with the revision it wrote,
  // so the client always knows what to compare against next.
  async swap(c, k, seen) {
    const kb = base64(k);
    const r = await gateway(c, "txn", {
      compare: [{ key: kb, target: "MOD", result: "EQUAL", mod_revision: seen.revision ?? "0" }],
      success: [{ request_put: { key: kb, value: VALUE_BASE64 } }],
      failure: [{ request_range: { key: kb } }],
    });
    if (r.succeeded) {
      seen.revision = r.header.revision;
      return "ok";
    }
    seen.revision = r.responses?.[0]?.response_range?.kvs?.[0]?.mod_revision;
    return "expected";
  },
  refusedMetric: "failed compares/s",
};

// -------------------------------------------------------------------- rows

export function loopMetrics(r: LoopResult, peakRss: number, label = "req/s"): RowResult {
  // With nothing but errors, the latencies would be those of the errors.
  const none = r.ok + r.expected === 0;
  return {
    metrics: {
      [label]: r.ok / r.seconds,
      "p50 ms": none ? NaN : r.hist.quantile(0.5),
      "p99 ms": none ? NaN : r.hist.quantile(0.99),
      errors: r.errors,
      "peak RSS MB": peakRss / MB,
    },
    note: r.firstError,
  };
}

export async function measured(t: Target, rss: RssSampler, clients: number, s: Settings, op: (c: Conn, client: number) => Promise<Outcome>): Promise<{ r: LoopResult; peak: number }> {
  const c = connect(t.host, t.port, clients);
  rss.reset();
  try {
    const r = await closedLoop(clients, s.warmupMs, s.measureMs, (client) => op(c, client));
    return { r, peak: rss.read() };
  } finally {
    c.agent.destroy();
  }
}

/**
 * Writes keys from..to-1, `api.batch` keys a request, with `concurrency`
 * requests in flight, for at most `budgetMs`; `reached` is the key count
 * afterwards (a slow target may stop short).
 */
export async function populate(t: Target, rss: RssSampler, api: Api, from: number, to: number, budgetMs: number, concurrency = 64): Promise<RowResult & { reached: number }> {
  const c = connect(t.host, t.port, concurrency);
  rss.reset();
  const t0 = performance.now();
  let written = 0;
  try {
    const { started, failed } = await bulk(Math.ceil((to - from) / api.batch), concurrency, t0 + budgetMs, async (i) => {
      const first = from + i * api.batch;
      const keys = Array.from({ length: Math.min(api.batch, to - first) }, (_, j) => key(first + j));
      await api.put(c, keys);
      written += keys.length;
      return true;
    });
    const secs = (performance.now() - t0) / 1000;
    const reached = Math.min(to, from + started * api.batch);
    return {
      reached,
      metrics: { "writes/s": written / secs, seconds: secs, "keys reached": reached, errors: failed, "peak RSS MB": rss.read() / MB },
      note: reached < to ? `stopped at ${reached.toLocaleString("en-US")} keys: the ${Math.round(budgetMs / 1000)} s populate budget ran out` : undefined,
    };
  } finally {
    c.agent.destroy();
  }
}

/** Writes of one random key among the first `keys`. */
export async function writes(t: Target, rss: RssSampler, api: Api, clients: number, keys: number, s: Settings): Promise<RowResult> {
  const { r, peak } = await measured(t, rss, clients, s, async (c) => {
    await api.put(c, [key(pick(keys))]);
    return "ok";
  });
  return loopMetrics(r, peak);
}

/** Reads of a random block of `span` keys (a prefix; span 1 is one key) among the first `keys`; each must find them all. */
export async function reads(t: Target, rss: RssSampler, api: Api, clients: number, keys: number, linearizable: boolean, s: Settings, span = 1): Promise<RowResult> {
  const { r, peak } = await measured(t, rss, clients, s, async (c) => {
    const found = await api.get(c, pickBlock(keys, span), { prefix: span > 1, linearizable });
    if (found !== span) throw new Error(`read ${found} keys, not ${span}`);
    return "ok";
  });
  return loopMetrics(r, peak);
}

/** Compare-and-swap contention on one key: failed compares are counted apart, not as errors. */
export async function cas(t: Target, rss: RssSampler, api: Api, clients: number, s: Settings): Promise<RowResult> {
  const seed = connect(t.host, t.port, 1);
  try {
    await api.put(seed, [CAS_KEY]);
  } finally {
    seed.agent.destroy();
  }
  const seen = Array.from({ length: clients }, () => ({}));
  const { r, peak } = await measured(t, rss, clients, s, (c, client) => api.swap(c, CAS_KEY, seen[client]));
  const out = loopMetrics(r, peak, "successful CAS/s");
  out.metrics = { ...out.metrics, [api.refusedMetric]: r.expected / r.seconds };
  return out;
}

/** The cheapest request a target answers: GET `path`, expecting 200. */
export async function floor(t: Target, rss: RssSampler, clients: number, path: string, s: Settings): Promise<RowResult> {
  const { r, peak } = await measured(t, rss, clients, s, async (c) => {
    const res = await send(c, "GET", path);
    expect(res.status, [200], res.body, `GET ${path}`);
    return "ok";
  });
  return loopMetrics(r, peak);
}

/**
 * N long-poll watchers on one directory, then one write into it: how long
 * until every watcher has its answer. Watchers connect in batches of 500, each
 * on its own socket; every wait is bounded, so a target that cannot hold N
 * watchers is reported, not waited for.
 */
export async function watchers(t: Target, rss: RssSampler, n: number, round: number): Promise<RowResult> {
  const c = connect(t.host, t.port, n);
  const dir = `/v2/keys/bench-watch${round}`;
  const regTimeout = 15_000 + n * 2;
  rss.reset();
  const before = rss.now();
  const ws = [];
  let registered = 0;
  let failedReg = 0;
  const errs = new Map<string, number>();
  const t0 = performance.now();
  try {
    for (let i = 0; i < n; i += 500) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + 500); j++) {
        const w = openWatch(c, `${dir}?wait=true&recursive=true`, 600_000);
        ws.push(w);
        batch.push(w.registered);
      }
      const ok = await Promise.race([Promise.all(batch), new Promise<null>((r) => setTimeout(() => r(null), regTimeout))]);
      if (ok === null || ok.includes(false)) break;
    }
    for (const w of ws) {
      const ok = await Promise.race([w.registered, Promise.resolve(false)]);
      if (ok) registered++;
      else failedReg++;
    }
    const regMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 300));
    const after = rss.now();
    const writer = connect(t.host, t.port, 1);
    const tw = performance.now();
    const put = await send(writer, "PUT", `${dir}/x`, FORM).catch((e: Error) => ({ status: 0, body: e.message }));
    writer.agent.destroy();
    await Promise.race([Promise.all(ws.map((w) => w.done)), new Promise((r) => setTimeout(r, 30_000))]);
    for (const w of ws) w.abort();
    const results = await Promise.all(ws.map((w) => w.done));
    const lat: number[] = [];
    for (const x of results) {
      if (typeof x === "number") lat.push(x - tw);
      else {
        // One line per kind of failure: drop stacks and workerd's per-error reference ids.
        const kind = x.split("\n")[0].replace(/reference = \w+/, "reference = …").trim().slice(0, 80);
        errs.set(kind, (errs.get(kind) ?? 0) + 1);
      }
    }
    lat.sort((a, b) => a - b);
    const q = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.ceil(p * lat.length) - 1)] : NaN);
    const notes = [...errs].map(([k, v]) => `${v}× ${k}`);
    if (put.status !== 200 && put.status !== 201) notes.unshift(`write: HTTP ${put.status} ${put.body.slice(0, 80)}`);
    if (registered < n) notes.unshift(`${registered} of ${n} registered (${n - registered - failedReg} never tried)`);
    return {
      metrics: {
        registered,
        "register all ms": regMs,
        "all answered ms": lat.length === n ? lat[lat.length - 1] : NaN,
        "p50 ms": q(0.5),
        "p99 ms": q(0.99),
        errors: n - lat.length,
        "peak RSS MB": rss.read() / MB,
        // Only meaningful when every watcher is held (a crashed server restarts
        // smaller), and below 1,000 watchers the delta drowns in RSS noise (GC can make it negative).
        "KB per idle watcher": registered === n && n >= 1000 ? (after - before) / registered / 1024 : NaN,
      },
      note: notes.length ? notes.join("; ") : undefined,
    };
  } finally {
    for (const w of ws) w.abort();
    c.agent.destroy();
    // Locally a watcher whose client left is dropped only when an
    // event reaches it: one more write frees any we gave up on.
    const writer = connect(t.host, t.port, 1);
    await send(writer, "PUT", `${dir}/cleanup`, FORM, 10_000).catch(() => {});
    writer.agent.destroy();
  }
}
