// Starting and stopping the two servers the suite compares: a real etcd 3.4
// (the oracle) and our Worker as `npm start` serves it (or, with
// COMPAT_TARGET=etcd, a second etcd, to validate the harness itself).
// Spawning, process groups, temp dirs and cleanup on exit and signals are
// support/processes.ts's, shared with the benchmark.
import * as path from "node:path";
import { freePort, httpStatus, makeTempDir, repoRoot, spawnServer, startEtcdCluster, stopServer, waitUntil } from "../../../support/processes.ts";
import { send } from "./http";

// The test files that start processes of their own take these from here.
export { freePort, repoRoot };

export interface Server {
  kind: "etcd" | "worker";
  url: string;
  /** host:port of its gRPC API (etcd serves it on its client port; ours through the gRPC front). */
  grpc: string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Both servers send v3 progress notifications this often (etcd's default is
 * 10 minutes), so a test can see one; a watch that asks for them and lives
 * less than this never gets one, on either.
 */
export const WATCH_PROGRESS_NOTIFY_MS = 2000;

/** Starts a fresh single-member etcd 3.4 with the v2 API on free ports; `extraArgs` are more etcd flags. */
export async function startEtcd(extraArgs: string[] = []): Promise<Server> {
  const cluster = await startEtcdCluster({
    names: ["compat"],
    tempPrefix: "compat-etcd",
    timeoutMs: 30_000,
    extraArgs: [`--experimental-watch-progress-notify-interval=${WATCH_PROGRESS_NOTIFY_MS}ms`, ...extraArgs],
  });
  const [member] = cluster.members;
  const c = member.clientUrl;
  // etcd publishes its member attributes and the cluster version through the
  // v2 store shortly after start. Those internal writes consume store indexes,
  // so wait until the cluster version is decided and the index stands still;
  // otherwise they would shift the index offsets of the first sequence.
  let last = -1;
  await waitUntil([member.server], "a stable store index", { timeoutMs: 30_000 }, async () => {
    const v = await send(c, { method: "GET", path: "/version" }, 2000);
    if (!v.body.includes('"etcdcluster":"3.')) return false;
    const r = await send(c, { method: "GET", path: "/v2/keys/" }, 2000);
    const idx = Number(r.headers["x-etcd-index"]);
    const stable = idx === last;
    last = idx;
    if (!stable) await sleep(300);
    return stable;
  });
  return { kind: "etcd", url: c, grpc: c.replace(/^http:\/\//, ""), stop: () => cluster.stop() };
}

/** Starts our Worker as `npm start` serves it, on a free port and with a fresh state dir; `vars` are more NAME:VALUE variables. */
export async function startOurs(vars: string[] = []): Promise<Server> {
  const dir = makeTempDir("compat-ours-");
  const port = await freePort();
  const grpcPort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = ["scripts/start.sh", "--persist-to", path.join(dir, "state"), "--var", `WATCH_PROGRESS_NOTIFY_MS:${WATCH_PROGRESS_NOTIFY_MS}`];
  for (const v of vars) args.push("--var", v);
  const env = { ...process.env, PORT: String(port), GRPC_PORT: String(grpcPort), CI: "true" };
  const server = spawnServer({ name: `ours at ${url}`, cmd: "sh", args, cwd: repoRoot, env, dir });
  await waitUntil([server], "GET /version = 200", { timeoutMs: 60_000 }, async () => (await httpStatus("127.0.0.1", port, "/version", 5000)) === 200);
  return { kind: "worker", url, grpc: `127.0.0.1:${grpcPort}`, stop: () => stopServer(server) };
}
