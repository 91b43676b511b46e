// `npm run bench`: the same closed-loop workloads against our Worker as
// `npm start` serves it, etcd 3.4 as 1 member and etcd 3.4 as 3 members, one target
// at a time, then a side-by-side markdown table printed and written to
// BENCHMARKS.md.
//
// Environment:
//   BENCH_SECONDS=5        measured seconds per row (after a warm-up)
//   BENCH_QUICK=1          smoke run: 1 s rows, no 100,000-key rows
//   BENCH_POPULATE_SECONDS=90          cap on each key-count populate step
//   BENCH_REF=HEAD         serve our Worker from this commit (default: a copy of the working tree)
//   BENCH_KEEP_LOGS=dir    keep each server's log in this dir (relative to the repo)
//   BENCH_TARGETS=ours,etcd-1,etcd-3   a subset of the targets
//   BENCH_OUT=BENCHMARKS.md            where the report goes (relative to the repo)
import * as path from "node:path";
import * as fs from "node:fs";
import { RssSampler } from "./load.ts";
import { TARGETS, document, environment, table, type Row } from "./report.ts";
import { repoRoot } from "../support/processes.ts";
import { sourceDescription, startEtcd, startOurs, type Target } from "./targets.ts";
import { cas, populate, reads, watchers, writes, type RowResult, type Settings } from "./workloads.ts";

const quick = process.env.BENCH_QUICK === "1";
const seconds = Number(process.env.BENCH_SECONDS ?? (quick ? 1 : 5));
const settings: Settings = { warmupMs: quick ? 300 : 1000, measureMs: seconds * 1000 };
const CLIENTS = [1, 16, 64, 256];
const WATCHERS = [100, 1000, 10_000];
const KEY_COUNTS = quick ? [1000, 10_000] : [1000, 10_000, 100_000];
const SCALE_CLIENTS = 16;
const populateMs = Number(process.env.BENCH_POPULATE_SECONDS ?? (quick ? 15 : 90)) * 1000;
const SCALE = "Key count: reads and writes as the directory grows (16 clients)";
const wanted = (process.env.BENCH_TARGETS ?? TARGETS.join(",")).split(",").map((s) => s.trim());
const out = path.resolve(repoRoot, process.env.BENCH_OUT ?? "BENCHMARKS.md");

const rows: Row[] = [];
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
  console.log(`  ${target.padEnd(6)} ${section} / ${label}: ${show}${r.note ? `  [${r.note}]` : ""}`);
}

async function benchTarget(t: Target): Promise<void> {
  const rss = new RssSampler(() => t.serverPids());
  const name = t.name;
  try {
    record("Setup", "populate 1,000 keys (64 in flight)", name, await populate(t, rss, 0, 1000, 600_000));
    for (const c of CLIENTS) record("Writes: PUT 100-byte values over 1,000 keys", `${c} clients`, name, await writes(t, rss, c, 1000, settings));
    for (const c of CLIENTS) record("Reads (default)", `${c} clients`, name, await reads(t, rss, c, 1000, false, settings));
    for (const c of CLIENTS) record("Reads (quorum=true)", `${c} clients`, name, await reads(t, rss, c, 1000, true, settings));
    for (const c of CLIENTS) record("Compare-and-swap on one key (GET, then PUT ?prevIndex)", `${c} clients`, name, await cas(t, rss, c, settings));
    let have = 1000;
    for (const k of KEY_COUNTS) {
      if (k > have) {
        const p = await populate(t, rss, have, k, populateMs);
        record(SCALE, `populate to ${k.toLocaleString("en-US")} keys (64 in flight)`, name, p);
        have = p.reached;
      }
      const label = `${k.toLocaleString("en-US")} keys`;
      const keys = Math.min(k, have);
      const withKeys = (r: RowResult): RowResult => ({ ...r, metrics: { keys, ...r.metrics } });
      record(SCALE, `read, ${label}`, name, withKeys(await reads(t, rss, SCALE_CLIENTS, keys, false, settings)));
      record(SCALE, `write, ${label}`, name, withKeys(await writes(t, rss, SCALE_CLIENTS, keys, settings)));
    }
    // Last: a target that cannot hold 10,000 watchers may fall over, and
    // must not spoil the other rows.
    let round = 0;
    for (const n of WATCHERS) record("Watchers: N long polls on one directory, one write", `${n.toLocaleString("en-US")} watchers`, name, await watchers(t, rss, n, round++));
  } finally {
    rss.stop();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const loads: string[] = [];
  const source = sourceDescription();
  console.log(`bench: ${quick ? "quick mode, " : ""}${seconds} s per row after ${settings.warmupMs} ms warm-up; targets ${wanted.join(", ")}`);
  const starters: Record<string, () => Promise<Target>> = { ours: startOurs, "etcd-1": () => startEtcd(1), "etcd-3": () => startEtcd(3) };
  for (const name of TARGETS) {
    if (!wanted.includes(name)) continue;
    const load = fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
    loads.push(`${name} ${load}`);
    console.log(`\n== ${name}: starting (load average ${load})`);
    const t = await starters[name]();
    const pids = t.serverPids();
    console.log(`== ${name}: up on ${t.host}:${t.port}, server pids ${pids.join(",") || "(none found)"}`);
    try {
      await benchTarget(t);
    } finally {
      await t.stop();
    }
  }
  const tbl = table(rows);
  const minutes = (Date.now() - started) / 60_000;
  console.log(`\n${tbl}\n`);
  const doc = document({ date: new Date().toISOString().replace(/\.\d+Z$/, "Z"), mode: quick ? "BENCH_QUICK=1" : `full, ${seconds} s per row`, env: `${environment()}\n- ours: ${source}\n- load average (1/5/15 min) as each target started: ${loads.join("; ")}`, table: tbl, minutes });
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
