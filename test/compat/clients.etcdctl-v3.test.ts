// etcdctl 3.4 (Debian etcd-client) in v3 mode (ETCDCTL_API=3), driven
// against real etcd 3.4's gRPC API and against ours (the gRPC front `npm
// start` serves next to the HTTP API), side by side: every scenario runs the
// same commands on etcd, then on ours, and records a transcript of each
// command (its arguments, stdout, stderr, exit code); the two transcripts must
// be equal once what legitimately differs between two clusters is normalised:
//
//   revisions (JSON/fields output, "compacted revision N",
//   $ETCD_LOCK_REV / $ETCD_WATCH_REVISION)    -> base+N, an offset from the
//                                               revision read when the
//                                               scenario began
//   lease ids (hex, 16 digits or unpadded as in
//   lock/election keys, decimal in JSON)       -> <lease1>, <lease2>, ... in
//                                               order of first appearance
//   cluster_id, member_id, raft_term           -> <id>, <term>
//   "remaining(Ns)", "ttl":N                   -> within 5 s of the granted TTL
//   the endpoint itself, durations, the
//   client's log timestamps and uuids           -> placeholders
//
// What cannot be equal is checked for shape, per side: the member list and
// endpoint status/health (etcd's test instance has 1 member, ours
// CLUSTER_SIZE), and `lease list` (other files' leases are listed too).
//
// Keys live under a random prefix per scenario, the same on both sides (each
// side has its own keyspace), so the transcripts can show keys verbatim.
// Background commands (watch, lock, elect, lease keep-alive) are waited on
// for what they must print, with deadlines; the only fixed pauses are the
// 700 ms in which a queued lock or election contender must NOT get through.
//
// Known differences, each in an it.fails that asserts etcd's behaviour (see
// there): Maintenance calls to a URL endpoint (`endpoint status --cluster`,
// `defrag --cluster`, `--endpoints=http://...`) are reset by the front's
// HTTP/2 server; values from ~1.48 MB to 1.5 MiB are refused as too large.
// Not covered: auth, snapshot, hashkv, move-leader (the front answers
// Unimplemented), and `lease("key")` compares in `txn` (etcdctl 3.4 itself
// panics parsing them, against either server).
import { spawn, type ChildProcess } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { CLUSTER_SIZE } from "./harness/clusters";
import { targets } from "./harness/compare";

const t = targets();

interface Side {
  label: "etcd" | "ours";
  /** host:port of its gRPC API. */
  ep: string;
  members: number;
}

const SIDES: Side[] = [
  { label: "etcd", ep: t.etcdGrpc, members: 1 },
  { label: "ours", ep: t.oursGrpc, members: t.oursKind === "worker" ? CLUSTER_SIZE : 1 },
];

