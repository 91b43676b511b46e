// `npm start`: the Worker and its Durable Objects under Miniflare, with the
// HTTP socket bound straight to the Worker.
//
// Why not `wrangler dev`: it puts two extra Workers in front of ours (a
// reload proxy in a second runtime process, and Miniflare's entry Worker) and
// records a trace of every request and RPC into a local SQLite collector.
// Measured here with 64 clients, that stack caps any request, even
// `/version`, at about 900/s; a socket bound to our Worker serves 11,000/s.
// `npm run dev` still runs `wrangler dev`, for live reload while editing.
//
// The Worker is bundled by `wrangler deploy --dry-run`, so what runs here is
// byte for byte what `wrangler deploy` would upload, and its bindings come
// from wrangler.jsonc through wrangler's own reader.
//
// Usage: node scripts/serve.ts [--persist-to DIR] [--var NAME:VALUE]...
// Environment: PORT (8787), HOST (127.0.0.1), GRPC_PORT (2379; 0: no gRPC),
// INSPECTOR_PORT (off).
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { config, ConfigError } from "../src/env.ts";
import { frontServer, listen } from "../grpc-front/front.ts";
import { describeCluster } from "./cluster-state.ts";

/** How long `npm start` waits for the default cluster's first leader before saying there is none. */
const CLUSTER_STATE_TIMEOUT_MS = 60_000;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// Miniflare as wrangler itself uses it: the copy wrangler depends on.
const { Miniflare, convertV4MiniflareOptions } = createRequire(createRequire(import.meta.url).resolve("wrangler"))("miniflare");

interface Args {
  persistTo: string;
  vars: Record<string, string>;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { persistTo: path.join(root, ".state"), vars: {} };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) usage(`${flag} needs a value`);
    if (flag === "--persist-to") args.persistTo = path.resolve(value);
    else if (flag === "--var") {
      const colon = value.indexOf(":");
      if (colon <= 0) usage(`--var takes NAME:VALUE, not ${value}`);
      args.vars[value.slice(0, colon)] = value.slice(colon + 1);
    } else usage(`unknown option ${flag}`);
    i++;
  }
  return args;
}

function usage(problem: string): never {
  console.error(`serve: ${problem}\nusage: node scripts/serve.ts [--persist-to DIR] [--var NAME:VALUE]...`);
  process.exit(2);
}

/** Bundles the Worker exactly as `wrangler deploy` would, into `outDir`. */
function bundle(outDir: string): string {
  const wrangler = path.join(root, "node_modules", ".bin", "wrangler");
  try {
    execFileSync(wrangler, ["deploy", "--dry-run", "--outdir", outDir], {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    console.error(`serve: bundling the Worker failed\n${err.stdout ?? ""}${err.stderr ?? ""}`);
    process.exit(1);
  }
  return path.join(outDir, "index.js");
}

const args = parseArgs(process.argv.slice(2));
const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 8787);
const inspectorPort = process.env.INSPECTOR_PORT ? Number(process.env.INSPECTOR_PORT) : undefined;
const grpcPort = Number(process.env.GRPC_PORT ?? 2379);
if (!Number.isInteger(grpcPort) || grpcPort < 0 || grpcPort > 65535) usage(`GRPC_PORT must be a port number (0 turns gRPC off), not ${process.env.GRPC_PORT}`);

const script = bundle(path.join(root, ".wrangler", "serve"));
const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(root, "wrangler.jsonc"));

// The variables are checked here, before anything listens, with the same
// reading the Worker applies: a bad value stops `npm start` with its name.
const bindings = { ...workerOptions.bindings, ...args.vars };
try {
  config(bindings);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`serve: ${err.message}`);
  process.exit(2);
}

const mf = new Miniflare(
  convertV4MiniflareOptions({
    // Miniflare's own entry socket stays on a free port nobody uses; clients
    // reach the Worker through the direct socket below.
    host: "127.0.0.1",
    port: 0,
    inspectorPort,
    resourcePersistencePath: path.join(args.persistTo, "v3"),
    unsafeObservability: false,
    unsafeLocalExplorer: false,
    unsafeInspectDurableObjects: false,
    workers: [
      {
        ...workerOptions,
        name: "etcd-on-workers",
        modulesRoot: path.dirname(script),
        modules: [{ type: "ESModule", path: script }],
        bindings,
        unsafeDirectSockets: [{ host, port }],
      },
    ],
  }),
);

await mf.ready;
console.log(`etcd-on-workers: serving on http://${host}:${port} (state in ${path.relative(process.cwd(), args.persistTo) || "."})`);

// etcd's gRPC API, through the same front `npm run grpc-proxy` runs, in this process.
const grpc = grpcPort > 0 ? frontServer({ endpoint: `http://${host}:${port}`, serves: "default", advertiseClientURL: `http://${host}:${grpcPort}` }) : null;
if (grpc) {
  try {
    await listen(grpc, `${host}:${grpcPort}`);
  } catch (err) {
    console.error(`serve: cannot serve gRPC on ${host}:${grpcPort}: ${(err as Error).message} (GRPC_PORT=0 turns gRPC off)`);
    await mf.dispose();
    process.exit(1);
  }
  console.log(`etcd-on-workers: serving etcd's gRPC API on ${host}:${grpcPort} (etcdctl --endpoints=${host}:${grpcPort})`);
}
const origin = `http://${host}:${port}`;
console.log(
  config(bindings).dashboard
    ? `etcd-on-workers: dashboard on ${origin}/_dashboard (a named cluster's: ${origin}/clusters/<name>/_dashboard)`
    : "etcd-on-workers: dashboard off (--var DASHBOARD:true turns it on)",
);
// Said once the default cluster has a leader; serving does not wait for it.
void describeCluster(origin, CLUSTER_STATE_TIMEOUT_MS).then((line) => console.log(`etcd-on-workers: ${line}`));

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    grpc?.forceShutdown();
    await mf.dispose();
    process.exit(0);
  });
}
