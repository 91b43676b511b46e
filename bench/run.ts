// `npm run bench`: the same closed-loop workloads, over the v2 API and over
// the v3 JSON gateway, against our Worker as `npm start` serves it, etcd 3.4
// as 1 member and etcd 3.4 as 3 members, one target at a time, with each
// target's floor (for ours, a Worker that does nothing, served the same way);
// then a side-by-side markdown table printed and written to BENCHMARKS.md.
//
// Environment:
//   BENCH_SECONDS=5        measured seconds per row (after a warm-up)
//   BENCH_QUICK=1          smoke run: 1 s rows, no 100,000- or 1,000,000-key rows, no 256-client v3 rows
//   BENCH_POPULATE_SECONDS=90          cap on each key-count populate step
//   BENCH_REF=HEAD         serve our Worker from this commit (default: a copy of the working tree)
//   BENCH_KEEP_LOGS=dir    keep each server's log in this dir (relative to the repo)
//   BENCH_TARGETS=ours,etcd-1,etcd-3   a subset of the targets
//   BENCH_OUT=BENCHMARKS.md            where the report goes (relative to the repo)
//   BENCH_ONLY=key,key     only these sections, with the populate steps they need (the
//                          report then holds only those; the keys are SECTION's below):
//                          setup, writes, reads, quorumReads, cas, scale, floor, v3Put,
//                          v3Range, v3Serializable, v3Prefix, v3Cas, v3LeaseGrant,
//                          v3LeaseKeepAlive, v3LeaseKeepAliveWs, v3Keyspace, watchers,
//                          v3WatchShared, v3WatchPosts, v3WatchSockets, distance, grpcFront,
//                          grpcPut, grpcRange, grpcTxn, grpcWatch, grpcWatchStreams. The
//                          v3 lease and watch rows alone, quickly, into a scratch report:
//                          BENCH_QUICK=1 BENCH_OUT=leases-and-watches.md BENCH_ONLY=v3LeaseGrant,v3LeaseKeepAlive,v3LeaseKeepAliveWs,v3WatchShared,v3WatchPosts,v3WatchSockets npm run bench
//                          and the gRPC rows alone:
//                          BENCH_QUICK=1 BENCH_OUT=grpc.md BENCH_ONLY=grpcFront,grpcPut,grpcRange,grpcTxn,grpcWatch,grpcWatchStreams npm run bench
//   BENCH_GRPC_CHANNELS=1  gRPC channels (HTTP/2 connections) per unary gRPC row, at most one
//                          per client, clients spread over them round-robin (default 1: every
//                          client shares one connection, as one etcd client object does)
import * as path from "node:path";
import * as fs from "node:fs";
import { RssSampler } from "./load.ts";
import { TARGETS, document, environment, table, type Row } from "./report.ts";
import { repoRoot } from "../support/processes.ts";
import { sourceDescription, startEtcd, startFloor, startOurs, type Target } from "./targets.ts";
import { frontAtRest, grpcCas, grpcPuts, grpcRanges, grpcWatchers, type GrpcSettings } from "./grpc.ts";
import { leaseGrants, leaseKeepAlives, leaseKeepAlivesWs, v3Watchers, V3_WATCH_WRITES } from "./v3-streams.ts";
import { cas, floor, populate, reads, v2, v3, watchers, writes, type Api, type RowResult, type Settings } from "./workloads.ts";

