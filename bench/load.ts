// The load generator: a closed loop of N clients, each with one request in
// flight at a time over keep-alive node:http sockets (one per client), a
// latency histogram, and an RSS sampler for the server processes. The same
// code drives every target.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import { createRequire } from "node:module";
import { rssBytes } from "./targets.ts";

// ---------------------------------------------------------------- histogram

/** Log-bucketed latency histogram: ~1% resolution from 1 µs to hours. */
export class Histogram {
  private readonly buckets = new Map<number, number>();
  count = 0;
  max = 0;
  private static readonly base = Math.log(1.01);

  record(ms: number): void {
    const us = Math.max(1, ms * 1000);
    const b = Math.floor(Math.log(us) / Histogram.base);
    this.buckets.set(b, (this.buckets.get(b) ?? 0) + 1);
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  /** The q-quantile in ms (0 < q <= 1); NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (const b of [...this.buckets.keys()].sort((a, c) => a - c)) {
      seen += this.buckets.get(b)!;
      if (seen >= rank) return Math.min(this.max, Math.exp((b + 0.5) * Histogram.base) / 1000);
    }
    return this.max;
  }
}

// ------------------------------------------------------------------- http

export interface Reply {
  status: number;
  body: string;
}

export interface Conn {
  host: string;
  port: number;
  agent: http.Agent;
}

export function connect(host: string, port: number, sockets: number): Conn {
  return { host, port, agent: new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets }) };
}

/** One request, its body a v2 form unless `contentType` says otherwise; rejects on transport errors and after `timeoutMs`. */
export function send(c: Conn, method: string, path: string, body?: string, timeoutMs = 30_000, contentType = "application/x-www-form-urlencoded"): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {};
    if (body !== undefined) {
      headers["content-type"] = contentType;
      headers["content-length"] = Buffer.byteLength(body);
    }
    const req = http.request({ host: c.host, port: c.port, method, path, headers, agent: c.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
      });
      res.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs);
    req.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(body);
  });
}

/** A POST of `message` as JSON, as etcd's v3 JSON gateway takes it. */
export function postJson(c: Conn, path: string, message: unknown, timeoutMs = 30_000): Promise<Reply> {
  return send(c, "POST", path, JSON.stringify(message), timeoutMs, "application/json");
}

// -------------------------------------------------------------- closed loop

/** What one operation ended as: success, an expected refusal (a CAS that lost the race), or an error. */
export type Outcome = "ok" | "expected" | "error";

export interface LoopResult {
  ok: number;
  expected: number;
  errors: number;
  firstError?: string;
  seconds: number;
  hist: Histogram;
}

/**
 * Runs `op` from `clients` concurrent clients, each waiting for its previous
 * operation before starting the next, for warm-up + measure ms. Only
 * operations started after the warm-up count.
 */
export async function closedLoop(clients: number, warmupMs: number, measureMs: number, op: (client: number, seq: number) => Promise<Outcome>): Promise<LoopResult> {
  const r: LoopResult = { ok: 0, expected: 0, errors: 0, seconds: measureMs / 1000, hist: new Histogram() };
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const end = measureFrom + measureMs;
  const worker = async (client: number) => {
    for (let seq = 0; ; seq++) {
      const t0 = performance.now();
      if (t0 >= end) return;
      let out: Outcome;
      try {
        out = await op(client, seq);
      } catch (e) {
        out = "error";
        r.firstError ??= e instanceof Error ? e.message : String(e);
        // Do not spin on a dead server.
        await new Promise((res) => setTimeout(res, 10));
      }
      if (t0 < measureFrom) continue;
      r.hist.record(performance.now() - t0);
      r[out === "error" ? "errors" : out]++;
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, i) => worker(i)));
  return r;
}

/**
 * Runs up to `total` operations with `concurrency` in flight, starting no new
 * one after `deadline` (performance.now() time); operations 0..started-1 ran.
 */
