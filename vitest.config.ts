import { defineConfig } from "vitest/config";
import { cloudflareTest } from "@cloudflare/vitest-plugin";

// Two projects: pure modules run in Node; everything that touches the
// Workers runtime runs inside real workerd with real Durable Objects.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts", "test/raft/**/*.test.ts", "test/server/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.jsonc" },
            // Fault injection on, and snapshots often enough to test compaction quickly.
            miniflare: { bindings: { DEBUG_FAULTS: "true", SNAPSHOT_EVERY: "200", CLIENT_CERT_AUTH: "true" } },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts"],
          setupFiles: ["test/workers/setup.ts"],
        },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.jsonc" },
            // Storage and v2 store quotas small enough to reach in a test
            // (the lowest QUOTA_BACKEND_BYTES and V2_STORE_QUOTA_BYTES
            // accepted), and snapshots often enough that the log's space
            // comes back soon after compaction.
            miniflare: { bindings: { DEBUG_FAULTS: "true", SNAPSHOT_EVERY: "20", QUOTA_BACKEND_BYTES: "1048576", V2_STORE_QUOTA_BYTES: "65536" } },
          }),
        ],
        test: {
          name: "workers-quota",
          include: ["test/workers-quota/**/*.test.ts"],
          setupFiles: ["test/workers/setup.ts"],
        },
      },
    ],
  },
});