const quick = process.env.BENCH_QUICK === "1";
const seconds = Number(process.env.BENCH_SECONDS ?? (quick ? 1 : 5));
const settings: Settings = { warmupMs: quick ? 300 : 1000, measureMs: seconds * 1000 };
const CLIENTS = [1, 16, 64, 256];
// The v3 rows double the row count: a quick run spares them the slowest count.
const V3_CLIENTS = quick ? CLIENTS.filter((c) => c < 256) : CLIENTS;
const WATCHERS = [100, 1000, 10_000];
const V3_WATCHERS = [1000, 10_000];
const GRPC_CHANNELS = Number(process.env.BENCH_GRPC_CHANNELS ?? 1);
if (!Number.isInteger(GRPC_CHANNELS) || GRPC_CHANNELS < 1) throw new Error(`BENCH_GRPC_CHANNELS must be a whole number >= 1, not ${process.env.BENCH_GRPC_CHANNELS}`);
const grpcSettings: GrpcSettings = { ...settings, channels: GRPC_CHANNELS };
/** Watches per Watch stream in the gRPC fan-out row that spreads them. */
const GRPC_WATCHES_PER_STREAM = 1000;
/** The PEER_DELAY_MS values of the member-distance rows: same machine, neighbouring regions, across a continent, across an ocean. */
const PEER_DELAYS = [0, 20, 40, 80];
const KEY_COUNTS = quick ? [1000, 10_000] : [1000, 10_000, 100_000];
const V3_KEY_COUNTS = quick ? [1000, 10_000] : [1000, 10_000, 100_000, 1_000_000];
const SCALE_CLIENTS = 16;
/** The keys the Setup rows write, that the fixed-size rows work over. */
const BASE_KEYS = 1000;
const POPULATE_IN_FLIGHT = 64;
const populateMs = Number(process.env.BENCH_POPULATE_SECONDS ?? (quick ? 15 : 90)) * 1000;
const wanted = (process.env.BENCH_TARGETS ?? TARGETS.join(",")).split(",").map((s) => s.trim());
const out = path.resolve(repoRoot, process.env.BENCH_OUT ?? "BENCHMARKS.md");

const count = (n: number) => n.toLocaleString("en-US");

/** Every section of the report, in the order the report prints them (not the order they run in). */
const SECTION = {
  setup: "Setup",
  writes: `v2 writes: PUT 100-byte values over ${count(BASE_KEYS)} keys`,
  reads: "v2 reads (default)",
  quorumReads: "v2 reads (quorum=true)",
  cas: "v2 compare-and-swap on one key (GET, then PUT ?prevIndex)",
  scale: `v2 key count: reads and writes as the directory grows (${SCALE_CLIENTS} clients)`,
  floor: "Floor: the cheapest answer (ours: a Worker that does nothing, served as npm start serves ours; etcd: GET /version)",
  v3Put: `v3 put: 100-byte values over ${count(BASE_KEYS)} keys`,
  v3Range: "v3 range of 1 key, linearizable (the default)",
  v3Serializable: "v3 range of 1 key, serializable",
  v3Prefix: `v3 range of 100 keys (a prefix holding 100 of the ${count(BASE_KEYS)}), linearizable`,
  v3Cas: "v3 compare-and-swap on one key (txn: compare mod_revision, put on success, range on failure)",
  v3Keyspace: `v3 keyspace size: range of 10 keys (linearizable, ${SCALE_CLIENTS} clients) as the keyspace grows`,
  v3LeaseGrant: "v3 lease grant (TTL 60 s; every lease revoked after the row, 64 in flight)",
  v3LeaseKeepAlive: "v3 lease keep-alive: one per POST /v3/lease/keepalive (a stream of one request), each client on a lease of its own",
  v3LeaseKeepAliveWs: "v3 lease keep-alive on a held stream: one WebSocket to /v3/lease/keepalive per client, one keep-alive at a time",
  watchers: "Watchers: N long polls on one directory, one write",
  v3WatchShared: `v3 watch fan-out, multiplexed: N watches on one key over 1 WebSocket (/v3/watch), ${V3_WATCH_WRITES} puts one at a time`,
  v3WatchPosts: `v3 watch fan-out, a stream each: N watches on one key over N POST /v3/watch streams, ${V3_WATCH_WRITES} puts one at a time`,
  v3WatchSockets: `v3 watch fan-out, a stream each: N watches on one key over N WebSockets (/v3/watch), ${V3_WATCH_WRITES} puts one at a time`,
  distance: `Member distance: v2 writes at 1 and ${SCALE_CLIENTS} clients, each call between replicas delayed by PEER_DELAY_MS (a stand-in for members in different regions; a fresh ours per delay)`,
  grpcFront: "gRPC front at rest: ours' npm start Node process (scripts/serve.ts: the gRPC front and Miniflare's Node side) over 1 idle second, before and after the gRPC rows",
  grpcPut: `gRPC put: 100-byte values over ${count(BASE_KEYS)} keys (${grpcChannels()})`,
  grpcRange: `gRPC range of 1 key, linearizable (${grpcChannels()})`,
  grpcTxn: `gRPC compare-and-swap on one key (Txn: compare mod_revision, put on success, range on failure; ${grpcChannels()})`,
  grpcWatch: `gRPC watch fan-out, multiplexed: N watches on one key over 1 Watch stream (1 channel), ${V3_WATCH_WRITES} puts one at a time (KV.Put on a 2nd channel)`,
  grpcWatchStreams: `gRPC watch fan-out: N watches on one key, a Watch stream per ${count(GRPC_WATCHES_PER_STREAM)} watches (all on 1 channel), ${V3_WATCH_WRITES} puts one at a time (KV.Put on a 2nd channel)`,
};

