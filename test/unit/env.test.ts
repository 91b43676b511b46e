/** Every variable is read strictly once: a bad value is an error that names it and says what is accepted. */
import { describe, expect, it } from "vitest";
import { app } from "../../src/app.ts";
import { config, ConfigError, type Env, type Vars } from "../../src/env.ts";

describe("config", () => {
  it("gives the defaults for unset variables", () => {
    expect(config({})).toEqual({
      clusterSize: 3,
      snapshotEvery: 10_000,
      maxWatches: 0,
      quotaBackendBytes: 2 * 1024 * 1024 * 1024,
      v2StoreQuotaBytes: 32 * 1024 * 1024,
      watchProgressNotifyMs: 600_000,
      debugFaults: false,
      dashboard: false,
      placement: { locations: [], jurisdiction: null },
      peerDelayMs: 0,
      discovery: { baseURL: null, tokenTTLSeconds: 604_800, newPerMinute: 60 },
      adminToken: null,
      clientCertAuth: false,
      authTokenTTLSeconds: 300,
    });
  });

  it("takes an admin token of 16 visible characters or more, and never repeats a bad one", () => {
    expect(config({ ADMIN_TOKEN: "0123456789abcdef" }).adminToken).toBe("0123456789abcdef");
    for (const bad of ["short-secret", "sixteen chars ok"]) {
      expect(() => config({ ADMIN_TOKEN: bad })).toThrow("ADMIN_TOKEN must be at least 16 visible ASCII characters, without spaces");
      expect(() => config({ ADMIN_TOKEN: bad })).not.toThrow(bad);
    }
  });

  it("reads good values", () => {
    const c = config({ CLUSTER_SIZE: "5", SNAPSHOT_EVERY: "200", MAX_WATCHES: "32256", DEBUG_FAULTS: "true", DASHBOARD: "true", DISCOVERY_BASE_URL: "https://d.example.com/" });
    expect(config({ QUOTA_BACKEND_BYTES: "8589934592" }).quotaBackendBytes).toBe(8 * 1024 ** 3);
    expect(config({ V2_STORE_QUOTA_BYTES: "65536" }).v2StoreQuotaBytes).toBe(65536);
    expect(() => config({ V2_STORE_QUOTA_BYTES: "100000000" })).toThrow("V2_STORE_QUOTA_BYTES must be a whole number from 65536 to 50331648");
    expect([c.clusterSize, c.snapshotEvery, c.maxWatches, c.debugFaults, c.dashboard, c.discovery.baseURL]).toEqual([5, 200, 32256, true, true, "https://d.example.com"]);
  });

  const refused: [Vars, string][] = [
    [{ CLUSTER_SIZE: "0" }, 'CLUSTER_SIZE must be a whole number from 1 to 9, not "0"'],
    [{ CLUSTER_SIZE: "10" }, 'CLUSTER_SIZE must be a whole number from 1 to 9, not "10"'],
    [{ CLUSTER_SIZE: "three" }, 'CLUSTER_SIZE must be a whole number from 1 to 9, not "three"'],
    [{ SNAPSHOT_EVERY: "-5" }, 'SNAPSHOT_EVERY must be a whole number from 1 to 1000000, not "-5"'],
    [{ SNAPSHOT_EVERY: "0" }, 'SNAPSHOT_EVERY must be a whole number from 1 to 1000000, not "0"'],
    [{ SNAPSHOT_EVERY: "1e3" }, 'SNAPSHOT_EVERY must be a whole number from 1 to 1000000, not "1e3"'],
    [{ MAX_WATCHES: "-1" }, 'MAX_WATCHES must be a whole number from 0 to 1000000, not "-1"'],
    [{ QUOTA_BACKEND_BYTES: "16384" }, 'QUOTA_BACKEND_BYTES must be a whole number from 1048576 to 10000000000, not "16384"'],
    [{ QUOTA_BACKEND_BYTES: "2GiB" }, 'QUOTA_BACKEND_BYTES must be a whole number from 1048576 to 10000000000, not "2GiB"'],
    [{ WATCH_PROGRESS_NOTIFY_MS: "5" }, 'WATCH_PROGRESS_NOTIFY_MS must be a whole number from 10 to 86400000, not "5"'],
    [{ DEBUG_FAULTS: "yes" }, 'DEBUG_FAULTS must be "true" or "false", not "yes"'],
    [{ DASHBOARD: "on" }, 'DASHBOARD must be "true" or "false", not "on"'],
    [{ CLIENT_CERT_AUTH: "1" }, 'CLIENT_CERT_AUTH must be "true" or "false", not "1"'],
    [{ AUTH_TOKEN_TTL: "0" }, 'AUTH_TOKEN_TTL must be a whole number from 1 to 86400, not "0"'],
    [{ DISCOVERY_NEW_PER_MINUTE: "10001" }, 'DISCOVERY_NEW_PER_MINUTE must be a whole number from 0 to 10000, not "10001"'],
    [{ DISCOVERY_BASE_URL: "discovery.example.com" }, "DISCOVERY_BASE_URL must be an absolute http(s) URL"],
  ];
  for (const [vars, message] of refused) {
    it(`refuses ${JSON.stringify(vars)}`, () => {
      expect(() => config(vars)).toThrow(ConfigError);
      expect(() => config(vars)).toThrow(message);
    });
  }

  it("answers a keys request with a 500 that names the bad variable", async () => {
    const env = { CLUSTER_SIZE: "0" } as unknown as Env;
    const res = await app.fetch(new Request("http://h/v2/keys/a"), env);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({
      message: 'the server is misconfigured: CLUSTER_SIZE must be a whole number from 1 to 9, not "0": fix it in wrangler.jsonc "vars"',
    });
  });
});
