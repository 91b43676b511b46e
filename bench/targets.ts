// Process management for the benchmark targets: our Worker under
// `wrangler dev` (configured as `npm start` configures it) and real etcd 3.4
// as a 1-member and a 3-member cluster. Every server is spawned detached, in
// its own process group, and killed by group; every temp dir is removed.
// Cleanup also runs on exit, Ctrl-C and uncaught failures, so an interrupted
// run leaves nothing behind.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as http from "node:http";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export interface Target {
  name: string;
  /** Where the load generator sends its requests. */
  host: string;
  port: number;
  /** The server processes whose RSS counts (looked up afresh at each sample). */
  serverPids(): number[];
  stop(): Promise<void>;
}

interface Proc {
  child: ChildProcess;
  dir: string;
  log: string;
}

const live = new Set<Proc>();
let hooked = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function emergencyCleanup(): void {
  for (const p of live) {
    killGroup(p.child, "SIGKILL");
    fs.rmSync(p.dir, { recursive: true, force: true });
  }
  live.clear();
}

function installHooks(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", emergencyCleanup);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      console.error(`\n${sig}: stopping servers and removing temp dirs`);
      emergencyCleanup();
      process.exit(130);
    });
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const taken = new Set<number>();
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.on("error", reject);
      srv.listen(0, "127.0.0.1", () => {
        const a = srv.address();
        const p = typeof a === "object" && a !== null ? a.port : 0;
        srv.close(() => resolve(p));
      });
    });
    if (port > 0 && !taken.has(port)) {
      taken.add(port);
      return port;
    }
  }
}

function launch(cmd: string, args: string[], dir: string, env: NodeJS.ProcessEnv, cwd: string, logName = "server.log"): Proc {
  installHooks();
  const log = path.join(dir, logName);
  const fd = fs.openSync(log, "a");
  const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ["ignore", fd, fd] });
  fs.closeSync(fd);
  child.on("error", () => {});
  const p = { child, dir, log };
  live.add(p);
  return p;
}

async function stopProc(p: Proc): Promise<void> {
  if (!live.has(p)) return;
  live.delete(p);
  const { child } = p;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    killGroup(child, "SIGTERM");
    if ((await Promise.race([exited.then(() => 0), sleep(5000).then(() => 1)])) === 1) {
      killGroup(child, "SIGKILL");
      await Promise.race([exited, sleep(2000)]);
    }
  }
  // Grandchildren that outlived the group leader (workerd) get a last KILL.
  killGroup(child, "SIGKILL");
  if (process.env.BENCH_KEEP_LOGS) {
    // For debugging a target: keep its log next to the report.
    fs.mkdirSync(path.resolve(repoRoot, process.env.BENCH_KEEP_LOGS), { recursive: true });
    fs.copyFileSync(p.log, path.resolve(repoRoot, process.env.BENCH_KEEP_LOGS, `${path.basename(p.dir)}.log`));
  }
  fs.rmSync(p.dir, { recursive: true, force: true });
}

function tail(file: string, n = 30): string {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-n).join("\n");
  } catch {
    return "(no log)";
  }
}

export function probe(host: string, port: number, urlPath: string, timeoutMs = 2000): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: urlPath, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", () => resolve(0));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(0));
  });
}

/** Waits until `ok` has held for `stableMs` in a row: a server that answers once and then falls over is not up. */
async function waitUp(procs: Proc[], what: string, timeoutMs: number, stableMs: number, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let since = 0;
  for (;;) {
    for (const p of procs) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) {
        const log = tail(p.log);
        await Promise.all(procs.map(stopProc));
        throw new Error(`server exited before ${what}. Last log lines:\n${log}`);
      }
    }
    if (await ok()) {
      since ||= Date.now();
      if (Date.now() - since >= stableMs) return;
    } else {
      since = 0;
    }
    if (Date.now() > deadline) {
      const log = tail(procs[0].log);
      await Promise.all(procs.map(stopProc));
      throw new Error(`${what} not reached within ${timeoutMs} ms. Last log lines:\n${log}`);
    }
    await sleep(250);
  }
}

// ------------------------------------------------------------ process tree

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      for (const c of fs.readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").split(" ")) {
        if (c.trim()) out.push(Number(c));
      }
    } catch {
      // task ended
    }
  }
  return out;
}

export function descendants(pid: number): number[] {
  const all: number[] = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    for (const c of childrenOf(p)) {
      all.push(c);
      stack.push(c);
    }
  }
  return all;
}

