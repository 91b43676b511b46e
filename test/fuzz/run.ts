// `npm run fuzz`: malformed and random requests to every endpoint of the v2
// API, the v3 JSON gateway and the discovery service, against our Worker as
// `npm start` serves it, for a bounded time and count. It fails when an
// answer is a 5xx that etcd does not give (oracle.ts), is not the JSON it
// says it is, or does not come within the bound; when a replica restarted;
// when the workerd processes' memory passes its bound or keeps growing; or
// when a write acknowledged before or during the run does not read back.
//
// Environment:
//   FUZZ_SEED=n            the seed (printed at the start; the same seed sends the same requests)
//   FUZZ_SECONDS=120       how long requests are sent
//   FUZZ_MAX_REQUESTS=n    stop after this many requests (default 1,000,000)
//   FUZZ_CONCURRENCY=6     workers sending at once, each its own sequence of the seed
//   FUZZ_BOUND_MS=10000    an answer (a stream's headers) must come within this
//   FUZZ_MAX_RSS_MB=1024   bound on the workerd processes' memory
//   FUZZ_REPLAY=w:i        send only request i of worker w (as a failure prints it), and show its answer
//   FUZZ_URL=http://...    fuzz a server already running (FUZZ_PID: its process, for the memory check)
//   FUZZ_KEEP_LOG=dir      keep the server's log there (relative to the repo)
import { AckedWrites } from "./acked-writes.ts";
import { generate, type GenerateContext } from "./generate.ts";
import { memberStarts, MemorySampler, restarted } from "./health.ts";
import { judge } from "./oracle.ts";
import { readOptions, type Options } from "./options.ts";
import { FUZZ_CLUSTERS, threat } from "./protected.ts";
import { describe, Tally } from "./report.ts";
import { Rng } from "./rng.ts";
import { send } from "./send.ts";
import { startServer, type Target } from "./server.ts";

/** Acknowledged writes made before the run, and how often one more pair is made during it. */
const WRITES_BEFORE = 25;
const WRITE_EVERY_MS = 250;
/** The memory of the last third of the run may exceed the middle third's peak by at most this much. */
const GROWTH_ALLOWANCE = 1.25;
const GROWTH_SLACK_BYTES = 64 * 1024 * 1024;

const MB = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;

/** Each worker's own PRNG seed: a function of the run's seed and the worker's number only. */
const workerSeed = (seed: number, worker: number) => (seed ^ Math.imul(worker + 1, 0x9e3779b9)) >>> 0;

async function main(): Promise<number> {
  const o = readOptions();
  console.log(`fuzz: seed ${o.seed} (replay: FUZZ_SEED=${o.seed} npm run fuzz), ${o.seconds} s, at most ${o.maxRequests} requests, ${o.concurrency} workers, bound ${o.boundMs} ms`);
  const target = await startServer();
  try {
    const ctx = await prepare(target);
    return o.replay ? await replay(o, target, ctx) : await fuzz(o, target, ctx);
  } finally {
    await target.stop();
  }
}

