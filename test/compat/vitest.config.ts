import { defineConfig } from "vitest/config";

// The end-to-end compatibility suite: real etcd 3.4 vs our Worker as
// `npm start` serves it, both as external processes, driven over real HTTP from
// plain Node (deliberately not the Cloudflare vitest pool).
export default defineConfig({
  test: {
    name: "compat",
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/compat/**/*.test.ts"],
    environment: "node",
    globalSetup: ["test/compat/harness/global-setup.ts"],
    // Sequences share the two servers and compare index offsets: never run
    // files or tests concurrently.
    fileParallelism: false,
    sequence: { concurrent: false },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
});