const ENV = { ETCDCTL_API: "3" };
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const b64 = (s: string) => Buffer.from(s).toString("base64");
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
/** Arguments as a shell would need them written. */
const shown = (args: string[]) => args.map((a) => (a === "" || /[\s"'\\$;&|<>]/.test(a) ? JSON.stringify(a) : a)).join(" ");
const indent = (s: string) => s.replace(/\n$/, "").split("\n").map((l) => `    ${l}`).join("\n");

// ------------------------------------------------------------- processes

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running etcdctl: output so far, and how it ended. */
class Proc {
  stdout = "";
  stderr = "";
  ended: Result | null = null;
  readonly done: Promise<Result>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on("data", (c: Buffer) => (this.stdout += c.toString("utf8")));
    child.stderr?.on("data", (c: Buffer) => (this.stderr += c.toString("utf8")));
    // Resolved once it has exited and its pipes are drained (or 2 s after
    // exiting, should a grandchild still hold them).
    const drained = Promise.all([child.stdout, child.stderr].map((s) => (s ? new Promise((r) => s.on("end", r)) : undefined)));
    this.done = new Promise((resolve) => {
      child.on("error", (e) => resolve((this.ended = { code: -1, signal: null, stdout: this.stdout, stderr: this.stderr + String(e) })));
      child.on("exit", (code, signal) => {
        void Promise.race([drained, pause(2000)]).then(() => resolve((this.ended = { code, signal: signal as NodeJS.Signals | null, stdout: this.stdout, stderr: this.stderr })));
      });
    });
  }

  /** Waits until `pred` holds of the output so far (polled), or throws after `ms`. */
  async waitFor(what: string, pred: (stdout: string) => boolean, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this.stdout)) {
      if (this.ended) {
        // Exited: its output is complete, one last look.
        if (pred(this.stdout)) return;
        throw new Error(`waiting for ${what}: etcdctl exited (${this.ended.code ?? this.ended.signal}) with stdout ${JSON.stringify(this.stdout)} stderr ${JSON.stringify(this.stderr)}`);
      }
      if (Date.now() > deadline) throw new Error(`waiting for ${what}: not there after ${ms} ms; stdout ${JSON.stringify(this.stdout)} stderr ${JSON.stringify(this.stderr)}`);
      await pause(50);
    }
  }

  /** Waits for the process to end by itself, within `ms`. */
  async exit(what: string, ms = 15_000): Promise<Result> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_r, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: still running after ${ms} ms; stdout ${JSON.stringify(this.stdout)} stderr ${JSON.stringify(this.stderr)}`)), ms);
    });
    try {
      return await Promise.race([this.done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a signal to etcdctl itself (lock and elect release on SIGINT/SIGTERM). */
  signal(sig: NodeJS.Signals): void {
    if (this.child.pid !== undefined && !this.ended) process.kill(this.child.pid, sig);
  }
}

/** Every etcdctl started and not yet ended; killed (with its process group) after each test. */
const live = new Set<Proc>();

function spawnCtl(ep: string, args: string[], input?: string): Proc {
  // A generous --command-timeout (default 5 s): a slow machine must not turn into an error text.
  const child = spawn("etcdctl", [`--endpoints=${ep}`, "--command-timeout=20s", ...args], {
    env: { ...process.env, ...ENV },
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    detached: true,
  });
  if (input !== undefined) child.stdin?.end(input);
  const p = new Proc(child);
  live.add(p);
  void p.done.then(() => live.delete(p));
  return p;
}

function killAll(): void {
  for (const p of live) {
    if (p.child.pid === undefined) continue;
    try {
      process.kill(-p.child.pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  live.clear();
}

afterEach(killAll);

// --------------------------------------------------------- normalisation

/** One side of one scenario: runs etcdctl against it and keeps the transcript. */
class Ctl {
  base = 0;
  readonly log: string[] = [];
  private readonly leases: bigint[] = [];
  private readonly leaseKeyNames: string[] = [];

  constructor(
    readonly side: Side,
    readonly p: string,
  ) {}

  /** The side's current revision (from a read of a key nobody writes). */
  async revision(): Promise<number> {
    const r = await this.exec(["get", "~ctl3-revision-probe", "-w", "json"]);
    const m = /"revision":(\d+)/.exec(r.stdout);
    if (r.code !== 0 || !m) throw new Error(`${this.side.label}: cannot read the revision: ${JSON.stringify(r)}`);
    return Number(m[1]);
  }

  /** Makes the current revision the scenario's base: revisions print as base+N from here on. */
  async rebase(): Promise<void> {
    this.base = await this.revision();
  }

  /** Scenario text to this side's: {p} = the key prefix, {rev:N} = base+N. */
  resolve(s: string): string {
    return s.replaceAll("{p}", this.p).replace(/\{rev:(-?\d+)\}/g, (_m, n: string) => String(this.base + Number(n)));
  }

  bg(args: string[], input?: string): Proc {
    return spawnCtl(this.side.ep, args.map((a) => this.resolve(a)), input === undefined ? undefined : this.resolve(input));
  }

  /** Runs etcdctl to the end (not recorded). */
  async exec(args: string[], input?: string, ms = 30_000): Promise<Result> {
    return this.bg(args, input).exit(`etcdctl ${args.join(" ")}`, ms);
  }

  /** Runs etcdctl to the end and records the command and what it printed. */
  async step(args: string[], input?: string): Promise<Result> {
    const r = await this.exec(args, input);
    this.record(`$ etcdctl ${shown(args)}${input === undefined ? "" : input.length > 200 ? ` < (${input.length} bytes)` : ` <<< ${JSON.stringify(input)}`}`, r);
    return r;
  }

  /** Records the output of a command that ran in the background. */
  record(title: string, r: { code?: number | null; signal?: NodeJS.Signals | null; stdout: string; stderr: string }): void {
    this.learn(r.stdout + r.stderr);
    const parts = [this.norm(title)];
    parts.push(r.stdout === "" ? "  stdout: (empty)" : `  stdout:\n${indent(this.norm(r.stdout))}`);
    if (r.stderr !== "") parts.push(`  stderr:\n${indent(this.norm(r.stderr))}`);
    if (r.code !== undefined || r.signal !== undefined) parts.push(`  exit: ${r.code ?? r.signal}`);
    this.log.push(parts.join("\n"));
  }

  /** Records a fact (normalised like output). */
  note(s: string): void {
    this.log.push(this.norm(s));
  }

  /** Lock and election keys under `name` end in their session's lease id (unpadded hex). */
  leaseKeysUnder(name: string): void {
    this.leaseKeyNames.push(this.resolve(name));
  }

  /** A lease id printed by `lease grant`. */
  leaseOf(r: Result): string {
    const m = /^lease ([0-9a-f]{16}) granted with TTL\(\d+s\)$/m.exec(r.stdout);
    if (!m) throw new Error(`${this.side.label}: no lease in ${JSON.stringify(r)}`);
    return m[1];
  }

  private learn(text: string): void {
    const found: string[] = [];
    for (const m of text.matchAll(/\blease ([0-9a-f]{16}) granted\b/g)) found.push(m[1]);
    for (const name of this.leaseKeyNames) {
      for (const m of text.matchAll(new RegExp(`${escapeRe(name)}([0-9a-f]{1,16})(?![0-9a-f])`, "g"))) found.push(m[1]);
    }
    for (const hex of found) {
      const id = BigInt(`0x${hex}`);
      if (!this.leases.includes(id)) this.leases.push(id);
    }
  }

  norm(text: string): string {
    let s = text.replaceAll(this.side.ep, "<endpoint>");
    this.leases.forEach((id, i) => {
      const name = `<lease${i + 1}>`;
      const hex = id.toString(16);
      s = s
        .replace(new RegExp(`(?<![0-9a-f])0*${hex}(?![0-9a-f])`, "g"), name)
        .replace(new RegExp(`(?<!\\d)${id.toString(10)}(?!\\d)`, "g"), name);
    });
    const offset = (n: string) => {
      const v = Number(n);
      if (v === 0) return "0";
      const d = v - this.base;
      return d === 0 ? "base" : d > 0 ? `base+${d}` : `base${d}`;
    };
    return (
      s
        // Revisions: JSON and -w fields ("revision", "mod_revision", "CompactRevision", "ModRevision", ...).
        .replace(/("[A-Za-z_]*[Rr]evision"\s*:\s*)(\d+)/g, (_m, k: string, n: string) => k + offset(n))
        .replace(/\b(compacted revision |rev=)(\d+)/g, (_m, k: string, n: string) => k + offset(n))
        .replace(/("(?:cluster_id|member_id|ClusterID|MemberID)"\s*:\s*)\d+/g, "$1<id>")
        .replace(/("(?:raft_term|RaftTerm)"\s*:\s*)\d+/g, "$1<term>")
        // Remaining TTLs count down: equal if within 5 s of the granted TTL.
        .replace(/TTL\((\d+)s\), remaining\((\d+)s\)/g, (m, g: string, r: string) =>
          Number(r) <= Number(g) && Number(r) >= Number(g) - 5 ? `TTL(${g}s), remaining(${g}s-<5s)` : m,
        )
        .replace(/"ttl":(\d+),"granted-ttl":(\d+)/g, (m, r: string, g: string) =>
          Number(r) <= Number(g) && Number(r) >= Number(g) - 5 ? `"ttl":${g}-<5,"granted-ttl":${g}` : m,
        )
        // etcd lists a lease's keys in no particular order (a Go map).
        .replace(/attached keys\(\[([^\]]*)\]\)/g, (_m, keys: string) => `attached keys([${keys.split(" ").sort().join(" ")}])`)
        .replace(/("keys":\[)([^\]]*)\]/g, (_m, k: string, keys: string) => `${k}${keys.split(",").sort().join(",")}]`)
        .replace(/took = [\d.]+(ns|µs|ms|s)\b/g, "took = <duration>")
        .replace(/"took":"[\d.]+(ns|µs|ms|s)"/g, '"took":"<duration>"')
        // The client's own log lines (retries it logs on stderr).
        .replace(/"ts":"[^"]*"/g, '"ts":"<ts>"')
        .replace(/client-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "client-<uuid>")
    );
  }
}

/**
 * Runs `scenario` on etcd, then on ours (one after the other: the machine may
 * have 2 cores), each with a fresh Ctl whose base is the side's revision at
 * the start, and compares the two transcripts.
 */
async function sameOnBoth(name: string, scenario: (c: Ctl) => Promise<void>): Promise<void> {
  const p = `/ctl3-${name}-${Math.random().toString(36).slice(2, 8)}/`;
  const logs: string[] = [];
  for (const side of SIDES) {
    const c = new Ctl(side, p);
    try {
      await c.rebase();
      await scenario(c);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new Error(`${side.label} (${side.ep}): ${msg}\n\ntranscript so far:\n${c.log.join("\n")}`);
    } finally {
      killAll();
      await c.exec(["del", "--prefix", p]).catch(() => undefined);
    }
    logs.push(c.log.join("\n"));
  }
  if (process.env.COMPAT_DEBUG) console.log(`--- ${name}: etcd\n${logs[0]}${logs[1] === logs[0] ? "\n--- ours: the same" : `\n--- ours\n${logs[1]}`}`);
  // Ours (received) against etcd (expected).
  expect(logs[1]).toBe(logs[0]);
}

// ------------------------------------------------------------------ tests

describe("etcdctl v3 against etcd and ours (gRPC)", () => {
  it("put, get (prefix, from-key, limit, sort, keys-only, rev, serializable, json, fields, hex), del (prefix, prev-kv, range)", async () => {
    await sameOnBoth("kv", async (c) => {
      await c.step(["put", "{p}a", "1"]);
      await c.step(["put", "{p}b", "2"]);
      await c.step(["put", "{p}c", "30"]);
      await c.step(["put", "{p}a", "10", "--prev-kv"]);
      await c.step(["put", "{p}d", "0", "-w", "json"]);
      await c.step(["put", "{p}e", "multi\nline value"]);
      await c.step(["get", "{p}a"]);
      await c.step(["get", "{p}a", "-w", "json"]);
      await c.step(["get", "{p}a", "-w", "fields"]);
      await c.step(["get", "{p}missing"]);
      await c.step(["get", "{p}missing", "-w", "json"]);
      await c.step(["get", "{p}", "--prefix"]);
      await c.step(["get", "{p}a", "{p}c"]);
      await c.step(["get", "{p}b", "--from-key", "--limit=2"]);
      await c.step(["get", "{p}", "--prefix", "--limit=2", "-w", "json"]);
      await c.step(["get", "{p}", "--prefix", "--sort-by=VALUE", "--order=DESCEND"]);
      await c.step(["get", "{p}", "--prefix", "--sort-by=MODIFY", "--keys-only"]);
      await c.step(["get", "{p}", "--prefix", "--sort-by=CREATE", "--order=DESCEND", "--print-value-only"]);
      await c.step(["get", "{p}", "--prefix", "--sort-by=VERSION", "--order=DESCEND", "--limit=1", "-w", "json"]);
      await c.step(["get", "{p}", "--prefix", "--order=DESCEND", "--keys-only"]);
      await c.step(["get", "{p}a", "--rev={rev:1}"]);
      await c.step(["get", "{p}", "--prefix", "--rev={rev:2}", "-w", "json"]);
      await c.step(["get", "{p}", "--prefix", "--consistency=s", "--keys-only"]);
      await c.step(["get", "{p}b", "--hex"]);
      await c.step(["get", "{p}a", "--rev={rev:1000000}"]);
      await c.step(["del", "{p}a"]);
      await c.step(["del", "{p}missing"]);
      await c.step(["del", "{p}b", "{p}d", "-w", "json"]);
      await c.step(["del", "{p}", "--prefix", "--prev-kv"]);
      await c.step(["get", "{p}", "--prefix", "-w", "json"]);
    });
  });

  it("txn from stdin: compares that hold and fail, every compare target, json output, the interactive prompts, malformed input", async () => {
    // The non-interactive format: compares, a blank line, success requests, a blank line, failure requests, a blank line.
    await sameOnBoth("txn", async (c) => {
      await c.step(["put", "{p}a", "1"]);
      await c.step(["txn"], 'value("{p}a") = "1"\n\nput {p}b "ok"\nget {p}a\n\nput {p}c "no"\n\n');
      await c.step(["txn", "-w", "json"], 'mod("{p}a") > "0"\nvalue("{p}a") = "2"\n\nput {p}b "x"\n\nput {p}c "fail"\ndel {p}a --prev-kv\n\n');
      await c.step(["txn", "-w", "json"], 'version("{p}zz") = "0"\ncreate("{p}c") < "{rev:1000}"\n\nget {p} --prefix\n\n\n');
      await c.step(["txn"], 'create("{p}b") = "{rev:2}"\nval("{p}b") != "ok"\n\nput {p}x 1\n\nget {p}b\nget {p}nothing\ndel {p}b\n\n');
      await c.step(["txn", "-i"], 'ver("{p}c") = "1"\n\nget {p}c --print-value-only\n\nget {p}c\n\n');
      await c.step(["txn"], "\n\n\n");
      await c.step(["txn"], "\nput {p}d 1\nput {p}d 2\n\n\n");
      await c.step(["txn"], "bogus\n\n");
      await c.step(["txn"], 'value("{p}a") = "1"\n\nget {p}a -w json\n\n');
      await c.step(["get", "{p}", "--prefix", "-w", "json"]);
    });
  });

  it("watch live: --prefix with --prev-kv, -w json, a key range; each revision's events together, a transaction's in one response", async () => {
    await sameOnBoth("watch", async (c) => {
      const watches = [
        { args: ["watch", "--prefix", "{p}w/", "--prev-kv"], proc: undefined as Proc | undefined, from: 0 },
        { args: ["watch", "--prefix", "{p}w/", "-w", "json"], proc: undefined as Proc | undefined, from: 0 },
        // [w/0, w/s): the readiness key, a, b, c; not w/t.
        { args: ["watch", "{p}w/0", "{p}w/s"], proc: undefined as Proc | undefined, from: 0 },
      ];
      for (const w of watches) w.proc = c.bg(w.args);
      // etcdctl prints nothing once its watch is created, so "watch, then
      // write" would race. Instead: write a readiness key (w/0ready, value
      // ready-K) and wait up to 1.5 s for every watcher to print that
      // value; if one has not, write it again with K+1. A watcher prints
      // events in revision order, so once all show ready-K, which is the
      // last readiness write, all are watching and nothing of the readiness
      // writes follows it: what each prints after ready-K is compared. The
      // readiness writes (their number varies) touch only w/0ready, and the
      // base revision is read after them.
      const shows = (w: (typeof watches)[number], k: number) => w.proc!.stdout.includes(w.args.includes("json") ? `"${b64(`ready-${k}`)}"` : `\nready-${k}\n`);
      const deadline = Date.now() + 30_000;
      let k = 0;
      for (;;) {
        k++;
        const put = await c.exec(["put", "{p}w/0ready", `ready-${k}`]);
        if (put.code !== 0) throw new Error(`readiness put: ${JSON.stringify(put)}`);
        const until = Date.now() + 1500;
        while (!watches.every((w) => shows(w, k)) && Date.now() < until) await pause(50);
        if (watches.every((w) => shows(w, k))) break;
        if (Date.now() > deadline) throw new Error(`the watchers never all printed a readiness write: ${watches.map((w) => JSON.stringify(w.proc!.stdout)).join(", ")}`);
      }
      for (const w of watches) {
        const out = w.proc!.stdout;
        if (w.args.includes("json")) {
          const line = out.split("\n").findIndex((l) => l.includes(`"${b64(`ready-${k}`)}"`));
          w.from = out.split("\n").slice(0, line + 1).join("\n").length + 1;
        } else {
          w.from = out.indexOf(`\nready-${k}\n`) + `\nready-${k}\n`.length;
        }
      }
      await c.rebase();
      await c.step(["put", "{p}w/a", "1"]);
      await c.step(["put", "{p}w/a", "2"]);
      await c.step(["del", "{p}w/a"]);
      await c.step(["put", "{p}w/b", "3"]);
      await c.step(["txn"], "\nput {p}w/c 4\ndel {p}w/b\nput {p}w/a 5\n\n\n");
      await c.step(["put", "{p}w/t", "outside the range"]);
      await c.step(["del", "{p}w/a", "{p}w/z", "--prev-kv"]);
      await c.step(["put", "{p}w/c", "last"]);
      for (const w of watches) {
        await w.proc!.waitFor(`etcdctl ${w.args.join(" ")} to print the last write`, (out) => out.includes(w.args.includes("json") ? `"${b64("last")}"` : "\nlast\n"));
        w.proc!.signal("SIGTERM");
        const r = await w.proc!.exit(`etcdctl ${w.args.join(" ")} after SIGTERM`);
        c.record(`$ etcdctl ${shown(w.args)} (in the background; what it printed after the readiness write)`, { stdout: r.stdout.slice(w.from), stderr: r.stderr });
      }
    });
  });

  it("watch history (--rev, json, --prev-kv, running a command per event), compaction, and a watch from a compacted revision", async () => {
    await sameOnBoth("history", async (c) => {
      await c.step(["put", "{p}h/a", "1"]);
      await c.step(["put", "{p}h/a", "2"]);
      await c.step(["del", "{p}h/a"]);
      await c.step(["put", "{p}h/b", "3"]);
      await c.step(["txn"], "\nput {p}h/a 4\nput {p}h/b last\n\n\n");
      const history = async (args: string[], lastWrite: string) => {
        const w = c.bg(args);
        await w.waitFor(`etcdctl ${args.join(" ")} to print the last write`, (out) => out.includes(lastWrite));
        w.signal("SIGTERM");
        const r = await w.exit(`etcdctl ${args.join(" ")} after SIGTERM`);
        c.record(`$ etcdctl ${shown(args)} (until it printed the last write)`, { stdout: r.stdout, stderr: r.stderr });
      };
      await history(["watch", "--rev={rev:1}", "--prefix", "{p}h/", "-w", "json"], `"${b64("last")}"`);
      await history(["watch", "--rev={rev:2}", "{p}h/a", "--prev-kv"], "\n4\n");
      await history(["watch", "--rev={rev:1}", "--prefix", "{p}h/", "--", "sh", "-c", 'echo "$ETCD_WATCH_EVENT_TYPE $ETCD_WATCH_KEY $ETCD_WATCH_VALUE rev=$ETCD_WATCH_REVISION"'], `/h/b" "last" rev=`);
      await c.step(["compaction", "{rev:3}"]);
      await c.step(["get", "{p}h/a", "--rev={rev:2}"]);
      await c.step(["get", "{p}h/a", "--rev={rev:3}"]);
      await c.step(["get", "{p}h/", "--prefix", "--rev={rev:4}"]);
      await c.step(["compaction", "{rev:3}"]);
      await c.step(["compaction", "--physical", "{rev:4}"]);
      await c.step(["compaction", "{rev:1000000}"]);
      // Canceled by the server: etcdctl prints why and exits by itself.
      await c.step(["watch", "--rev={rev:2}", "{p}h/a"]);
    });
  });

  it("leases: grant, put --lease, timetolive (--keys, json), list, keep-alive --once, a keep-alive stream ended by a revoke, revoke, errors", async () => {
    await sameOnBoth("lease", async (c) => {
      const l1 = c.leaseOf(await c.step(["lease", "grant", "60"]));
      const l2 = c.leaseOf(await c.step(["lease", "grant", "30"]));
      await c.step(["put", "{p}l/a", "1", `--lease=${l1}`]);
      await c.step(["put", "{p}l/b", "2", `--lease=${l1}`]);
      await c.step(["get", "{p}l/a", "-w", "json"]);
      await c.step(["lease", "timetolive", l1]);
      await c.step(["lease", "timetolive", "--keys", l1]);
      await c.step(["lease", "timetolive", "--keys", l1, "-w", "json"]);
      await c.step(["lease", "timetolive", l2, "-w", "json"]);
      // Leases of other files may still be alive: the list is checked for
      // shape and for ours, not compared.
      const list = await c.exec(["lease", "list"]);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stderr).toBe("");
      const lines = list.stdout.split("\n").slice(0, -1);
      expect(lines[0]).toBe(`found ${lines.length - 1} leases`);
      for (const l of lines.slice(1)) expect(l).toMatch(/^[0-9a-f]{16}$/);
      expect(lines.slice(1)).toEqual(expect.arrayContaining([l1, l2]));
      const listJson = await c.exec(["lease", "list", "-w", "json"]);
      expect(listJson.code).toBe(0);
      const ids = [...listJson.stdout.matchAll(/\{"id":(\d+)\}/g)].map((m) => BigInt(m[1]).toString(16).padStart(16, "0"));
      expect(ids.sort()).toEqual(lines.slice(1).sort());
      expect(c.norm(listJson.stdout)).toMatch(/^\{"cluster_id":<id>,"member_id":<id>,"revision":base\+\d+,"raft_term":<term>,"leases":\[(\{"id":[^}]+\},?)+\]\}\n$/);
      c.note(`lease list and lease list -w json: "found N leases", one id a line, ${l1} and ${l2} among them`);
      await c.step(["lease", "keep-alive", "--once", l1]);
      await c.step(["lease", "keep-alive", "--once", l1, "-w", "json"]);
      await c.step(["lease", "revoke", l2]);
      await c.step(["lease", "revoke", l1]);
      await c.step(["get", "{p}l/", "--prefix"]);
      await c.step(["lease", "timetolive", "--keys", l1]);
      await c.step(["lease", "revoke", l1]);
      await c.step(["lease", "keep-alive", "--once", l1]);
      await c.step(["put", "{p}l/c", "3", `--lease=${l1}`]);
      await c.step(["put", "{p}l/c", "3", "--lease=1234abcd"]);
      await c.step(["lease", "timetolive", "123"]);
      // A TTL below etcd's minimum is raised to it (no keys: its expiry writes nothing).
      c.leaseOf(await c.step(["lease", "grant", "1"]));

      // `lease keep-alive` (no --once): one "keepalived" line per answer,
      // every TTL/3 s; revoking the lease ends it. How many lines come before
      // the revoke lands depends on timing, so repeated lines are collapsed.
      const l3 = c.leaseOf(await c.step(["lease", "grant", "6"]));
      const ka = c.bg(["lease", "keep-alive", l3]);
      await ka.waitFor("the first keep-alive answer", (out) => out.includes("keepalived"));
      await c.step(["lease", "revoke", l3]);
      const r = await ka.exit("lease keep-alive after its lease was revoked", 20_000);
      const collapsed = r.stdout
        .split("\n")
        .filter((l, i, all) => i === 0 || l !== all[i - 1])
        .join("\n");
      c.record(`$ etcdctl lease keep-alive ${l3} (in the background; repeated lines collapsed)`, { ...r, stdout: collapsed });
      await c.step(["get", "{p}l/", "--prefix", "-w", "json"]);

      // A lease left to expire takes its key with it: one delete, at the
      // next revision (nothing else is written meanwhile), seen in history.
      const l5 = c.leaseOf(await c.step(["lease", "grant", "2"]));
      await c.step(["put", "{p}l/x", "1", `--lease=${l5}`]);
      const deadline = Date.now() + 20_000;
      while ((await c.exec(["get", "{p}l/x", "--keys-only"])).stdout !== "") {
        if (Date.now() > deadline) throw new Error("the key of a 2 s lease is still there after 20 s");
        await pause(200);
      }
      await c.step(["lease", "timetolive", l5]);
      const w = c.bg(["watch", "--rev={rev:4}", "{p}l/x", "-w", "json"]);
      await w.waitFor("the expiry's delete", (out) => out.includes('"type":1'));
      w.signal("SIGTERM");
      c.record("$ etcdctl watch --rev={rev:4} {p}l/x -w json (until it printed the delete)", { stdout: (await w.exit("watch after SIGTERM")).stdout, stderr: "" });
    });
  });

  it("lock: a second contender waits behind the holder, gets the lock when the holder is interrupted, runs its command with ETCD_LOCK_KEY/REV", async () => {
    await sameOnBoth("lock", async (c) => {
      c.leaseKeysUnder("{p}lock/");
      // The holder: no command, so it prints the lock's key (and its empty
      // value) and holds it until SIGINT/SIGTERM, then unlocks.
      const holder = c.bg(["lock", "{p}lock"]);
      await holder.waitFor("the holder to print its lock key", (out) => out.endsWith("\n\n"));
      await c.step(["get", "{p}lock", "--prefix", "--keys-only"]);
      const contender = c.bg(["lock", "{p}lock", "--", "sh", "-c", 'echo "got $ETCD_LOCK_KEY rev=$ETCD_LOCK_REV"']);
      // Queued: the contender's key shows up behind the holder's.
      const deadline = Date.now() + 15_000;
      for (;;) {
        const keys = await c.exec(["get", "{p}lock", "--prefix", "--keys-only"]);
        if (keys.stdout.split("\n").filter((l) => l !== "").length === 2) break;
        if (Date.now() > deadline) throw new Error(`the contender never queued: ${JSON.stringify(keys)}; contender ${JSON.stringify(contender.stdout + contender.stderr)}`);
        await pause(100);
      }
      await c.step(["get", "{p}lock", "--prefix", "--keys-only", "--sort-by=CREATE"]);
      // The point of the test is what does not happen: give the contender
      // a moment in which it must not take the lock.
      await pause(700);
      c.record("contender while the holder holds", { stdout: contender.stdout, stderr: contender.stderr });
      holder.signal("SIGTERM");
      c.record("$ etcdctl lock {p}lock (the holder, in the background, after SIGTERM)", await holder.exit("the holder after SIGTERM"));
      c.record(`$ etcdctl lock {p}lock -- sh -c ... (the contender, in the background)`, await contender.exit("the contender once the lock is free"));
      await c.step(["get", "{p}lock", "--prefix"]);
      // A command's exit status is the lock command's error.
      await c.step(["lock", "{p}lock", "--", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    });
  });

  it("elect: a listener sees each leader in turn; a second campaigner waits until the first resigns", async () => {
    await sameOnBoth("elect", async (c) => {
      c.leaseKeysUnder("{p}el/");
      const listener = c.bg(["elect", "-l", "{p}el"]);
      const first = c.bg(["elect", "{p}el", "v1"]);
      await first.waitFor("the first campaigner to be elected", (out) => out.endsWith("\nv1\n"));
      await listener.waitFor("the listener to print the first leader", (out) => out.includes("\nv1\n"));
      const second = c.bg(["elect", "{p}el", "v2"]);
      const deadline = Date.now() + 15_000;
      for (;;) {
        const keys = await c.exec(["get", "{p}el", "--prefix", "--keys-only"]);
        if (keys.stdout.split("\n").filter((l) => l !== "").length === 2) break;
        if (Date.now() > deadline) throw new Error(`the second campaigner never queued: ${JSON.stringify(keys)}`);
        await pause(100);
      }
      await c.step(["get", "{p}el", "--prefix", "--sort-by=CREATE"]);
      await pause(700); // the second must not be elected meanwhile
      c.record("second campaigner while the first leads", { stdout: second.stdout, stderr: second.stderr });
      // SIGTERM: the campaigner resigns and exits.
      first.signal("SIGTERM");
      c.record("$ etcdctl elect {p}el v1 (in the background, after SIGTERM)", await first.exit("the first campaigner after SIGTERM"));
      await second.waitFor("the second campaigner to be elected", (out) => out.endsWith("\nv2\n"));
      await listener.waitFor("the listener to print the second leader", (out) => out.includes("\nv2\n"));
      second.signal("SIGTERM");
      c.record("$ etcdctl elect {p}el v2 (in the background, after SIGTERM)", await second.exit("the second campaigner after SIGTERM"));
      await c.step(["get", "{p}el", "--prefix"]);
      listener.signal("SIGTERM");
      const l = await listener.exit("the listener after SIGTERM");
      c.record("$ etcdctl elect -l {p}el (in the background)", { stdout: l.stdout, stderr: l.stderr });
    });
  });

  it("member list, endpoint status, endpoint health (also --cluster), defrag, alarm list: the same shape, one line per member", async () => {
    await sameOnBoth("cluster", async (c) => {
      const { ep, members } = c.side;
      const epRe = escapeRe(ep);
      // The lines printed (endpoint health prints on stderr, the rest on stdout).
      const ok = async (args: string[]) => {
        const r = await c.exec(args);
        const [out, other] = args[1] === "health" ? [r.stderr, r.stdout] : [r.stdout, r.stderr];
        expect(other, `etcdctl ${args.join(" ")}`).toBe("");
        expect(r.code, `etcdctl ${args.join(" ")}: ${out}`).toBe(0);
        return out.split("\n").slice(0, -1);
      };

      // ID, status, name, peer URLs, client URLs (this endpoint: clients that
      // sync endpoints from the member list must land on gRPC), is learner.
      const ml = await ok(["member", "list"]);
      expect(ml).toHaveLength(members);
      for (const l of ml) expect(l).toMatch(new RegExp(`^[0-9a-f]{1,16}, started, [\\w.-]+, https?://\\S+, http://${epRe}, false$`));
      const ids = ml.map((l) => l.split(",")[0]);
      c.note(`member list: one line per member, client URL http://<endpoint>`);

      const mlj = await ok(["member", "list", "-w", "json"]);
      expect(mlj).toHaveLength(1);
      const j = JSON.parse(mlj[0].replace(/:(\d{16,})/g, ':"$1"')) as { header: Record<string, string>; members: { ID: string; name: string; peerURLs: string[]; clientURLs: string[] }[] };
      expect(Object.keys(j.header)).toEqual(["cluster_id", "member_id", "raft_term"]);
      expect(j.members.map((m) => BigInt(m.ID).toString(16)).sort()).toEqual([...ids].sort());
      expect(ids).toContain(BigInt(j.header.member_id).toString(16));
      for (const m of j.members) expect(Object.keys(m)).toEqual(["ID", "name", "peerURLs", "clientURLs"]);
      for (const m of j.members) expect(m.clientURLs).toEqual([`http://${ep}`]);
      c.note(`member list -w json: header cluster_id, member_id (a member), raft_term; members ID, name, peerURLs, clientURLs`);

      // endpoint, ID, version, db size, is leader, is learner, raft term, raft index, raft applied index, errors.
      const st = await ok(["endpoint", "status"]);
      expect(st).toHaveLength(1);
      expect(st[0]).toMatch(new RegExp(`^${epRe}, [0-9a-f]{1,16}, 3\\.4\\.\\d+, \\d+(\\.\\d+)? [kMG]?B, (true|false), false, \\d+, \\d+, \\d+, $`));
      expect(ids).toContain(st[0].split(", ")[1]);
      c.note(c.norm(st[0]).replace(/^(<endpoint>), [0-9a-f]+, [\d.]+, [^,]+, (true|false), false, \d+, \d+, \d+, $/, "endpoint status: $1, <member id>, <version>, <db size>, $2, false, <term>, <index>, <applied index>, <no errors>"));

      const stj = await ok(["endpoint", "status", "-w", "json"]);
      c.note(
        `endpoint status -w json: ${c.norm(stj.join("\n"))
          .replace(/"(version)":"3\.4\.\d+"/, '"$1":"3.4.x"')
          .replace(/"(dbSize|dbSizeInUse|raftIndex|raftTerm|raftAppliedIndex)":\d+/g, '"$1":<n>')
          .replace(/"leader":\d+/, '"leader":<id>')}`,
      );

      // Column widths follow the values: compared cell by cell.
      const table = await ok(["endpoint", "status", "-w", "table"]);
      expect(table).toHaveLength(5);
      const cells = (l: string) => l.split("|").slice(1, -1).map((x) => x.trim());
      expect(cells(table[3])).toEqual(st[0].split(", ").slice(0, 9).concat([""]));
      c.note(`endpoint status -w table: columns ${cells(table[1]).join(" | ")}; the row is the simple output's`);

      await c.step(["endpoint", "health"]);
      await c.step(["endpoint", "health", "-w", "json"]);
      const hc = await ok(["endpoint", "health", "--cluster"]);
      expect(hc).toHaveLength(members);
      for (const l of hc) expect(l).toMatch(new RegExp(`^http://${epRe} is healthy: successfully committed proposal: took = [\\d.]+(ns|µs|ms|s)$`));
      c.note("endpoint health --cluster: one healthy line per member");

      await c.step(["defrag"]);
      await c.step(["alarm", "list"]);
    });
  });

  // KNOWN DIFFERENCE (the gRPC front's HTTP/2 layer): the Maintenance calls
  // clientv3 3.4 addresses to one endpoint (Status, Defragment, HashKV) dial
  // that endpoint as given, so with a URL (from --cluster, which takes the
  // members' client URLs, or --endpoints=http://...) grpc-go sends the
  // whole URL as :authority ("http://127.0.0.1:2379"). etcd's Go server
  // accepts it; Node's HTTP/2 server (nghttp2's header validation, which
  // Node gives no option to turn off) resets the stream with
  // PROTOCOL_ERROR, so etcdctl prints "Failed to get the status of endpoint
  // http://... (rpc error: code = Internal desc = stream terminated by
  // RST_STREAM with error code: PROTOCOL_ERROR)". Expected to fail against
  // our Worker until the front accepts such an authority; it asserts etcd's
  // behaviour.
  const clusterWide = async ({ ep, members }: Side) => {
    const ok = async (endpoint: string, args: string[]) => {
      const r = await spawnCtl(endpoint, args).exit(`etcdctl --endpoints=${endpoint} ${args.join(" ")}`, 30_000);
      expect(r.stderr, `etcdctl --endpoints=${endpoint} ${args.join(" ")}`).toBe("");
      expect(r.code, `etcdctl --endpoints=${endpoint} ${args.join(" ")}`).toBe(0);
      return r.stdout.split("\n").slice(0, -1);
    };
    const url = `http://${ep}`;
    const statusLine = new RegExp(`^${escapeRe(url)}, [0-9a-f]{1,16}, 3\\.4\\.\\d+, \\d+(\\.\\d+)? [kMG]?B, (true|false), false, \\d+, \\d+, \\d+, $`);
    const status = await ok(ep, ["endpoint", "status", "--cluster"]);
    expect(status).toHaveLength(members);
    for (const l of status) expect(l).toMatch(statusLine);
    expect(await ok(ep, ["defrag", "--cluster"])).toEqual(Array.from({ length: members }, () => `Finished defragmenting etcd member[${url}]`));
    const withUrl = await ok(url, ["endpoint", "status"]);
    expect(withUrl).toHaveLength(1);
    expect(withUrl[0]).toMatch(statusLine);
  };

  it("endpoint status and defrag --cluster, and with --endpoints=http://...: against etcd", () => clusterWide(SIDES[0]));

  // KNOWN DIFFERENCE (the gRPC front's HTTP/2 layer, not the Worker): the
  // Maintenance calls clientv3 3.4 sends to one given endpoint (Status,
  // Defragment, HashKV) dial that endpoint as written, so when it is a URL
  // (--cluster takes the members' client URLs; or --endpoints=http://...)
  // grpc-go sends the whole URL as the :authority ("http://127.0.0.1:2379").
  // etcd's Go server accepts that; Node's HTTP/2 server (nghttp2's header
  // validation, which Node has no option to turn off) resets the stream
  // with PROTOCOL_ERROR, and etcdctl prints "Failed to get the status of
  // endpoint http://... (rpc error: code = Internal desc = stream
  // terminated by RST_STREAM with error code: PROTOCOL_ERROR)". The test
  // asserts etcd's behaviour (the one above proves it against etcd) and is
  // expected to fail against our Worker until the front accepts such an
  // authority: then drop the it.fails.
  (t.oursKind === "worker" ? it.fails : it)("endpoint status and defrag --cluster, and with --endpoints=http://...: against ours (KNOWN DIFFERENCE, expected to fail)", () =>
    clusterWide(SIDES[1]),
  );

  // KNOWN DIFFERENCE (the Worker, src/server/limits.ts): etcd's 1.5 MiB
  // request limit applies to the decoded request; ours to the request's log
  // entry, which carries a value in base64 (4/3 of its size) and must fit a
  // storage row of 2 MB, so values from about 1.48 MB up to 1.5 MiB, which
  // etcd stores, are refused with "etcdserver: request is too large".
  // Asserts etcd's behaviour; expected to fail against our Worker.
  (t.oursKind === "worker" ? it.fails : it)("a 1.55 MB value (under etcd's 1.5 MiB request limit) is stored (KNOWN DIFFERENCE, expected to fail)", async () => {
    const value = "v".repeat(1_550_000);
    await sameOnBoth("big", async (c) => {
      await c.step(["put", "{p}big"], value);
      const r = await c.exec(["get", "{p}big", "--print-value-only"]);
      c.note(`get: ${r.code} ${r.stdout === `${value}\n` ? "the value" : `${r.stdout.length} bytes`} ${r.stderr}`);
    });
  });

  it("errors: server error texts and exit codes (future revision, missing key or lease, empty key, duplicate key in a txn)", async () => {
    await sameOnBoth("errors", async (c) => {
      await c.step(["get", "{p}a", "--rev={rev:1000000}"]);
      await c.step(["put", "{p}a", "--ignore-value"]);
      await c.step(["put", "{p}a", "v", "--lease=1234abcd"]);
      await c.step(["put", "", "v"]);
      await c.step(["get", ""]);
      await c.step(["txn"], "\nput {p}d 1\ndel {p}d\n\n\n");
      await c.step(["put", "{p}a", "v"]);
      await c.step(["put", "{p}a", "--ignore-lease"], "w");
      await c.step(["lease", "revoke", "1234abcd"]);
      await c.step(["lease", "keep-alive", "--once", "1234abcd"]);
      await c.step(["compaction", "{rev:1000000}"]);
      await c.step(["get", "{p}a"]);
    });
  });
});