/** A leader in the default cluster and in the fuzzer's named ones, and a few discovery tokens. */
async function prepare(target: Target): Promise<GenerateContext> {
  for (const name of FUZZ_CLUSTERS) {
    const res = await fetch(`${target.url}/clusters/${name}`, { method: "PUT" });
    if (res.status >= 300) throw new Error(`PUT /clusters/${name}: ${res.status} ${await res.text()}`);
  }
  for (const prefix of ["", ...FUZZ_CLUSTERS.map((n) => `/clusters/${n}`)]) await untilHealthy(`${target.url}${prefix}/health`);
  const tokens: string[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${target.url}/new?size=${i + 1}`);
    tokens.push(new URL(await res.text()).pathname.slice(1));
  }
  return { tokens };
}

async function untilHealthy(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await fetch(url).then((r) => r.status).catch(() => 0)) !== 200) {
    if (Date.now() > deadline) throw new Error(`${url} not healthy within 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function fuzz(o: Options, target: Target, ctx: GenerateContext): Promise<number> {
  const problems: string[] = [];
  const acked = new AckedWrites(target.url, `s${o.seed}`);
  await acked.writeMany(WRITES_BEFORE);
  const clusters = ["", ...FUZZ_CLUSTERS.map((n) => `/clusters/${n}`)];
  const startsBefore = await Promise.all(clusters.map((c) => memberStarts(target.url, c)));
  const memory = new MemorySampler(() => target.workerdPids());
  acked.startWriting(WRITE_EVERY_MS);

  const tally = new Tally();
  const started = Date.now();
  const deadline = started + o.seconds * 1000;
  let budget = o.maxRequests;
  const worker = async (w: number) => {
    const rng = new Rng(workerSeed(o.seed, w));
    for (let i = 0; Date.now() < deadline && budget > 0; i++) {
      const req = generate(rng, ctx);
      const unsafe = threat(req);
      if (unsafe) {
        tally.skip(unsafe);
        continue;
      }
      budget--;
      const answer = await send(target.host, target.port, req, o.boundMs, o.streamReadMs);
      tally.record(`${w}:${i}`, req, answer, judge(req, answer));
    }
  };
  const progress = setInterval(() => console.log(`fuzz: ${((Date.now() - started) / 1000).toFixed(0)} s, ${tally.sent} requests, ${tally.failures.length} failing, ${acked.acked.length} writes acknowledged, workerd ${MB(memory.samples.at(-1)?.bytes ?? 0)}`), 10_000);
  await Promise.all(Array.from({ length: o.concurrency }, (_, w) => worker(w)));
  clearInterval(progress);
  const seconds = (Date.now() - started) / 1000;
  await acked.stop();
  memory.stop();

  tally.print(seconds);
  if (tally.failures.length > 0) {
    tally.printFailures(o.seed);
    problems.push(`${tally.failures.length} failing answers`);
  }
  if (!target.alive()) problems.push("the server process exited");

  const startsAfter = await Promise.all(clusters.map((c) => memberStarts(target.url, c)));
  clusters.forEach((c, i) => {
    for (const r of restarted(startsBefore[i], startsAfter[i])) problems.push(`replica restarted or down in ${c || "the default cluster"}: ${r}`);
  });

  const lost = await acked.verify();
  console.log(`fuzz: ${acked.acked.length} acknowledged writes (${WRITES_BEFORE * 2} before the run), ${acked.unacknowledged} unacknowledged; ${lost.length} not read back`);
  for (const l of lost.slice(0, 20)) console.log(`  lost: ${l}`);
  if (lost.length > 0) problems.push(`${lost.length} acknowledged writes did not read back`);

  if (memory.samples.length > 0) {
    const peak = memory.peak();
    const middle = memory.peak(1 / 3, 2 / 3);
    const last = memory.peak(2 / 3, 1);
    console.log(`fuzz: workerd memory: ${MB(memory.samples[0].bytes)} at the start, peak ${MB(peak)}; peak of the middle third ${MB(middle)}, of the last third ${MB(last)} (bound ${MB(o.maxRssBytes)})`);
    if (peak > o.maxRssBytes) problems.push(`workerd memory peaked at ${MB(peak)}, over the bound of ${MB(o.maxRssBytes)}`);
    if (last > middle * GROWTH_ALLOWANCE + GROWTH_SLACK_BYTES) problems.push(`workerd memory kept growing: ${MB(middle)} in the middle third, ${MB(last)} in the last`);
  } else console.log("fuzz: no workerd process to watch (FUZZ_URL without FUZZ_PID): memory not checked");

  if (problems.length === 0) {
    console.log(`fuzz: passed (seed ${o.seed})`);
    return 0;
  }
  console.log(`\nfuzz: FAILED (seed ${o.seed}; replay: FUZZ_SEED=${o.seed} FUZZ_SECONDS=${o.seconds} npm run fuzz):`);
  for (const p of problems) console.log(`  - ${p}`);
  return 1;
}

/** Sends only request `index` of worker `worker`'s sequence (the ones before it are generated, not sent). */
async function replay(o: Options, target: Target, ctx: GenerateContext): Promise<number> {
  const { worker, index } = o.replay!;
  const rng = new Rng(workerSeed(o.seed, worker));
  for (let i = 0; i < index; i++) generate(rng, ctx);
  const req = generate(rng, ctx);
  console.log(`fuzz: request ${worker}:${index} of seed ${o.seed}: ${req.family}\n  ${describe(req)}`);
  const unsafe = threat(req);
  if (unsafe) {
    console.log(`fuzz: not sent, it could touch ${unsafe}`);
    return 0;
  }
  const answer = await send(target.host, target.port, req, o.boundMs, o.streamReadMs);
  const verdict = judge(req, answer);
  console.log(`  -> ${answer.status} in ${answer.ms} ms ${JSON.stringify(answer.headers)}\n  ${JSON.stringify(answer.body.slice(0, 2000))}`);
  console.log(verdict.ok ? "fuzz: the answer passes" : `fuzz: ${verdict.problem}`);
  return verdict.ok ? 0 : 1;
}

process.exitCode = await main();
