// The servers the benchmark (bench/) and the compatibility suite (test/compat/)
// run as child processes, and the one way both start, watch and stop them.
//
// Every server is spawned detached, in its own process group, and killed by
// group, so the grandchildren it starts (wrangler's workerd) die with it. Each
// owns a temp dir (its log, its data) that goes when it stops. Cleanup also
// runs on exit and on SIGINT/SIGTERM/SIGHUP, so a crashed or interrupted run
// leaves no servers and no temp dirs behind.
//
// Imported both by vitest and by Node's own type stripping (`node bench/run.ts`):
// erasable TypeScript only, and `.ts` in import paths.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export interface ServerProcess {
  /** Says which server it is in error messages. */
  name: string;
  child: ChildProcess;
  /** Temp dir the server owns: removed when it stops. */
  dir: string;
  logPath: string;
  /** Where to copy the log before the temp dir goes (for debugging a run). */
  keepLogIn?: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ------------------------------------------------------------ ports, dirs

// The OS may hand a just-closed port out again; servers that have not bound
// theirs yet would then collide, so no port is given out twice.
const givenOut = new Set<number>();

/** A TCP port on 127.0.0.1 that nothing listens on and that this process has not handed out before. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.on("error", reject);
      srv.listen(0, "127.0.0.1", () => {
        const addr = srv.address();
        const p = typeof addr === "object" && addr !== null ? addr.port : 0;
        srv.close(() => resolve(p));
      });
    });
    if (port > 0 && !givenOut.has(port)) {
      givenOut.add(port);
      return port;
    }
  }
}

/** A new, empty directory under the system temp dir, its name starting with `prefix`. */
export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    // best effort: cleanup must go on with the next server
  }
}

// ------------------------------------------------------- spawning, stopping

const live = new Set<ServerProcess>();
let hooksInstalled = false;

function killGroup(child: ChildProcess, signal: string): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function killEverything(): void {
  for (const p of live) {
    killGroup(p.child, "SIGKILL");
    removeDir(p.dir);
  }
  live.clear();
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", killEverything);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(sig, () => {
      console.error(`\n${sig}: stopping servers and removing temp dirs`);
      killEverything();
      process.exit(130);
    });
  }
}

export interface SpawnOptions {
  name: string;
  cmd: string;
  args: string[];
  cwd: string;
  env: Record<string, string | undefined>;
  /** The temp dir the server owns; its log goes to server.log in it. */
  dir: string;
  keepLogIn?: string;
}

/** Spawns a server in its own process group, stdout and stderr to a log file in its dir. */
export function spawnServer(o: SpawnOptions): ServerProcess {
  installExitHooks();
  const logPath = path.join(o.dir, "server.log");
  const fd = fs.openSync(logPath, "a");
  const child = spawn(o.cmd, o.args, { cwd: o.cwd, env: o.env, detached: true, stdio: ["ignore", fd, fd] });
  fs.closeSync(fd);
  // A failed spawn shows up as an exit in waitUntil, with the log to explain it.
  child.on("error", () => {});
  const p: ServerProcess = { name: o.name, child, dir: o.dir, logPath, keepLogIn: o.keepLogIn };
  live.add(p);
  return p;
}

/** SIGTERM to the group, SIGKILL after 5 s; then the temp dir goes. Stopping twice is harmless. */
export async function stopServer(p: ServerProcess): Promise<void> {
  if (!live.has(p)) return;
  live.delete(p);
  const { child } = p;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    killGroup(child, "SIGTERM");
    if ((await Promise.race([exited.then(() => "exited"), sleep(5000).then(() => "timeout")])) === "timeout") {
      killGroup(child, "SIGKILL");
      await Promise.race([exited, sleep(2000)]);
    }
  }
  // Grandchildren that outlived the group leader (workerd) get a last KILL.
  killGroup(child, "SIGKILL");
  if (p.keepLogIn) {
    fs.mkdirSync(p.keepLogIn, { recursive: true });
    fs.copyFileSync(p.logPath, path.join(p.keepLogIn, `${path.basename(p.dir)}.log`));
  }
  removeDir(p.dir);
}

/** Stops every server this process started and has not stopped yet. */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...live].map(stopServer));
}