/** How the unary gRPC rows' clients reach the server, for their titles. */
function grpcChannels(): string {
  if (GRPC_CHANNELS === 1) return "every client on 1 shared channel, i.e. 1 HTTP/2 connection, as one etcd client object";
  return `clients spread over ${GRPC_CHANNELS} channels (HTTP/2 connections; fewer with fewer clients), round-robin`;
}
const ORDER: string[] = Object.values(SECTION);
type Section = keyof typeof SECTION;

/** BENCH_ONLY: the sections to run (all when unset). */
const only: Set<Section> | undefined = (() => {
  const v = process.env.BENCH_ONLY?.trim();
  if (!v) return undefined;
  const keys = v.split(",").map((k) => k.trim()).filter(Boolean);
  const unknown = keys.filter((k) => !(k in SECTION));
  if (unknown.length) throw new Error(`BENCH_ONLY: unknown section ${unknown.join(", ")}; known: ${Object.keys(SECTION).join(", ")}`);
  return new Set(keys as Section[]);
})();
const runs = (...keys: Section[]) => !only || keys.some((k) => only.has(k));

const rows: Row[] = [];
const benchStarted = Date.now();
let rowsDone = 0;

/**
 * Keeps a row's result for the report, and says that it is done, with its
 * figures and how far the run has come (a full run takes half an hour): on
 * stderr, so that stdout stays the run's outline and its final table.
 */
function record(section: string, label: string, target: string, r: RowResult): void {
  let row = rows.find((x) => x.section === section && x.label === label);
  if (!row) {
    row = { section, label, results: new Map() };
    rows.push(row);
  }
  row.results.set(target, r);
  const m = r.metrics;
  const show = Object.entries(m)
    .map(([k, v]) => `${k} ${Number.isNaN(v) ? "n/a" : v.toFixed(v >= 100 ? 0 : 2)}`)
    .join(", ");
  rowsDone++;
  const elapsed = Math.round((Date.now() - benchStarted) / 1000);
  const clock = `${Math.floor(elapsed / 60)}:${String(elapsed % 60).padStart(2, "0")}`;
  console.error(`  [${clock}, row ${rowsDone}] ${target.padEnd(6)} ${section} / ${label}: ${show}${r.note ? `  [${r.note}]` : ""}`);
}

const populateLabel = (api: Api, what: string) => `${what} (${api.batch > 1 ? `txns of ${api.batch} puts, ` : ""}${POPULATE_IN_FLIGHT} in flight)`;