export async function bulk(total: number, concurrency: number, deadline: number, op: (i: number) => Promise<boolean>): Promise<{ started: number; failed: number }> {
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < total && performance.now() < deadline) {
      const i = next++;
      try {
        if (!(await op(i))) failed++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, () => worker()));
  return { started: next, failed };
}

// ------------------------------------------------------------------ watches

export interface Watch {
  /** Resolves true once the server sent the headers (the watch is registered). */
  registered: Promise<boolean>;
  /** Resolves with the completion time (performance.now()) or an error text. */
  done: Promise<number | string>;
  /** The settled value of `done`, once settled. */
  result?: number | string;
  abort(): void;
}

/** Opens one long-poll watch; both phases bounded by `timeoutMs` from now. */
export function openWatch(c: Conn, path: string, timeoutMs: number): Watch {
  let reg!: (v: boolean) => void;
  let fin!: (v: number | string) => void;
  const registered = new Promise<boolean>((r) => (reg = r));
  const done = new Promise<number | string>((r) => (fin = r));
  const req = http.request({ host: c.host, port: c.port, method: "GET", path, agent: c.agent }, (res) => {
    const ok = res.statusCode === 200;
    reg(ok);
    let body = "";
    res.on("data", (d: Buffer) => {
      if (!ok && body.length < 200) body += d.toString("utf8");
    });
    res.on("end", () => fin(ok ? performance.now() : `HTTP ${res.statusCode} ${body.slice(0, 100).trim()}`));
    res.on("error", (e) => fin(e.message === "aborted" ? "connection closed mid-answer" : e.message));
  });
  const fail = (msg: string) => {
    reg(false);
    fin(msg);
  };
  const timer = setTimeout(() => {
    fail("timeout");
    req.destroy();
  }, timeoutMs);
  req.on("error", (e) => fail((e as NodeJS.ErrnoException).code ?? e.message));
  req.end();
  const w: Watch = {
    registered,
    done,
    abort: () => {
      fail("not answered in time");
      req.destroy();
    },
  };
  done.then((v) => {
    clearTimeout(timer);
    w.result = v;
  });
  return w;
}

export interface LineStream {
  /** Resolves once the stream is open (the answer's headers came, or the WebSocket opened): undefined, or why not. */
  opened: Promise<string | undefined>;
  /** Resolves when the stream ends or fails: undefined for a clean end by the server, else what happened. */
  closed: Promise<string | undefined>;
  abort(): void;
}

export const ABORTED = "aborted by the bench";

/** The settling side of a LineStream. */
function lineStreamState(): { opened: Promise<string | undefined>; closed: Promise<string | undefined>; open: (why: string | undefined) => void; finish: (why: string | undefined) => void } {
  let gotOpen!: (v: string | undefined) => void;
  let end!: (v: string | undefined) => void;
  const opened = new Promise<string | undefined>((r) => (gotOpen = r));
  const closed = new Promise<string | undefined>((r) => (end = r));
  let over = false;
  return {
    opened,
    closed,
    open: gotOpen,
    finish: (why) => {
      gotOpen(why ?? "ended before it opened");
      if (!over) end(why);
      over = true;
    },
  };
}

/**
 * A POST of `body` (JSON) whose answer is a stream of lines, as etcd's
 * gateway streams Watch and LeaseKeepAlive: `onLine` gets each line with the
 * performance.now() time its chunk arrived (every line of a chunk shares it,
 * so the client's parsing does not count against the server). The body is
 * sent whole: etcd's HTTP/1.1 gateway answers nothing until the body ends,
 * and then reads no more of it.
 */
