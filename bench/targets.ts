// The benchmark targets: our Worker (started by `npm start` itself), the
// runtime's floor (a no-op Worker served the same way) and real etcd 3.4 as a
// 1-member and a 3-member cluster, started and stopped through
// support/processes.ts (process groups, temp dirs, cleanup on exit and
// signals), plus the process-tree and memory readings the RSS sampler needs.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { freePort, httpStatus, makeTempDir, removeDir, repoRoot, spawnServer, startEtcdCluster, stopServer, tcpListening, waitUntil } from "../support/processes.ts";

export interface Target {
  name: string;
  /** Where the load generator sends its requests. */
  host: string;
  port: number;
  /**
   * Where etcd's gRPC API is served: etcd's client port (etcd serves gRPC
   * and HTTP on one port), ours' gRPC front on a port of its own (GRPC_PORT);
   * undefined for the floor, which serves no gRPC.
   */
  grpcPort?: number;
  /** The server processes whose RSS counts (looked up afresh at each sample). */
  serverPids(): number[];
  /**
   * The process that serves gRPC when it is not one of serverPids(): ours'
   * `npm start` node process (scripts/serve.ts, the parent of workerd), which
   * runs the gRPC front and Miniflare's Node side. Empty for etcd (its members
   * serve gRPC themselves) and for the floor.
   */
  frontPids(): number[];
  stop(): Promise<void>;
}

/** BENCH_KEEP_LOGS=dir (relative to the repo): keep each server's log there. */
function keepLogIn(): string | undefined {
  const dir = process.env.BENCH_KEEP_LOGS;
  return dir ? path.resolve(repoRoot, dir) : undefined;
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

function cmdline(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return [];
  }
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
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
 * A copy of the project to serve from, so that what is measured is fixed
 * when the run starts (and its `.state` is fresh): edits made during a run
 * do not leak in. BENCH_REF=<git ref> takes the sources from that commit
 * instead of the working tree.
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
 * Our Worker, started by `npm start` itself (so exactly as users run it)
 * in a fresh copy of the project: its `.state` is fresh too.
 */
/** Ours as `npm start` serves it; `vars` are NAME:VALUE settings passed on as `--var` (e.g. PEER_DELAY_MS:40). */
export async function startOurs(vars: string[] = []): Promise<Target> {
  const dir = makeTempDir("bench-ours-");
  let project: string;
  try {
    project = snapshot(dir);
  } catch (e) {
    removeDir(dir);
    throw e;
  }
  return startWorkerd({ name: "ours", dir, cmd: "npm", args: ["start", "--silent", ...(vars.length ? ["--", ...vars.flatMap((v) => ["--var", v])] : [])], cwd: project, readyPath: "/version", grpc: true });
}

/** The runtime's floor: bench/floor-worker.js, which does nothing, served as `npm start` serves ours (bench/floor.ts). */
export function startFloor(): Promise<Target> {
  return startWorkerd({ name: "floor", dir: makeTempDir("bench-floor-"), cmd: process.execPath, args: [path.join(repoRoot, "bench", "floor.ts")], cwd: repoRoot, readyPath: "/", grpc: false });
}

/**
 * A server whose work is done by workerd child processes (their RSS is what
 * counts), listening on $PORT and up once `readyPath` answers 200; with
 * `grpc`, serving gRPC on $GRPC_PORT too (from the same Node process that
 * runs Miniflare), and up once that port accepts connections as well.
 */
async function startWorkerd(o: { name: string; dir: string; cmd: string; args: string[]; cwd: string; readyPath: string; grpc: boolean }): Promise<Target> {
  const { name, dir, cmd, args, cwd, readyPath } = o;
  const port = await freePort();
  const grpcPort = await freePort();
  // CI: no interactive hotkeys, stdin is not a terminal here.
  // The gRPC front (ours) gets a port of its own, never etcd's 2379.
  const env = { ...process.env, PORT: String(port), GRPC_PORT: String(grpcPort), CI: "true" };
  const p = spawnServer({ name: `${name} (${path.basename(cmd)} ${args.map((a) => path.basename(a)).join(" ")}) on port ${port}`, cmd, args, cwd, env, dir, keepLogIn: keepLogIn() });
  await waitUntil([p], `GET ${readyPath} = 200 for 1 s`, { timeoutMs: 120_000, stableMs: 1000 }, async () => (await httpStatus("127.0.0.1", port, readyPath, 5000)) === 200);
  // serve.ts listens for gRPC just after Miniflare is ready. Sources without
  // the gRPC front (BENCH_REF of an older commit) never do: no gRPC rows then.
  let grpc = o.grpc;
  if (grpc) {
    const deadline = Date.now() + 30_000;
    while (!(await tcpListening(grpcPort))) {
      if (Date.now() > deadline || p.child.exitCode !== null || p.child.signalCode !== null) {
        console.log(`== ${name}: nothing listens on GRPC_PORT ${grpcPort} after 30 s: no gRPC rows for it`);
        grpc = false;
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const cache = new Map<string, { pids: number[]; at: number }>();
  // The process tree does not change during a run; refresh once a second.
  const cached = (what: string, find: (root: number) => number[]) => {
    const c = cache.get(what);
    if (c && c.pids.length > 0 && Date.now() - c.at <= 1000) return c.pids;
    const pids = p.child.pid === undefined ? [] : find(p.child.pid);
    cache.set(what, { pids, at: Date.now() });
    return pids;
  };
  const workerds = () => cached("workerd", (root) => descendants(root).filter((pid) => comm(pid) === "workerd"));
  return {
    name,
    host: "127.0.0.1",
    port,
    grpcPort: grpc ? grpcPort : undefined,
    serverPids: workerds,
    frontPids() {
      if (!grpc) return [];
      return cached("front", (root) => {
        // npm -> sh -> sh scripts/start.sh, which execs node scripts/serve.ts: the parent of workerd.
        const serve = descendants(root).filter((pid) => cmdline(pid).some((a) => a === "scripts/serve.ts" || a.endsWith("/scripts/serve.ts")));
        if (serve.length > 0) return serve;
        const parents = new Set(workerds().map(parentOf).filter((x): x is number => x !== undefined));
        return [...parents];
      });
    },
    stop: () => stopServer(p),
  };
}

/** Real etcd 3.4 with the v2 API, `members` members on 127.0.0.1; clients talk to member 1. */
export async function startEtcd(members: number): Promise<Target> {
  const names = Array.from({ length: members }, (_, i) => `m${i + 1}`);
  const cluster = await startEtcdCluster({
    names,
    tempPrefix: `bench-etcd${members}`,
    clusterToken: `bench-${process.pid}`,
    timeoutMs: 60_000,
    stableMs: 500,
    keepLogIn: keepLogIn(),
  });
  return {
    name: `etcd-${members}`,
    host: "127.0.0.1",
    port: cluster.members[0].clientPort,
    grpcPort: cluster.members[0].clientPort,
    serverPids: () => cluster.members.map((m) => m.server.child.pid).filter((x): x is number => x !== undefined),
    frontPids: () => [],
    stop: () => cluster.stop(),
  };
}