/**
 * Grows the keyspace through `keyCounts`, populating before each step (within
 * the budget), and records `measure` at each count in `section`.
 */
async function growing(t: Target, rss: RssSampler, api: Api, section: string, keyCounts: number[], measure: (keys: number) => Promise<[string, RowResult][]>): Promise<void> {
  let have = BASE_KEYS;
  for (const k of keyCounts) {
    if (k > have) {
      const p = await populate(t, rss, api, have, k, populateMs, POPULATE_IN_FLIGHT);
      record(section, populateLabel(api, `populate to ${count(k)} keys`), t.name, p);
      have = p.reached;
    }
    const keys = Math.min(k, have);
    for (const [label, r] of await measure(keys)) record(section, `${label}, ${count(k)} keys`, t.name, { ...r, metrics: { keys, ...r.metrics } });
  }
}

/** The floor row, with the target to itself. */
async function benchFloor(t: Target, column: string, path: string): Promise<void> {
  const rss = new RssSampler(() => t.serverPids());
  try {
    for (const c of CLIENTS) record(SECTION.floor, `${c} clients`, column, await floor(t, rss, c, path, settings));
  } finally {
    rss.stop();
  }
}

async function benchTarget(t: Target): Promise<void> {
  const rss = new RssSampler(() => t.serverPids());
  const name = t.name;
  try {
    // The rows over the Setup keys need them written first.
    if (runs("setup", "writes", "reads", "quorumReads", "scale")) {
      record(SECTION.setup, populateLabel(v2, `populate ${count(BASE_KEYS)} v2 keys`), name, await populate(t, rss, v2, 0, BASE_KEYS, 600_000, POPULATE_IN_FLIGHT));
    }
    if (runs("writes")) for (const c of CLIENTS) record(SECTION.writes, `${c} clients`, name, await writes(t, rss, v2, c, BASE_KEYS, settings));
    if (runs("reads")) for (const c of CLIENTS) record(SECTION.reads, `${c} clients`, name, await reads(t, rss, v2, c, BASE_KEYS, false, settings));
    if (runs("quorumReads")) for (const c of CLIENTS) record(SECTION.quorumReads, `${c} clients`, name, await reads(t, rss, v2, c, BASE_KEYS, true, settings));
    if (runs("cas")) for (const c of CLIENTS) record(SECTION.cas, `${c} clients`, name, await cas(t, rss, v2, c, settings));
    if (runs("scale")) {
      await growing(t, rss, v2, SECTION.scale, KEY_COUNTS, async (keys) => [
        ["read", await reads(t, rss, v2, SCALE_CLIENTS, keys, false, settings)],
        ["write", await writes(t, rss, v2, SCALE_CLIENTS, keys, settings)],
      ]);
    }
    if (runs("setup", "v3Put", "v3Range", "v3Serializable", "v3Prefix", "v3Keyspace", "grpcRange")) {
      record(SECTION.setup, populateLabel(v3, `populate ${count(BASE_KEYS)} v3 keys`), name, await populate(t, rss, v3, 0, BASE_KEYS, 600_000, POPULATE_IN_FLIGHT));
    }
    if (runs("v3Put")) for (const c of V3_CLIENTS) record(SECTION.v3Put, `${c} clients`, name, await writes(t, rss, v3, c, BASE_KEYS, settings));
    if (runs("v3Range")) for (const c of V3_CLIENTS) record(SECTION.v3Range, `${c} clients`, name, await reads(t, rss, v3, c, BASE_KEYS, true, settings));
    if (runs("v3Serializable")) for (const c of V3_CLIENTS) record(SECTION.v3Serializable, `${c} clients`, name, await reads(t, rss, v3, c, BASE_KEYS, false, settings));
    if (runs("v3Prefix")) for (const c of V3_CLIENTS) record(SECTION.v3Prefix, `${c} clients`, name, await reads(t, rss, v3, c, BASE_KEYS, true, settings, 100));
    if (runs("v3Cas")) for (const c of V3_CLIENTS) record(SECTION.v3Cas, `${c} clients`, name, await cas(t, rss, v3, c, settings));
    // Before the keyspace grows, as the other fixed-size v3 rows; each row
    // revokes what it granted, so no lease outlives it.
    if (runs("v3LeaseGrant")) for (const c of V3_CLIENTS) record(SECTION.v3LeaseGrant, `${c} clients`, name, await leaseGrants(t, rss, c, settings));
    if (runs("v3LeaseKeepAlive")) for (const c of V3_CLIENTS) record(SECTION.v3LeaseKeepAlive, `${c} clients`, name, await leaseKeepAlives(t, rss, c, settings));
    if (runs("v3LeaseKeepAliveWs")) for (const c of V3_CLIENTS) record(SECTION.v3LeaseKeepAliveWs, `${c} clients`, name, await leaseKeepAlivesWs(t, rss, c, settings));
    // gRPC (etcd's port; ours' front), also over the Setup keys, before the keyspace grows.
    if (t.grpcPort !== undefined) {
      if (t.frontPids().length > 0 && runs("grpcFront", "grpcPut", "grpcRange", "grpcTxn", "grpcWatch", "grpcWatchStreams")) record(SECTION.grpcFront, "before the gRPC rows", name, await frontAtRest(t));
      if (runs("grpcPut")) for (const c of V3_CLIENTS) record(SECTION.grpcPut, `${c} clients`, name, await grpcPuts(t, rss, c, BASE_KEYS, grpcSettings));
      if (runs("grpcRange")) for (const c of V3_CLIENTS) record(SECTION.grpcRange, `${c} clients`, name, await grpcRanges(t, rss, c, BASE_KEYS, grpcSettings));
      if (runs("grpcTxn")) for (const c of V3_CLIENTS) record(SECTION.grpcTxn, `${c} clients`, name, await grpcCas(t, rss, c, grpcSettings));
    }
    if (runs("v3Keyspace")) {
      await growing(t, rss, v3, SECTION.v3Keyspace, V3_KEY_COUNTS, async (keys) => [["range of 10 keys", await reads(t, rss, v3, SCALE_CLIENTS, keys, true, settings, 10)]]);
    }
    // Last: a target that cannot hold 10,000 watchers may fall over, and
    // must not spoil the other rows. One socket per watch (N streams) is the
    // heaviest, so it goes last of all.
    let round = 0;
    if (runs("watchers")) for (const n of WATCHERS) record(SECTION.watchers, `${count(n)} watchers`, name, await watchers(t, rss, n, round++));
    // Every v3 row at 1,000 before any at 10,000, and one socket per watch
    // after one socket for all: the last rows are the likeliest to fail.
    for (const n of V3_WATCHERS) {
      if (runs("v3WatchShared")) record(SECTION.v3WatchShared, `${count(n)} watches`, name, await v3Watchers(t, rss, n, 1, "ws", round++));
      if (runs("v3WatchPosts")) record(SECTION.v3WatchPosts, `${count(n)} watches`, name, await v3Watchers(t, rss, n, n, "post", round++));
      if (runs("v3WatchSockets")) record(SECTION.v3WatchSockets, `${count(n)} watches`, name, await v3Watchers(t, rss, n, n, "ws", round++));
    }
    // The gRPC fan-out last of all: ours' front runs in the process that
    // also runs Miniflare, so if it falls over, nothing after it would run.
    if (t.grpcPort !== undefined) {
      for (const n of V3_WATCHERS) {
        if (runs("grpcWatch")) record(SECTION.grpcWatch, `${count(n)} watches`, name, await grpcWatchers(t, rss, n, n, round++));
        if (runs("grpcWatchStreams")) record(SECTION.grpcWatchStreams, `${count(n)} watches`, name, await grpcWatchers(t, rss, n, GRPC_WATCHES_PER_STREAM, round++));
      }
      // Its memory after them: what it kept (or has not given back yet).
      if (t.frontPids().length > 0 && runs("grpcFront", "grpcPut", "grpcRange", "grpcTxn", "grpcWatch", "grpcWatchStreams")) record(SECTION.grpcFront, "after the gRPC rows", name, await frontAtRest(t));
    }
  } finally {
    rss.stop();
  }
}

