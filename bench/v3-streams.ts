// The benchmark rows of v3's streams: leases (grant, keep-alive per POST
// and on a held WebSocket) and watch fan-out (one write to 1,000 and 10,000
// watches, multiplexed or a stream each), against the JSON gateway.
import { ABORTED, bulk, closedLoop, connect, FanOut, openLineStream, openWsLineStream, postJson, send, type Conn, type LineStream, type RssSampler } from "./load.ts";
import type { Target } from "./targets.ts";
import { base64, expect, gateway, loopMetrics, MB, measured, VALUE_BASE64, type RowResult, type Settings } from "./workloads.ts";

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
