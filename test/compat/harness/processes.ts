// Starting and stopping the two servers the suite compares: a real etcd 3.4
// (the oracle) and our Worker under `wrangler dev` (or, with
// COMPAT_TARGET=etcd, a second etcd, to validate the harness itself).
//
// Every process is spawned detached (its own process group) and killed by
// group, so wrangler's workerd children die with it. Cleanup is registered on
// process exit and on SIGINT/SIGTERM as well as in the normal teardown, so a
// crashed or interrupted run leaves no servers and no temp dirs behind.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { send } from "./http";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export interface Server {
  kind: "etcd" | "wrangler";
  url: string;
  dir: string;
  logPath: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

const live = new Set<Server>();
let hooksInstalled = false;

function killGroup(child: ChildProcess, signal: string): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const emergency = () => {
    for (const s of live) {
      killGroup(s.child, "SIGKILL");
      try {
        fs.rmSync(s.dir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
    live.clear();
  };
  process.on("exit", emergency);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(sig, () => {
      emergency();
      process.exit(130);
    });
  }
}

const usedPorts = new Set<number>();

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
    if (port > 0 && !usedPorts.has(port)) {
      usedPorts.add(port);
      return port;
    }
  }
}

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function launch(kind: Server["kind"], url: string, dir: string, cmd: string, args: string[], env: Record<string, string | undefined>, cwd: string): Server {
  installExitHooks();
  const logPath = path.join(dir, "server.log");
  const fd = fs.openSync(logPath, "a");
  const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ["ignore", fd, fd] });
  fs.closeSync(fd);
  const server: Server = {
    kind,
    url,
    dir,
    logPath,
    child,
    async stop() {
      if (!live.has(server)) return;
      live.delete(server);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once("exit", () => r()));
        killGroup(child, "SIGTERM");
        const t = await Promise.race([exited.then(() => "exited"), sleep(5000).then(() => "timeout")]);
        if (t === "timeout") {
          killGroup(child, "SIGKILL");
          await Promise.race([exited, sleep(2000)]);
        }
      }
      // Children that outlived the group leader (e.g. workerd) get a last KILL.
      killGroup(child, "SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  child.on("error", () => {});
  live.add(server);
  return server;
}

async function waitFor(server: Server, what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      const log = tail(server.logPath);
      await server.stop();
      throw new Error(`${server.kind} exited before ${what}. Last log lines:\n${log}`);
    }
    try {
      if (await probe()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      const log = tail(server.logPath);
      await server.stop();
      throw new Error(`${server.kind} at ${server.url}: ${what} not reached within ${timeoutMs} ms. Last log lines:\n${log}`);
    }
    await sleep(250);
  }
}

/** Starts a fresh single-member etcd 3.4 with the v2 API on free ports. */
export async function startEtcd(): Promise<Server> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "compat-etcd-"));
  const client = await freePort();
  const peer = await freePort();
  const c = `http://127.0.0.1:${client}`;
  const p = `http://127.0.0.1:${peer}`;
  const args = [
    "--enable-v2=true",
    "--name", "compat",
    "--data-dir", path.join(dir, "data"),
    "--listen-client-urls", c,
    "--advertise-client-urls", c,
    "--listen-peer-urls", p,
    "--initial-advertise-peer-urls", p,
    "--initial-cluster", `compat=${p}`,
  ];
  const server = launch("etcd", c, dir, "etcd", args, { ...process.env }, dir);
  await waitFor(server, "/health", 30_000, async () => (await send(c, { method: "GET", path: "/health" }, 2000)).status === 200);
  // etcd publishes its member attributes and the cluster version through the
  // v2 store shortly after start. Those internal writes consume store indexes,
  // so wait until the cluster version is decided and the index stands still;
  // otherwise they would shift the index offsets of the first sequence.
  let last = -1;
  await waitFor(server, "a stable store index", 30_000, async () => {
    const v = await send(c, { method: "GET", path: "/version" }, 2000);
    if (!v.body.includes('"etcdcluster":"3.')) return false;
    const r = await send(c, { method: "GET", path: "/v2/keys/" }, 2000);
    const idx = Number(r.headers["x-etcd-index"]);
    const stable = idx === last;
    last = idx;
    if (!stable) await sleep(300);
    return stable;
  });
  return server;
}

/** Starts our Worker with `wrangler dev` on a free port and a fresh state dir. */
export async function startWrangler(): Promise<Server> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "compat-wrangler-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // DEBUG_FAULTS exposes /_debug/... (crash, partition, heal) for the
  // linearizability test; it changes nothing else.
  const args = ["wrangler", "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", path.join(dir, "state"), "--var", "DEBUG_FAULTS:true"];
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" };
  const server = launch("wrangler", url, dir, "npx", args, env, repoRoot);
  await waitFor(server, "GET /version = 200", 60_000, async () => (await send(url, { method: "GET", path: "/version" }, 5000)).status === 200);
  return server;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((s) => s.stop()));
}
