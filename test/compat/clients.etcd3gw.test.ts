// OpenStack's etcd3gw (Debian python3-etcd3gw, the JSON-gateway client tooz
// uses for locks and group membership), against real etcd and against our
// server (the default cluster and a named one), with the same exact
// expectations: KV, transactions, leases, its lock recipe and a watch. The script reports
// revisions relative to the one it read first.
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { oursClusters } from "./harness/clusters";
import { targets } from "./harness/compare";
import { repoRoot } from "./harness/processes";
import { run } from "./harness/run";

const t = targets();
const SCRIPT = path.join(repoRoot, "test", "compat", "etcd3gw_client.py");

const EXPECTED = (P: string) => ({
  put: true,
  get: ["1"],
  get_missing: [],
  create_new: true,
  create_existing: false,
  replace_ok: true,
  replace_stale: false,
  prefix: [
    ["10", { key: `${P}a`, create: 1, mod: 3, version: 2 }],
    ["2", { key: `${P}b`, create: 2, mod: 2, version: 1 }],
  ],
  get_all_sorted: [`${P}b`, `${P}a`],
  delete: true,
  delete_missing: false,
  delete_prefix: true,
  after: [],
  lease_ttl_in_range: true,
  lease_keys: [`${P}leased`],
  lease_refresh: 30,
  lease_revoke: true,
  after_revoke: [],
  lock_first: true,
  lock_second_while_held: false,
  lock_held: [true, false],
  lock_release: true,
  lock_second_after_release: true,
  watch_event: { key: `${P}watched`, value: "seen", version: "1" },
});

const ours = oursClusters().map((c) => [`ours [${c.label}]`, t.ours, `${c.root}/v3/`] as const);

describe.each([["etcd", t.etcd, "/v3/"] as const, ...ours])("etcd3gw against %s", (_label, url, apiPath) => {
  it("put, get, create, replace (compare-and-swap), prefix reads sorted, delete, delete_prefix, leases, locks, a watch", async () => {
    const u = new URL(url);
    const P = `gw-${Math.random().toString(36).slice(2, 8)}/`;
    const r = await run("/usr/bin/python3", [SCRIPT, u.hostname, u.port, apiPath, P], {}, 60_000);
    expect(r.stderr, `etcd3gw failed:\n${r.stderr}`).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(EXPECTED(P));
  });
});