function comm(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

/** Resident set size of a process in bytes (0 when it is gone). */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

// ----------------------------------------------------------------- targets

/**
 * A copy of the project to serve from. `wrangler dev` reloads the Worker
 * whenever a source file changes; a copy keeps edits made during a run (or a
 * `git pull`) from restarting the server mid-measurement. BENCH_REF=<git ref>
 * takes the sources from that commit instead of the working tree.
 */
function snapshot(dir: string): string {
  const src = path.join(dir, "project");
  const ref = process.env.BENCH_REF;
  if (ref) {
    fs.mkdirSync(src);
    execFileSync("sh", ["-c", 'git -C "$1" archive "$2" | tar -x -C "$3"', "sh", repoRoot, ref, src]);
  } else {
    const skip = new Set(["node_modules", ".git", ".state", ".wrangler", "dist"]);
    fs.cpSync(repoRoot, src, { recursive: true, filter: (f) => !skip.has(path.basename(f)) || path.dirname(f) !== repoRoot });
  }
  fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(src, "node_modules"), "dir");
  return src;
}

/** Which sources were measured, for the report. */
export function sourceDescription(): string {
  const git = (...a: string[]) => {
    try {
      return execFileSync("git", ["-C", repoRoot, ...a], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      return "";
    }
  };
  const ref = process.env.BENCH_REF;
  if (ref) return `commit ${git("rev-parse", "--short", ref) || ref} (BENCH_REF=${ref})`;
  const head = git("rev-parse", "--short", "HEAD");
  if (!head) return "working tree";
  return `working tree at commit ${head}${git("status", "--porcelain", "--", "src", "wrangler.jsonc", "package.json") ? " with uncommitted changes" : ""}`;
}

/**
 * Our Worker, started by `npm start` itself (so exactly as it configures
 * `wrangler dev`) in a fresh copy of the project: its `.state` is fresh too.
 */
export async function startOurs(): Promise<Target> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-ours-"));
  const port = await freePort();
  let project: string;
  try {
    project = snapshot(dir);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  // CI: no interactive hotkeys, stdin is not a terminal here.
  const env = { ...process.env, PORT: String(port), CI: "true" };
  const p = launch("npm", ["start", "--silent"], dir, env, project);
  await waitUp([p], "GET /version = 200 for 1 s", 120_000, 1000, async () => (await probe("127.0.0.1", port, "/version", 5000)) === 200);
  let cached: number[] = [];
  let cachedAt = 0;
  return {
    name: "ours",
    host: "127.0.0.1",
    port,
    serverPids() {
      // The process tree does not change during a run; refresh once a second.
      if ((cached.length === 0 || Date.now() - cachedAt > 1000) && p.child.pid !== undefined) {
        cached = descendants(p.child.pid).filter((pid) => comm(pid) === "workerd");
        cachedAt = Date.now();
      }
      return cached;
    },
    stop: () => stopProc(p),
  };
}

/** Real etcd 3.4 with the v2 API, `members` members on 127.0.0.1; clients talk to member 1. */
export async function startEtcd(members: number): Promise<Target> {
  const spec: { name: string; client: number; peer: number }[] = [];
  for (let i = 0; i < members; i++) spec.push({ name: `m${i + 1}`, client: await freePort(), peer: await freePort() });
  const cluster = spec.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(",");
  const procs = spec.map((m) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-etcd${members}-${m.name}-`));
    const c = `http://127.0.0.1:${m.client}`;
    const pu = `http://127.0.0.1:${m.peer}`;
    const args = [
      "--enable-v2=true",
      "--name", m.name,
      "--data-dir", path.join(dir, "data"),
      "--listen-client-urls", c,
      "--advertise-client-urls", c,
      "--listen-peer-urls", pu,
      "--initial-advertise-peer-urls", pu,
      "--initial-cluster", cluster,
      "--initial-cluster-state", "new",
      "--initial-cluster-token", `bench-${process.pid}`,
    ];
    return launch("etcd", args, dir, { ...process.env }, dir);
  });
  await waitUp(procs, "etcd /health = 200 on every member", 60_000, 500, async () => {
    for (const m of spec) if ((await probe("127.0.0.1", m.client, "/health")) !== 200) return false;
    return true;
  });
  return {
    name: `etcd-${members}`,
    host: "127.0.0.1",
    port: spec[0].client,
    serverPids: () => procs.map((p) => p.child.pid).filter((x): x is number => x !== undefined),
    async stop() {
      await Promise.all(procs.map(stopProc));
    },
  };
}
