// The benchmark rows. Each function measures one row against one target and
// returns its metrics by name; report.ts lays them side by side. The same rows
// run over the v2 API and over the v3 JSON gateway: an Api says how each
// operation is spelt, the rows around it are shared.
import { ABORTED, bulk, closedLoop, connect, FanOut, openLineStream, openWatch, openWsLineStream, postJson, send, type Conn, type LineStream, type LoopResult, type Outcome, type RssSampler } from "./load.ts";
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

function expect(status: number, ok: number[], body: string, what: string): void {
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

const base64 = (s: string) => Buffer.from(s).toString("base64");
const VALUE_BASE64 = base64(VALUE);

/** The first key after every key that starts with `prefix` (etcd's range_end for a prefix). */
const prefixEnd = (prefix: string) => prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);

async function gateway(c: Conn, method: "put" | "range" | "txn", message: unknown): Promise<GatewayReply> {
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

// ------------------------------------------------------------------ leases

/** The TTL every bench lease is granted with: far longer than any row. */
const LEASE_TTL = 60;

async function grantLease(c: Conn): Promise<string> {
  const r = await postJson(c, "/v3/lease/grant", { TTL: LEASE_TTL });
  expect(r.status, [200], r.body, "lease grant");
  const id = (JSON.parse(r.body) as { ID?: string }).ID;
  if (!id) throw new Error(`lease grant: no ID in ${r.body.slice(0, 160)}`);
  return id;
}

/** Revokes `ids`, `concurrency` at a time; resolves with revokes per second and how many failed. */
async function revokeLeases(t: Target, ids: string[], concurrency = 64): Promise<{ perSecond: number; failed: number }> {
  const c = connect(t.host, t.port, concurrency);
  const t0 = performance.now();
  try {
    const { failed } = await bulk(ids.length, concurrency, Infinity, async (i) => {
      const r = await postJson(c, "/v3/lease/revoke", { ID: ids[i] });
      return r.status === 200;
    });
    return { perSecond: ids.length / ((performance.now() - t0) / 1000), failed };
  } finally {
    c.agent.destroy();
  }
}

/**
 * LeaseGrant of a 60 s lease per request. Every lease granted
 * (warm-up too) is revoked afterwards, 64 in flight, so that the next row
 * starts with no live leases; that revoke rate is reported too.
 */
export async function leaseGrants(t: Target, rss: RssSampler, clients: number, s: Settings): Promise<RowResult> {
  const granted: string[] = [];
  const { r, peak } = await measured(t, rss, clients, s, async (c) => {
    granted.push(await grantLease(c));
    return "ok";
  });
  const out = loopMetrics(r, peak);
  const revoked = await revokeLeases(t, granted);
  out.metrics = { ...out.metrics, "revokes/s after": revoked.perSecond };
  if (revoked.failed) out.note = [out.note, `${revoked.failed} of ${granted.length} revokes after the row failed`].filter(Boolean).join("; ");
  return out;
}

/** Grants `n` leases, 64 at a time; throws if any grant fails. */
async function grantLeases(t: Target, n: number): Promise<string[]> {
  const c = connect(t.host, t.port, Math.min(n, 64));
  const ids: string[] = [];
  try {
    const { failed } = await bulk(n, 64, Infinity, async () => {
      ids.push(await grantLease(c));
      return true;
    });
    if (failed) throw new Error(`${failed} of ${n} lease grants failed before the keep-alive row`);
    return ids;
  } finally {
    c.agent.destroy();
  }
}

/** Checks a LeaseKeepAlive answer line: a result with a TTL (TTL 0, left out, means the lease is gone). */
function checkKeepAlive(line: string): void {
  const m = JSON.parse(line) as { result?: { TTL?: string }; error?: unknown };
  if (!m.result) throw new Error(`lease keepalive: ${line.slice(0, 160)}`);
  if (!(Number(m.result.TTL ?? 0) > 0)) throw new Error(`lease keepalive: TTL ${m.result.TTL ?? 0} (lease not found)`);
}

/**
 * One LeaseKeepAlive round trip per request on a lease of the client's own:
 * a POST /v3/lease/keepalive whose body is one request; the answer is one
 * `{"result":...}` line, and it ends there on both targets (the body ended).
 * A stream held open for many keep-alives, as gRPC clients do, cannot be
 * measured the same way on both: etcd's HTTP/1.1 gateway answers nothing
 * until the request body ends, and only etcd serves keep-alive over
 * WebSocket. A lease the server no longer knows answers TTL 0: an error.
 */
export async function leaseKeepAlives(t: Target, rss: RssSampler, clients: number, s: Settings): Promise<RowResult> {
  const ids = await grantLeases(t, clients);
  try {
    const { r, peak } = await measured(t, rss, clients, s, async (c, client) => {
      const res = await send(c, "POST", "/v3/lease/keepalive", JSON.stringify({ ID: ids[client] }), 30_000, "application/json");
      expect(res.status, [200], res.body, "lease keepalive");
      checkKeepAlive(res.body.split("\n")[0]);
      return "ok";
    });
    return loopMetrics(r, peak);
  } finally {
    await revokeLeases(t, ids);
  }
}

/**
 * LeaseKeepAlive as clients do it, on a stream held open: each client opens
 * one WebSocket to /v3/lease/keepalive (etcd's gateway serves its streams
 * over WebSocket too) and then sends one keep-alive at a time on it, for a
 * lease of its own, waiting for each answer. A target that does not serve
 * it is reported as errors, with its answer as the note.
 */
export async function leaseKeepAlivesWs(t: Target, rss: RssSampler, clients: number, s: Settings): Promise<RowResult> {
  const ids = await grantLeases(t, clients);
  const c = connect(t.host, t.port, clients);
  const waiting: (((line: string | Error) => void) | undefined)[] = ids.map(() => undefined);
  const dead: (string | undefined)[] = ids.map(() => undefined);
  const streams = ids.map((_, i) =>
    openWsLineStream(c, "/v3/lease/keepalive", [], (line) => {
      const w = waiting[i];
      waiting[i] = undefined;
      w?.(line);
    }),
  );
  try {
    const opened = await Promise.all(streams.map((st) => Promise.race([st.opened, new Promise<string>((r) => setTimeout(() => r("did not open within 15 s"), 15_000))])));
    streams.forEach((st, i) => {
      dead[i] = opened[i];
      void st.closed.then((why) => {
        dead[i] ??= why ?? "closed by the server";
        waiting[i]?.(new Error(`WebSocket: ${dead[i]}`));
      });
    });
    rss.reset();
    const r = await closedLoop(clients, s.warmupMs, s.measureMs, async (client) => {
      if (dead[client]) throw new Error(`WebSocket: ${dead[client]}`);
      const line = await new Promise<string | Error>((resolve) => {
        const timer = setTimeout(() => resolve(new Error("no answer within 30 s")), 30_000);
        waiting[client] = (x) => (clearTimeout(timer), resolve(x));
        streams[client].send(JSON.stringify({ ID: ids[client] }));
      });
      if (line instanceof Error) throw line;
      checkKeepAlive(line);
      return "ok";
    });
    return loopMetrics(r, rss.read());
  } finally {
    for (const st of streams) st.abort();
    c.agent.destroy();
    await revokeLeases(t, ids);
  }
}

// ------------------------------------------------------------- v3 watches

/** How many puts each v3 fan-out row sends to its watchers, one at a time. */
export const V3_WATCH_WRITES = 3;

interface WatchLine {
  result?: { watch_id?: string; created?: boolean; canceled?: boolean; cancel_reason?: string; events?: { kv?: { mod_revision?: string } }[] };
  error?: { message?: string };
}

/**
 * Waits until the target answers GET /version (a server that fell over in
 * the row before may be restarting), for at most `limitMs`: undefined when it
 * answered at once, else what the wait was, for the row's note.
 */
export async function answering(t: Target, limitMs = 60_000): Promise<string | undefined> {
  const t0 = performance.now();
  for (let attempt = 0; ; attempt++) {
    const c = connect(t.host, t.port, 1);
    const status = await send(c, "GET", "/version", undefined, 2000).then(
      (r) => r.status,
      () => 0,
    );
    c.agent.destroy();
    const waited = performance.now() - t0;
    if (status === 200) return attempt === 0 ? undefined : `the target answered GET /version only after ${(waited / 1000).toFixed(1)} s (restarting?)`;
    if (waited > limitMs) return `the target did not answer GET /version for ${limitMs / 1000} s`;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** How a v3 watch stream is opened: a POST /v3/watch with the create requests as its body, or a WebSocket to /v3/watch. */
export type WatchTransport = "post" | "ws";

/**
 * N v3 watches on one key, over `streams` streams (each carrying the create
 * requests of its share of the watches: one per line of a POST body, or one
 * per WebSocket message), then V3_WATCH_WRITES puts on that key, one after
 * another: for each, how long from sending the put until every watch has its
 * event. Streams open in batches of 500 as the v2 watchers do, each on its
 * own socket; every wait is bounded, so a target that cannot hold N watches
 * is reported, not waited for.
 *
 * Several watches on one POST are not reliable on etcd: its HTTP/1.1
 * gateway starts answering while it reads the body, and Go's server then
 * discards what is left of a body under 256 KB (POSTs of 1,000 creates got
 * 9, 37 and 784 of them created). So the multiplexed rows take a WebSocket,
 * which etcd's gateway feeds to the stream message by message.
 */
export async function v3Watchers(t: Target, rss: RssSampler, n: number, streams: number, transport: WatchTransport, round: number): Promise<RowResult> {
  const c = connect(t.host, t.port, streams);
  const keyName = `bench-v3watch/${round}`;
  const create = JSON.stringify({ create_request: { key: base64(keyName) } });
  const regTimeout = 15_000 + n * 2;
  const waitedNote = await answering(t);
  rss.reset();
  const before = rss.now();
  const opened: { s: LineStream; registered: Promise<boolean> }[] = [];
  const fan = new FanOut();
  const errs = new Map<string, number>();
  const fail = (why: string) => {
    const kind = why.split("\n")[0].replace(/reference = \w+/, "reference = …").trim().slice(0, 100);
    errs.set(kind, (errs.get(kind) ?? 0) + 1);
  };
  let created = 0;
  const t0 = performance.now();
  const open = (watches: number) => {
    let seen = 0;
    let registered!: (ok: boolean) => void;
    const p = new Promise<boolean>((r) => (registered = r));
    const onLine = (line: string, at: number) => {
      let m: WatchLine;
      try {
        m = JSON.parse(line) as WatchLine;
      } catch {
        return fail(`unreadable line ${line.slice(0, 60)}`);
      }
      if (!m.result) return fail(`stream error: ${m.error?.message ?? line.slice(0, 80)}`);
      if (m.result.created) {
        created++;
        if (++seen === watches) registered(true);
      }
      if (m.result.canceled) fail(`watch canceled: ${m.result.cancel_reason ?? ""}`);
      for (const e of m.result.events ?? []) fan.arrived(e.kv?.mod_revision ?? "?", at);
    };
    const s = transport === "post" ? openLineStream(c, "/v3/watch", `${create}\n`.repeat(watches), onLine) : openWsLineStream(c, "/v3/watch", Array<string>(watches).fill(create), onLine);
    void s.opened.then((why) => {
      if (why !== undefined) {
        if (why !== ABORTED) fail(`could not open: ${why}`);
        return registered(false);
      }
      void s.closed.then((why) => {
        if (why === ABORTED) return;
        fail(why ? `stream failed: ${why}` : "stream ended by the server");
        registered(false);
      });
    });
    opened.push({ s, registered: p });
    return p;
  };
  const per = Math.ceil(n / streams);
  try {
    for (let i = 0; i < streams; i += 500) {
      const batch = [];
      for (let j = i; j < Math.min(streams, i + 500); j++) batch.push(open(Math.min(per, n - j * per)));
      const ok = await Promise.race([Promise.all(batch), new Promise<null>((r) => setTimeout(() => r(null), regTimeout))]);
      if (ok === null || ok.includes(false)) break;
    }
    const regMs = performance.now() - t0;
    const registered = created;
    await new Promise((r) => setTimeout(r, 300));
    const after = rss.now();
    const writer = connect(t.host, t.port, 1);
    try {
      const put = async () => (await gateway(writer, "put", { key: base64(keyName), value: VALUE_BASE64 })).header.revision;
      await fan.run(V3_WATCH_WRITES, registered, put, fail);
    } finally {
      writer.agent.destroy();
    }
    const notes = [...errs].map(([k, v]) => `${v}× ${k}`);
    if (fan.writeNote) notes.unshift(fan.writeNote);
    if (registered < n) notes.unshift(`${registered} of ${n} watches created`);
    if (waitedNote) notes.unshift(waitedNote);
    return {
      metrics: {
        registered,
        "register all ms": regMs,
        ...fan.figures(n, registered, V3_WATCH_WRITES),
        "peak RSS MB": rss.read() / MB,
        "KB per idle watch": registered === n && n >= 1000 ? (after - before) / registered / 1024 : NaN,
      },
      note: notes.length ? notes.join("; ") : undefined,
    };
  } finally {
    for (const o of opened) o.s.abort();
    c.agent.destroy();
    // As for the v2 watchers: locally a server notices a client that left
    // a quiet stream only when it writes to it, and the first write after
    // the close still lands in the socket's buffer: two more writes let go
    // of every stream the server still holds (and counts against MAX_WATCHES).
    const writer = connect(t.host, t.port, 1);
    for (let i = 0; i < 2; i++) await postJson(writer, "/v3/kv/put", { key: base64(keyName), value: VALUE_BASE64 }, 10_000).catch(() => {});
    writer.agent.destroy();
  }
}
