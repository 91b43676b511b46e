// The gRPC rows: etcd 3.4's gRPC API driven through @grpc/grpc-js with the
// same closed loop and histogram as the HTTP rows (load.ts), against real
// etcd's client port (etcd serves gRPC and HTTP on one port) and against
// ours' gRPC front (grpc-front/, which `npm start` serves from its own Node
// process on GRPC_PORT and which forwards each call to the Worker's v3 JSON
// API: a unary call as one POST, a Watch stream as one WebSocket).
//
// Next to each row: the CPU the target's processes used over the measured
// window (from /proc/<pid>/stat), for ours split between workerd (the
// "server" figures, as the other rows' RSS is) and the front's Node process,
// whose RSS is reported apart; and the load generator's own CPU, since on a
// small machine it competes with the server for the same cores.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { LOADER_OPTIONS } from "../grpc-front/protos.ts";
import { closedLoop, CpuMeter, FanOut, RssSampler, type Outcome } from "./load.ts";
import type { Target } from "./targets.ts";
import { answering, V3_WATCH_WRITES } from "./v3-streams.ts";
import { key, loopMetrics, MB, pick, VALUE, type Metrics, type RowResult, type Settings } from "./workloads.ts";

// ------------------------------------------------------------- the protocol


type Method = protoLoader.MethodDefinition<object, object>;
let definitions: protoLoader.PackageDefinition | undefined;

function method(service: "KV" | "Watch", name: string): Method {
  definitions ??= protoLoader.loadSync("etcdserverpb/rpc.proto", LOADER_OPTIONS);
  const m = (definitions[`etcdserverpb.${service}`] as protoLoader.ServiceDefinition | undefined)?.[name];
  if (!m) throw new Error(`etcdserverpb.${service}/${name} is not in proto/etcdserverpb/rpc.proto`);
  return m as Method;
}

interface Header {
  revision?: string;
}
interface KeyValue {
  mod_revision?: string;
}
interface RangeResponse {
  header?: Header;
  kvs?: KeyValue[];
  count?: string;
}
interface TxnResponse {
  header?: Header;
  succeeded?: boolean;
  responses?: { response_range?: RangeResponse }[];
}
interface WatchResponse {
  watch_id?: string;
  created?: boolean;
  canceled?: boolean;
  cancel_reason?: string;
  events?: { kv?: KeyValue }[];
}

const VALUE_BYTES = Buffer.from(VALUE);

// ---------------------------------------------------------------- channels

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // One HTTP/2 connection per channel: by default grpc-js lets every
  // channel to one address share a connection, which would make "N channels"
  // one connection, and carry a connection over from one row to the next.
  "grpc.use_local_subchannel_pool": 1,
  "grpc.max_receive_message_length": -1,
};

