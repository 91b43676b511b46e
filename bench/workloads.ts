// The benchmark rows. Each function measures one row against one target and
// returns its metrics by name; report.ts lays them side by side.
import { bulk, closedLoop, connect, openWatch, send, type Conn, type LoopResult, type Outcome, type RssSampler } from "./load.ts";
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

const VALUE = "v".repeat(100);
const FORM = `value=${VALUE}`;
const MB = 1024 * 1024;

class HttpError extends Error {}

function expect(status: number, ok: number[], body: string, what: string): void {
  if (!ok.includes(status)) throw new HttpError(`${what}: HTTP ${status} ${body.slice(0, 160).trim()}`);
}

function loopMetrics(r: LoopResult, peakRss: number, label = "req/s"): RowResult {
  return {
    metrics: {
      [label]: r.ok / r.seconds,
      "p50 ms": r.hist.quantile(0.5),
      "p99 ms": r.hist.quantile(0.99),
      errors: r.errors,
      "peak RSS MB": peakRss / MB,
    },
    note: r.firstError,
  };
}

async function measured(t: Target, rss: RssSampler, clients: number, s: Settings, op: (c: Conn, client: number) => Promise<Outcome>): Promise<{ r: LoopResult; peak: number }> {
  const c = connect(t.host, t.port, clients);
  rss.reset();
  try {
    const r = await closedLoop(clients, s.warmupMs, s.measureMs, (client) => op(c, client));
    return { r, peak: rss.read() };
  } finally {
    c.agent.destroy();
  }
}

const pick = (keys: number) => Math.floor(Math.random() * keys);

/**
 * Writes /bench/k<from>..k<to-1> with `concurrency` in flight, for at most
 * `budgetMs`; `reached` is the key count afterwards (a slow target may stop short).
 */
export async function populate(t: Target, rss: RssSampler, from: number, to: number, budgetMs: number, concurrency = 64): Promise<RowResult & { reached: number }> {
  const c = connect(t.host, t.port, concurrency);
  rss.reset();
  const t0 = performance.now();
  try {
    const { started, failed } = await bulk(to - from, concurrency, t0 + budgetMs, async (i) => {
      const r = await send(c, "PUT", `/v2/keys/bench/k${from + i}`, FORM);
      return r.status === 200 || r.status === 201;
    });
    const secs = (performance.now() - t0) / 1000;
    const reached = from + started;
    return {
      reached,
      metrics: { "writes/s": (started - failed) / secs, seconds: secs, "keys reached": reached, errors: failed, "peak RSS MB": rss.read() / MB },
      note: reached < to ? `stopped at ${reached.toLocaleString("en-US")} keys: the ${Math.round(budgetMs / 1000)} s populate budget ran out` : undefined,
    };
  } finally {
    c.agent.destroy();
  }
}

export async function writes(t: Target, rss: RssSampler, clients: number, keys: number, s: Settings): Promise<RowResult> {
  const { r, peak } = await measured(t, rss, clients, s, async (c) => {
    const res = await send(c, "PUT", `/v2/keys/bench/k${pick(keys)}`, FORM);
    expect(res.status, [200, 201], res.body, "PUT");
    return "ok";
  });
  return loopMetrics(r, peak);
}

export async function reads(t: Target, rss: RssSampler, clients: number, keys: number, quorum: boolean, s: Settings): Promise<RowResult> {
  const q = quorum ? "?quorum=true" : "";
  const { r, peak } = await measured(t, rss, clients, s, async (c) => {
    const res = await send(c, "GET", `/v2/keys/bench/k${pick(keys)}${q}`);
    expect(res.status, [200], res.body, "GET");
    return "ok";
  });
  return loopMetrics(r, peak);
}

/** Compare-and-swap contention on one key: GET, then PUT ?prevIndex=<modifiedIndex>. */
export async function cas(t: Target, rss: RssSampler, clients: number, s: Settings): Promise<RowResult> {
  const seed = connect(t.host, t.port, 1);
  await send(seed, "PUT", "/v2/keys/bench-cas/x", FORM);
  seed.agent.destroy();
  let conflicts = 0;
  const { r, peak } = await measured(t, rss, clients, s, async (c) => {
    const g = await send(c, "GET", "/v2/keys/bench-cas/x");
    expect(g.status, [200], g.body, "CAS GET");
    const idx = (JSON.parse(g.body) as { node: { modifiedIndex: number } }).node.modifiedIndex;
    const p = await send(c, "PUT", `/v2/keys/bench-cas/x?prevIndex=${idx}`, FORM);
    if (p.status === 412) {
      conflicts++;
      return "expected";
    }
    expect(p.status, [200], p.body, "CAS PUT");
    return "ok";
  });
  const out = loopMetrics(r, peak, "successful CAS/s");
  out.metrics = { ...out.metrics, "412/s": r.expected / r.seconds };
  void conflicts;
  return out;
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
