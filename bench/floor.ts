// Serves bench/floor-worker.js the way `npm start` serves our Worker
// (scripts/serve.ts): Miniflare as wrangler uses it, the HTTP socket bound
// straight to the Worker, wrangler.jsonc's compatibility date and flags, and
// the same observability and inspection off. Only the Worker differs.
//
// Usage: PORT=<port> node bench/floor.ts
import { createRequire } from "node:module";
import * as path from "node:path";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { repoRoot } from "../support/processes.ts";

const { Miniflare, convertV4MiniflareOptions } = createRequire(createRequire(import.meta.url).resolve("wrangler"))("miniflare");
const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(repoRoot, "wrangler.jsonc"));
const port = Number(process.env.PORT || 8787);

const mf = new Miniflare(
  convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: 0,
    unsafeObservability: false,
    unsafeLocalExplorer: false,
    unsafeInspectDurableObjects: false,
    workers: [
      {
        name: "bench-floor",
        compatibilityDate: workerOptions.compatibilityDate,
        compatibilityFlags: workerOptions.compatibilityFlags,
        modulesRoot: import.meta.dirname,
        modules: [{ type: "ESModule", path: path.join(import.meta.dirname, "floor-worker.js") }],
        unsafeDirectSockets: [{ host: "127.0.0.1", port }],
      },
    ],
  }),
);
await mf.ready;
console.log(`bench floor: serving on http://127.0.0.1:${port}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void mf.dispose().then(() => process.exit(0)));