export function openLineStream(c: Conn, path: string, body: string, onLine: (line: string, at: number) => void): LineStream {
  const st = lineStreamState();
  const headers = { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
  const req = http.request({ host: c.host, port: c.port, method: "POST", path, headers, agent: c.agent }, (res) => {
    st.open(res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`);
    let pending = "";
    res.on("data", (d: Buffer) => {
      const at = performance.now();
      pending += d.toString("utf8");
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) if (line.trim() !== "") onLine(line, at);
    });
    res.on("end", () => {
      if (pending.trim() !== "") onLine(pending, performance.now());
      st.finish(undefined);
    });
    res.on("error", (e) => st.finish(e.message === "aborted" ? "connection closed mid-answer" : e.message));
  });
  req.on("error", (e) => st.finish((e as NodeJS.ErrnoException).code ?? e.message));
  req.end(body);
  return {
    opened: st.opened,
    closed: st.closed,
    abort: () => {
      st.finish(ABORTED);
      req.destroy();
    },
  };
}

/** The slice of the `ws` client (a devDependency) used here. */
interface WsClient {
  on(event: "open", listener: () => void): this;
  on(event: "message", listener: (data: Buffer) => void): this;
  on(event: "close", listener: (code: number, reason: Buffer) => void): this;
  on(event: "error", listener: (err: Error) => void): this;
  on(event: "unexpected-response", listener: (req: http.ClientRequest, res: http.IncomingMessage) => void): this;
  send(data: string): void;
  terminate(): void;
}
type WsConstructor = new (url: string, options: { perMessageDeflate: boolean }) => WsClient;
let wsConstructor: WsConstructor | undefined;

/**
 * A WebSocket to `path` (as etcd's gateway and ours serve /v3/watch), each of
 * `messages` sent as one message once it opens; each message back is a line
 * for `onLine`, with the time it arrived. No compression, on both targets.
 */
export function openWsLineStream(c: Conn, path: string, messages: string[], onLine: (line: string, at: number) => void): LineStream & { send(message: string): void } {
  wsConstructor ??= createRequire(import.meta.url)("ws") as WsConstructor;
  const st = lineStreamState();
  const ws = new wsConstructor(`ws://${c.host}:${c.port}${path}`, { perMessageDeflate: false });
  ws.on("open", () => {
    st.open(undefined);
    for (const m of messages) ws.send(m);
  });
  ws.on("message", (d) => onLine(d.toString("utf8"), performance.now()));
  ws.on("unexpected-response", (_req, res) => {
    st.finish(`HTTP ${res.statusCode} instead of a WebSocket`);
    res.resume();
    ws.terminate();
  });
  ws.on("error", (e) => st.finish((e as NodeJS.ErrnoException).code ?? e.message));
  ws.on("close", (code, reason) => st.finish(code === 1000 ? undefined : `WebSocket closed, code ${code}${reason.length ? ` ${reason.toString("utf8")}` : ""}`));
  return {
    opened: st.opened,
    closed: st.closed,
    send: (m) => ws.send(m),
    abort: () => {
      st.finish(ABORTED);
      ws.terminate();
    },
  };
}

// ---------------------------------------------------------------------- RSS

/** Samples the summed RSS of the server processes every 200 ms and keeps the peak. */
export class RssSampler {
  peak = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly pids: () => number[];

  constructor(pids: () => number[]) {
    this.pids = pids;
  }

  now(): number {
    return this.pids().reduce((s, p) => s + rssBytes(p), 0);
  }

  /** Starts a new peak window. */
  reset(): void {
    this.peak = this.now();
    if (this.timer === undefined) {
      this.timer = setInterval(() => {
        const v = this.now();
        if (v > this.peak) this.peak = v;
      }, 200);
      this.timer.unref();
    }
  }

  /** The peak since reset(), including a final sample. */
  read(): number {
    const v = this.now();
    if (v > this.peak) this.peak = v;
    return this.peak;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

// ---------------------------------------------------------------------- CPU

let clockTicks: number | undefined;

/** The unit of /proc/<pid>/stat's times (USER_HZ, almost always 100). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds (user + system, every thread) a process has used so far; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The fields after the command name, which may hold spaces: utime and stime are the 14th and 15th.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/**
 * The CPU time a set of processes used over a window (utime + stime from
 * /proc/<pid>/stat, 10 ms resolution): seconds, and seconds per second of
 * wall time, i.e. cores used. Only processes alive at both ends count (a
 * process that died in the window loses its share).
 */
export class CpuMeter {
  private readonly pids: () => number[];
  private from = new Map<number, number>();
  private t0 = 0;

  constructor(pids: () => number[]) {
    this.pids = pids;
  }

  start(): void {
    this.t0 = performance.now();
    this.from = new Map();
    for (const pid of this.pids()) {
      const s = cpuSeconds(pid);
      if (s !== undefined) this.from.set(pid, s);
    }
  }

  /** Since start(): CPU seconds, the window in seconds, and cores (NaN when no process was found). */
  read(): { seconds: number; window: number; cores: number } {
    const window = (performance.now() - this.t0) / 1000;
    if (this.from.size === 0) return { seconds: NaN, window, cores: NaN };
    let seconds = 0;
    for (const [pid, s0] of this.from) {
      const s1 = cpuSeconds(pid);
      if (s1 !== undefined && s1 >= s0) seconds += s1 - s0;
    }
    return { seconds, window, cores: window > 0 ? seconds / window : NaN };
  }
}

/** The value at quantile `p` of ascending `xs` (NaN when empty). */
export function quantile(xs: number[], p: number): number {
  return xs.length ? xs[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)] : NaN;
}

/**
 * The timing of one write fanned out to many watches: writes go one at a
 * time, each waited for (30 s at most) until every watch has its event;
 * each delivery is timed from its write.
 */
export class FanOut {
  /** Arrival times of the events of each revision, one per watch. */
  private readonly arrivals = new Map<string, number[]>();
  private waiting: { revision: string; want: number; done: () => void } | undefined;
  /** Every delivery, ms after its write, ascending once `run` is done. */
  readonly latencies: number[] = [];
  /** Per write: ms until the last watch had it (only writes every watch got). */
  readonly allAnswered: number[] = [];
  /** Why the writes stopped early, if they did. */
  writeNote: string | undefined;

  /** A watch got the event of `revision` at `at` (performance.now()). */
  arrived(revision: string, at: number): void {
    const list = this.arrivals.get(revision) ?? [];
    list.push(at);
    this.arrivals.set(revision, list);
    const w = this.waiting;
    if (w && w.revision === revision && list.length >= w.want) w.done();
  }

  /** Makes `writes` writes with `write` (resolving to the revision it made), each waited for until `want` watches have it. */
  async run(writes: number, want: number, write: () => Promise<string>, fail: (why: string) => void): Promise<void> {
    for (let i = 0; i < writes && want > 0; i++) {
      const started = performance.now();
      let revision: string;
      try {
        revision = await write();
      } catch (e) {
        this.writeNote = `write: ${(e as Error).message}`;
        break;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 30_000);
        this.waiting = { revision, want, done: () => (clearTimeout(timer), resolve()) };
        if ((this.arrivals.get(revision)?.length ?? 0) >= want) this.waiting.done();
      });
      this.waiting = undefined;
      const got = (this.arrivals.get(revision) ?? []).map((x) => x - started);
      this.latencies.push(...got);
      if (got.length >= want) this.allAnswered.push(Math.max(...got));
      else fail(`put ${i + 1}: ${want - got.length} of ${want} watches had no event within 30 s`);
    }
    this.latencies.sort((a, b) => a - b);
    this.allAnswered.sort((a, b) => a - b);
  }

  /** The row's delivery figures, for `n` watches of which `registered` were created, after `writes` writes. */
  figures(n: number, registered: number, writes: number): Record<string, number> {
    return {
      [`all answered ms (median of ${writes} puts)`]: registered === n && this.allAnswered.length === writes ? quantile(this.allAnswered, 0.5) : NaN,
      "p50 ms": quantile(this.latencies, 0.5),
      "p99 ms": quantile(this.latencies, 0.99),
      "missed events": n * writes - this.latencies.length,
    };
  }
}