/**
 * Commit latency as a function of member distance: one server per delay,
 * since the delay is a setting of the replicas. A write commits once the
 * leader has one follower's acknowledgement, so it costs at least one round
 * trip (two delays) more than at 0.
 */
async function benchDistance(): Promise<void> {
  for (const delay of PEER_DELAYS) {
    await withTarget(`ours, PEER_DELAY_MS=${delay}`, () => startOurs([`PEER_DELAY_MS:${delay}`]), async (t) => {
      const rss = new RssSampler(() => t.serverPids());
      try {
        for (const c of [1, SCALE_CLIENTS]) record(SECTION.distance, `${delay} ms per call, ${c} clients`, "ours", await writes(t, rss, v2, c, BASE_KEYS, settings));
      } finally {
        rss.stop();
      }
    });
  }
}

/** Starts a target, runs `use` on it, and stops it whatever happens. */
async function withTarget(name: string, start: () => Promise<Target>, use: (t: Target) => Promise<void>): Promise<void> {
  console.log(`\n== ${name}: starting`);
  const t = await start();
  const front = t.frontPids();
  console.log(`== ${name}: up on ${t.host}:${t.port}${t.grpcPort !== undefined ? `, gRPC on ${t.grpcPort}` : ""}, server pids ${t.serverPids().join(",") || "(none found)"}${front.length ? `, front pid ${front.join(",")}` : ""}`);
  try {
    await use(t);
  } finally {
    await t.stop();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const loads: string[] = [];
  const source = sourceDescription();
  console.log(`bench: ${quick ? "quick mode, " : ""}${seconds} s per row after ${settings.warmupMs} ms warm-up; targets ${wanted.join(", ")}${only ? `; sections ${[...only].join(", ")}` : ""}`);
  const starters: Record<string, () => Promise<Target>> = { ours: startOurs, "etcd-1": () => startEtcd(1), "etcd-3": () => startEtcd(3) };
  for (const name of TARGETS) {
    if (!wanted.includes(name)) continue;
    const load = fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
    loads.push(`${name} ${load}`);
    console.log(`\n== ${name}: load average ${load}`);
    // Ours' floor is a Worker of its own, measured before ours starts so that
    // it has the machine to itself; etcd's is its cheapest request.
    if (name === "ours" && runs("floor")) await withTarget("floor", startFloor, (f) => benchFloor(f, name, "/"));
    await withTarget(name, starters[name], async (t) => {
      if (name !== "ours" && runs("floor")) await benchFloor(t, name, "/version");
      await benchTarget(t);
    });
    if (name === "ours" && runs("distance")) await benchDistance();
  }
  rows.sort((a, b) => ORDER.indexOf(a.section) - ORDER.indexOf(b.section));
  const tbl = table(rows);
  const minutes = (Date.now() - started) / 60_000;
  console.log(`\n${tbl}\n`);
  const doc = document({ date: new Date().toISOString().replace(/\.\d+Z$/, "Z"), mode: `${quick ? "BENCH_QUICK=1" : `full, ${seconds} s per row`}${only ? `, BENCH_ONLY=${[...only].join(",")}` : ""}`, env: `${environment()}\n- ours: ${source}\n- load average (1/5/15 min) as each target started: ${loads.join("; ")}`, table: tbl, minutes });
  fs.writeFileSync(out, doc);
  console.log(`wrote ${path.relative(process.cwd(), out) || out} (${minutes.toFixed(1)} min)`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
