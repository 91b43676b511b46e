// python-etcd (Debian python3-etcd, run with the system interpreter, which is
// the one that has the module) against our server and against etcd, with the
// same exact expectations. The script prints indexes relative to the store
// index it read first, so the expectations do not depend on the server.
//
// Deliberate difference: etcd's test instance has one member; our clusters
// have the 3 configured members, listed exactly (ids, names, peer URLs, the
// client URL we used), one of them the leader. A named cluster of ours runs
// with python-etcd's version_prefix set to /clusters/<name>/v2.
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { configuredMembers, oursClusters } from "./harness/clusters";
import { targets } from "./harness/compare";
import { send } from "./harness/http";
import { repoRoot } from "./harness/processes";
import { run } from "./harness/run";

const t = targets();
const SCRIPT = path.join(repoRoot, "test", "compat", "python_etcd_client.py");

function file(key: string, value: string, action: string, created: number, modified: number, extra: Record<string, unknown> = {}) {
  return { action, key, value, dir: false, ttl: null, has_expiration: false, createdIndex: created, modifiedIndex: modified, newKey: false, ...extra };
}

function expected(P: string, U: string) {
  return {
    base_matches_header: true,
    write: file(`${P}/a`, "one", "set", 1, 1, { newKey: true }),
    overwrite: file(`${P}/a`, "two", "set", 2, 2),
    read_recursive: { dir: true, leaves: [[`${P}/a`, "two"], [`${P}/d/x`, "1"], [`${P}/d/y`, "2"]], children: [`${P}/a`, `${P}/d/x`, `${P}/d/y`] },
    read_file: file(`${P}/a`, "two", "get", 2, 2),
    read_missing: { type: "EtcdKeyNotFound", payload: { cause: `${P}/missing`, errorCode: 100, message: "Key not found", status: 404 } },
    watch: file(`${P}/w`, "watched", "set", 5, 5),
    watch_index: file(`${P}/a`, "one", "set", 1, 1),
    cas_ok: file(`${P}/a`, "three", "compareAndSwap", 2, 6),
    cas_fail: { type: "EtcdCompareFailed", message: "Compare failed : [wrong != three]" },
    create_exists: { type: "EtcdAlreadyExist", message: `Key already exists : ${P}/a` },
    append: [file(`${P}/queue/<+7>`, "job1", "create", 7, 7, { newKey: true }), file(`${P}/queue/<+8>`, "job2", "create", 8, 8, { newKey: true })],
    append_name_is_index: true,
    ttl_write: file(`${P}/t`, "tv", "set", 9, 9, { newKey: true, ttl: 100, has_expiration: true }),
    refresh: file(`${P}/t`, "tv", "update", 9, 10, { ttl: 200, has_expiration: true }),
    after_refresh: file(`${P}/t`, "tv", "get", 9, 10, { ttl: 200, has_expiration: true }),
    delete: { ...file(`${P}/a`, "", "delete", 2, 11), value: null },
    delete_dir: { type: "EtcdNotFile", message: `Not a file : ${P}/d` },
    delete_recursive: { ...file(`${P}/d`, "", "delete", 3, 12), value: null, dir: true },
    delete_missing: { type: "EtcdKeyNotFound", message: `Key not found : ${P}/a` },
    machines: [U],
    leader_client_urls: [U],
    version_is_str: true,
    cluster_version: "3.4.0",
    members: [["clientURLs", "id", "name", "peerURLs"]],
    member_list: [[expect.stringMatching(/^[0-9a-f]{1,16}$/), "compat", [expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/)], [U]]],
    leader_id: expect.stringMatching(/^[0-9a-f]{1,16}$/),
    stats_store_keys: [
      "getsSuccess", "getsFail", "setsSuccess", "setsFail", "deleteSuccess", "deleteFail", "updateSuccess", "updateFail",
      "createSuccess", "createFail", "compareAndSwapSuccess", "compareAndSwapFail", "compareAndDeleteSuccess",
      "compareAndDeleteFail", "expireCount", "watchers",
    ],
  };
}

/** What differs for one of our replicated clusters: all its configured members. */
function expectedOurs(P: string, U: string, cluster: string) {
  const members = configuredMembers(cluster);
  return {
    ...expected(P, U),
    members: members.map(() => ["clientURLs", "id", "name", "peerURLs"]),
    member_list: members.map((m) => [m.id, m.name, m.peerURLs, [U]]),
    leader_id: expect.toBeOneOf(members.map((m) => m.id)),
  };
}

const ours = oursClusters().map((c) => [`ours [${c.label}]`, t.ours + c.root, c.root, t.oursKind === "worker" ? c.name : ""] as const);

describe.each([["etcd", t.etcd, "", ""] as const, ...ours])("python-etcd against %s", (_label, url, root, cluster) => {
  it("write, read, watch, test_and_set, append, refresh, delete, cluster info", async () => {
    const u = new URL(url);
    const P = `/py-${Math.random().toString(36).slice(2, 8)}`;
    const r = await run("/usr/bin/python3", [SCRIPT, u.hostname, u.port, P, root], {}, 60_000);
    // The script leaves a key with a 200 s TTL: remove it before it expires
    // in the middle of a later sequence and shifts that sequence's indexes.
    await send(url, { method: "DELETE", path: `${root}/v2/keys${P}?recursive=true` });
    expect(r.stderr, `python-etcd failed:\n${r.stderr}`).toBe("");
    expect(r.code).toBe(0);
    const got = JSON.parse(r.stdout) as Record<string, unknown>;
    // ttl right after a write is exact; after the refresh read it may tick down.
    const ar = got.after_refresh as { ttl: number } | undefined;
    if (ar && (ar.ttl === 199 || ar.ttl === 200)) ar.ttl = 200;
    expect(got).toEqual(cluster === "" ? expected(P, url) : expectedOurs(P, url, cluster));
    // The leader python-etcd reports is one of the listed members.
    const list = got.member_list as [string][];
    expect(list.map((m) => m[0])).toContain(got.leader_id);
  });
});
