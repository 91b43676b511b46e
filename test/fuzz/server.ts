// The server under fuzz: our Worker as `npm start` serves it, started here
// on ports of its own with a fresh state dir (as the compatibility suite
// starts it), or one already running (FUZZ_URL, and FUZZ_PID for its memory).
import * as fs from "node:fs";
import * as path from "node:path";
import { descendants, rssBytes } from "../../bench/targets.ts";
import { freePort, httpStatus, makeTempDir, repoRoot, spawnServer, stopServer, waitUntil } from "../../support/processes.ts";

export interface Target {
  url: string;
  host: string;
  port: number;
  /** The workerd processes whose memory is watched (empty when unknown). */
  workerdPids(): number[];
  /** The server process tree is still there (always true for a server started elsewhere). */
  alive(): boolean;
  stop(): Promise<void>;
}

export async function startServer(): Promise<Target> {
  const external = process.env.FUZZ_URL;
  if (external) {
    const u = new URL(external);
    const pid = Number(process.env.FUZZ_PID ?? 0);
    return { url: u.origin, host: u.hostname, port: Number(u.port || 80), workerdPids: () => (pid ? workerdsUnder(pid) : []), alive: () => true, stop: async () => {} };
  }
  const dir = makeTempDir("fuzz-ours-");
  const port = await freePort();
  const grpcPort = await freePort();
  const env = { ...process.env, PORT: String(port), GRPC_PORT: String(grpcPort), CI: "true" };
  const server = spawnServer({ name: `ours at 127.0.0.1:${port}`, cmd: "sh", args: ["scripts/start.sh", "--persist-to", path.join(dir, "state")], cwd: repoRoot, env, dir, keepLogIn: process.env.FUZZ_KEEP_LOG ? path.resolve(repoRoot, process.env.FUZZ_KEEP_LOG) : undefined });
  await waitUntil([server], "GET /version = 200", { timeoutMs: 120_000 }, async () => (await httpStatus("127.0.0.1", port, "/version", 5000)) === 200);
  const root = server.child.pid ?? 0;
  return {
    url: `http://127.0.0.1:${port}`,
    host: "127.0.0.1",
    port,
    workerdPids: () => workerdsUnder(root),
    alive: () => server.child.exitCode === null && server.child.signalCode === null,
    stop: () => stopServer(server),
  };
}

/** The workerd processes in the tree under `root` (Miniflare runs one). */
function workerdsUnder(root: number): number[] {
  return [root, ...descendants(root)].filter((pid) => commandName(pid) === "workerd");
}

function commandName(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

export { rssBytes };