// ---------------------------------------------------------------- readiness

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Status of GET http://host:port/path, or 0 when there is no answer within `timeoutMs`. */
/** Whether a TCP connection to host:port opens within 2 s (for a server we cannot ask over HTTP/1, such as gRPC). */
export function tcpListening(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export function httpStatus(host: string, port: number, urlPath: string, timeoutMs = 2000): Promise<number> {
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

/**
 * Polls `ready` every 250 ms until it has held for `stableMs` in a row (a
 * server that answers once and then falls over is not up). If a server exits
 * first, or `timeoutMs` passes, all of `servers` are stopped and the error
 * carries the end of the log.
 */
export async function waitUntil(servers: ServerProcess[], what: string, limits: { timeoutMs: number; stableMs?: number }, ready: () => Promise<boolean>): Promise<void> {
  const { timeoutMs, stableMs = 0 } = limits;
  const deadline = Date.now() + timeoutMs;
  let since = 0;
  for (;;) {
    for (const s of servers) {
      if (s.child.exitCode !== null || s.child.signalCode !== null) {
        const log = tail(s.logPath);
        await Promise.all(servers.map(stopServer));
        throw new Error(`${s.name} exited before ${what}. Last log lines:\n${log}`);
      }
    }
    let ok = false;
    try {
      ok = await ready();
    } catch {
      // not up yet
    }
    if (ok) {
      since ||= Date.now();
      if (Date.now() - since >= stableMs) return;
    } else {
      since = 0;
    }
    if (Date.now() > deadline) {
      const log = tail(servers[0].logPath);
      await Promise.all(servers.map(stopServer));
      throw new Error(`${servers[0].name}: ${what} not reached within ${timeoutMs} ms. Last log lines:\n${log}`);
    }
    await sleep(250);
  }
}

// --------------------------------------------------------------------- etcd

export interface EtcdMember {
  name: string;
  clientPort: number;
  clientUrl: string;
  server: ServerProcess;
}

export interface EtcdCluster {
  members: EtcdMember[];
  stop(): Promise<void>;
}

export interface EtcdOptions {
  /** Member names; one name is a single-member cluster. */
  names: string[];
  /** Each member's temp dir is named `<tempPrefix>-<member name>-...`. */
  tempPrefix: string;
  /**
   * When set, the cluster is created with this --initial-cluster-token, so
   * clusters started one after another get distinct cluster and member ids.
   */
  clusterToken?: string;
  /** How long every member's /health has to answer 200, and for how long in a row. */
  timeoutMs: number;
  stableMs?: number;
  /** More etcd flags, given to every member. */
  extraArgs?: string[];
  keepLogIn?: string;
}

/** Real etcd (3.4) with the v2 API on free 127.0.0.1 ports, each member with its own data in its temp dir. */
export async function startEtcdCluster(o: EtcdOptions): Promise<EtcdCluster> {
  const spec: { name: string; client: number; peer: number }[] = [];
  for (const name of o.names) spec.push({ name, client: await freePort(), peer: await freePort() });
  const initialCluster = spec.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(",");
  const members = spec.map((m): EtcdMember => {
    const dir = makeTempDir(`${o.tempPrefix}-${m.name}-`);
    const clientUrl = `http://127.0.0.1:${m.client}`;
    const peerUrl = `http://127.0.0.1:${m.peer}`;
    const args = [
      "--enable-v2=true",
      "--name", m.name,
      "--data-dir", path.join(dir, "data"),
      "--listen-client-urls", clientUrl,
      "--advertise-client-urls", clientUrl,
      "--listen-peer-urls", peerUrl,
      "--initial-advertise-peer-urls", peerUrl,
      "--initial-cluster", initialCluster,
      ...(o.clusterToken ? ["--initial-cluster-state", "new", "--initial-cluster-token", o.clusterToken] : []),
      ...(o.extraArgs ?? []),
    ];
    const server = spawnServer({ name: `etcd ${m.name} at ${clientUrl}`, cmd: "etcd", args, cwd: dir, env: { ...process.env }, dir, keepLogIn: o.keepLogIn });
    return { name: m.name, clientPort: m.client, clientUrl, server };
  });
  const servers = members.map((m) => m.server);
  await waitUntil(servers, "/health = 200 on every member", { timeoutMs: o.timeoutMs, stableMs: o.stableMs }, async () => {
    for (const m of members) if ((await httpStatus("127.0.0.1", m.clientPort, "/health", 2000)) !== 200) return false;
    return true;
  });
  return {
    members,
    async stop() {
      await Promise.all(servers.map(stopServer));
    },
  };
}