function channel(t: Target): grpc.Client {
  if (t.grpcPort === undefined) throw new Error(`${t.name} serves no gRPC`);
  return new grpc.Client(`${t.host}:${t.grpcPort}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
}

/** Resolves once `c` is connected (undefined), or with why not within `timeoutMs`. */
function ready(c: grpc.Client, timeoutMs = 10_000): Promise<string | undefined> {
  return new Promise((resolve) => c.waitForReady(Date.now() + timeoutMs, (err) => resolve(err ? `channel not ready within ${timeoutMs / 1000} s: ${err.message}` : undefined)));
}

/** One unary call; rejects with the gRPC status (code, name and details) on failure. */
function unary<Res>(c: grpc.Client, m: Method, request: object, timeoutMs = 30_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    c.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err) reject(new Error(`${m.originalName ?? m.path}: ${err.message}`));
      else resolve(res as Res);
    });
  });
}

// ------------------------------------------------------------------ meters

/** CPU and memory of the target's processes (and of this one) over a window. */
class Meters {
  private readonly t: Target;
  private readonly server: CpuMeter;
  private readonly front: CpuMeter;
  private readonly bench = new CpuMeter(() => [process.pid]);
  readonly frontRss: RssSampler;

  constructor(t: Target) {
    this.t = t;
    this.server = new CpuMeter(() => t.serverPids());
    this.front = new CpuMeter(() => t.frontPids());
    this.frontRss = new RssSampler(() => t.frontPids());
  }

  /** Whether the target has a front process of its own (ours). */
  get hasFront(): boolean {
    return this.t.frontPids().length > 0;
  }

  startCpu(): void {
    this.server.start();
    this.front.start();
    this.bench.start();
  }

  /** CPU since startCpu(), as cores (per second of wall time) or as seconds. */
  cpu(unit: "cores" | "s", suffix = ""): Metrics {
    const of = (r: { seconds: number; cores: number }) => (unit === "cores" ? r.cores : r.seconds);
    const m: Metrics = { [`server CPU ${unit}${suffix}`]: of(this.server.read()) };
    if (this.hasFront) m[`front CPU ${unit}${suffix}`] = of(this.front.read());
    m[`bench CPU ${unit}${suffix}`] = of(this.bench.read());
    return m;
  }

  stop(): void {
    this.frontRss.stop();
  }
}

/**
 * The front's process with no gRPC traffic: its RSS, and the CPU it uses
 * over one idle second (ours only; other targets have no front).
 */
export async function frontAtRest(t: Target): Promise<RowResult> {
  const m = new Meters(t);
  try {
    m.startCpu();
    await new Promise((r) => setTimeout(r, 1000));
    const cpu = m.cpu("cores");
    return { metrics: { "front RSS MB": m.frontRss.now() / MB, "front CPU cores": cpu["front CPU cores"] } };
  } finally {
    m.stop();
  }
}

// -------------------------------------------------------------- unary rows

export interface GrpcSettings extends Settings {
  /** Channels (HTTP/2 connections) per row, at most one per client; client i uses channel i mod channels. */
  channels: number;
}

/** A closed loop of `clients` gRPC clients over `s.channels` channels, with the CPU over the measured window. */
async function measured(t: Target, rss: RssSampler, clients: number, s: GrpcSettings, label: string, op: (c: grpc.Client, client: number) => Promise<Outcome>): Promise<{ out: RowResult; expected: number }> {
  const channels = Array.from({ length: Math.min(s.channels, clients) }, () => channel(t));
  const m = new Meters(t);
  try {
    const notReady = (await Promise.all(channels.map((c) => ready(c)))).find((x) => x !== undefined);
    rss.reset();
    m.frontRss.reset();
    // The CPU window is the measured one: it opens when the warm-up ends.
    const timer = setTimeout(() => m.startCpu(), s.warmupMs);
    const r = await closedLoop(clients, s.warmupMs, s.measureMs, (client) => op(channels[client % channels.length], client));
    clearTimeout(timer);
    const out = loopMetrics(r, rss.read(), label);
    out.metrics = { ...out.metrics, ...m.cpu("cores") };
    if (m.hasFront) out.metrics["front peak RSS MB"] = m.frontRss.read() / MB;
    if (notReady) out.note = [notReady, out.note].filter(Boolean).join("; ");
    return { out, expected: r.expected / r.seconds };
  } finally {
    m.stop();
    for (const c of channels) c.close();
  }
}

/** KV.Put of a 100-byte value to one random key among the first `keys`. */
export async function grpcPuts(t: Target, rss: RssSampler, clients: number, keys: number, s: GrpcSettings): Promise<RowResult> {
  const put = method("KV", "Put");
  const { out } = await measured(t, rss, clients, s, "req/s", async (c) => {
    await unary(c, put, { key: Buffer.from(key(pick(keys))), value: VALUE_BYTES });
    return "ok";
  });
  return out;
}

/** KV.Range of one random key among the first `keys`, linearizable; each must find it. */
export async function grpcRanges(t: Target, rss: RssSampler, clients: number, keys: number, s: GrpcSettings): Promise<RowResult> {
  const range = method("KV", "Range");
  const { out } = await measured(t, rss, clients, s, "req/s", async (c) => {
    const r = await unary<RangeResponse>(c, range, { key: Buffer.from(key(pick(keys))) });
    if (Number(r.count ?? 0) !== 1 || r.kvs?.length !== 1) throw new Error(`Range: found ${r.count ?? 0} keys, not 1`);
    return "ok";
  });
  return out;
}

const GRPC_CAS_KEY = "bench-grpc-cas/x";

/**
 * Compare-and-swap contention on one key, as the v3 CAS row over the JSON
 * gateway: a KV.Txn per attempt comparing the key's mod_revision, putting on
 * success and reading the key on failure (which tells the client what to
 * compare next time). Failed compares are counted apart, not as errors.
 */
export async function grpcCas(t: Target, rss: RssSampler, clients: number, s: GrpcSettings): Promise<RowResult> {
  const txn = method("KV", "Txn");
  const kb = Buffer.from(GRPC_CAS_KEY);
  const seed = channel(t);
  try {
    await unary(seed, method("KV", "Put"), { key: kb, value: VALUE_BYTES });
  } finally {
    seed.close();
  }
  const seen: (string | undefined)[] = Array.from({ length: clients }, () => undefined);
  const { out, expected } = await measured(t, rss, clients, s, "successful CAS/s", async (c, client) => {
    const r = await unary<TxnResponse>(c, txn, {
      compare: [{ key: kb, target: "MOD", result: "EQUAL", mod_revision: seen[client] ?? "0" }],
      success: [{ request_put: { key: kb, value: VALUE_BYTES } }],
      failure: [{ request_range: { key: kb } }],
    });
    if (r.succeeded) {
      seen[client] = r.header?.revision;
      return "ok";
    }
    seen[client] = r.responses?.[0]?.response_range?.kvs?.[0]?.mod_revision;
    return "expected";
  });
  out.metrics = { ...out.metrics, "failed compares/s": expected };
  return out;
}

// -------------------------------------------------------------- watch rows

/** A watch response as it came off the channel, still encoded, with the time it did. */
interface Stamped {
  bytes: Buffer;
  at: number;
}

/**
 * N watches on one key over Watch streams of `perStream` watches each, all
 * streams on one channel (as an etcd client multiplexes its watches over
 * one connection), then V3_WATCH_WRITES puts on that key (KV.Put on a second
 * channel), one after another: for each, how long from sending the put until
 * every watch has its event. Each stream sends its creates at once and
 * counts the `created` answers; every wait is bounded, so a target that
 * cannot hold N watches is reported, not waited for.
 *
 * Each response is timestamped as grpc-js hands it over still encoded, and
 * decoded later (in a setImmediate), so that decoding 10,000 responses does
 * not count against the server's delivery of the later ones.
 */
export async function grpcWatchers(t: Target, rss: RssSampler, n: number, perStream: number, round: number): Promise<RowResult> {
  const watch = method("Watch", "Watch");
  const put = method("KV", "Put");
  const keyName = Buffer.from(`bench-grpc-watch/${round}`);
  const streams = Math.ceil(n / perStream);
  const regTimeout = 15_000 + n * 2;
  const waitedNote = await answering(t);
  const ch = channel(t);
  const writer = channel(t);
  const m = new Meters(t);
  const errs = new Map<string, number>();
  const fail = (why: string) => {
    const kind = why.split("\n")[0].trim().slice(0, 140);
    errs.set(kind, (errs.get(kind) ?? 0) + 1);
  };
  const fan = new FanOut();
  const calls: grpc.ClientDuplexStream<object, Stamped>[] = [];
  let leaving = false;
  let created = 0;
  const open = (watches: number): Promise<boolean> => {
    let seen = 0;
    let registered!: (ok: boolean) => void;
    const p = new Promise<boolean>((r) => (registered = r));
    const queue: Stamped[] = [];
    let scheduled = false;
    const drain = () => {
      scheduled = false;
      for (const { bytes, at } of queue.splice(0)) {
        let r: WatchResponse;
        try {
          r = watch.responseDeserialize(bytes) as WatchResponse;
        } catch (e) {
          fail(`undecodable WatchResponse: ${(e as Error).message}`);
          continue;
        }
        if (r.created && ++seen <= watches) {
          created++;
          if (seen === watches) registered(true);
        }
        if (r.canceled) fail(`watch canceled: ${r.cancel_reason ?? ""}`);
        for (const e of r.events ?? []) fan.arrived(e.kv?.mod_revision ?? "?", at);
      }
    };
    const call = ch.makeBidiStreamRequest<object, Stamped>(watch.path, watch.requestSerialize, (bytes: Buffer) => ({ bytes, at: performance.now() }), new grpc.Metadata());
    call.on("data", (s: Stamped) => {
      queue.push(s);
      if (!scheduled) {
        scheduled = true;
        setImmediate(drain);
      }
    });
    call.on("error", (e: grpc.ServiceError) => {
      if (leaving) return;
      fail(`stream failed: ${e.message}`);
      registered(false);
    });
    call.on("status", (st: grpc.StatusObject) => {
      if (leaving || st.code !== grpc.status.OK) return;
      fail("stream ended by the server");
      registered(false);
    });
    const create = { create_request: { key: keyName } };
    for (let i = 0; i < watches; i++) call.write(create);
    calls.push(call);
    return p;
  };
  try {
    const notReady = (await Promise.all([ready(ch), ready(writer)])).find((x) => x !== undefined);
    if (notReady) fail(notReady);
    rss.reset();
    m.frontRss.reset();
    const before = rss.now();
    const frontBefore = m.frontRss.now();
    m.startCpu();
    const t0 = performance.now();
    const regs = Array.from({ length: streams }, (_, i) => open(Math.min(perStream, n - i * perStream)));
    await Promise.race([Promise.all(regs), new Promise((r) => setTimeout(r, regTimeout))]);
    const regMs = performance.now() - t0;
    const registered = created;
    const registerCpu = m.cpu("s", " (register)");
    await new Promise((r) => setTimeout(r, 300));
    const after = rss.now();
    const frontAfter = m.frontRss.now();
    m.startCpu();
    const write = async () => (await unary<{ header?: Header }>(writer, put, { key: keyName, value: VALUE_BYTES })).header?.revision ?? "?";
    await fan.run(V3_WATCH_WRITES, registered, write, fail);
    const putsCpu = m.cpu("s", ` (${V3_WATCH_WRITES} puts)`);
    const notes = [...errs].map(([k, v]) => `${v}× ${k}`);
    if (fan.writeNote) notes.unshift(fan.writeNote);
    if (registered < n) notes.unshift(`${registered} of ${n} watches created`);
    if (waitedNote) notes.unshift(waitedNote);
    const complete = registered === n && n >= 1000;
    const metrics: Metrics = {
      registered,
      "register all ms": regMs,
      ...fan.figures(n, registered, V3_WATCH_WRITES),
      "peak RSS MB": rss.read() / MB,
      "KB per idle watch": complete ? (after - before) / registered / 1024 : NaN,
      ...registerCpu,
      ...putsCpu,
    };
    if (m.hasFront) {
      metrics["front peak RSS MB"] = m.frontRss.read() / MB;
      metrics["front KB per idle watch"] = complete ? (frontAfter - frontBefore) / registered / 1024 : NaN;
    }
    return { metrics, note: notes.length ? notes.join("; ") : undefined };
  } finally {
    leaving = true;
    for (const c of calls) c.cancel();
    ch.close();
    // As for the other watch rows: one more write reaches any watch the
    // server still holds for a stream that left, so that it is dropped.
    await unary(writer, put, { key: keyName, value: VALUE_BYTES }, 10_000).catch(() => {});
    writer.close();
    m.stop();
  }
}
