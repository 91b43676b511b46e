// Real gRPC client libraries that nobody here wrote, against real etcd 3.4's
// gRPC API and against ours (the gRPC front that `npm start` serves next to
// the HTTP API), with the same exact expectations:
//
// - python-etcd3 0.12 (Debian python3-etcd3, over grpcio), by
//   etcd3_grpc_client.py: KV, transactions, leases, its lock recipe, watches
//   (events in order, prev_kv, cancel, history), members and status;
// - the Node `etcd3` client (1.1.2, over @grpc/grpc-js), here: KV, if/then/else
//   transactions, leases (grant, put with a lease, keep-alive, revoke), its
//   lock recipe with two contenders, its election recipe (campaign, leader,
//   observe, proclaim, resign) and prefix watches with prev_kv.
//
// Both report revisions relative to the first one they read. The only
// expectation that differs is the member count: etcd's test instance has one
// member, our clusters CLUSTER_SIZE. Our gRPC front serves the default
// cluster, so there is no named-cluster variant here.
import * as path from "node:path";
import { Etcd3, EtcdLockFailedError, type IKeyValue, type Namespace } from "etcd3";
import { describe, expect, it } from "vitest";
import { CLUSTER_SIZE } from "./harness/clusters";
import { targets } from "./harness/compare";
import { repoRoot } from "./harness/processes";
import { run } from "./harness/run";

const t = targets();
const SCRIPT = path.join(repoRoot, "test", "compat", "etcd3_grpc_client.py");
const TARGETS = [
  ["etcd", t.etcdGrpc, 1],
  ["ours", t.oursGrpc, t.oursKind === "worker" ? CLUSTER_SIZE : 1],
] as const;

const newPrefix = (tag: string) => `${tag}-${Math.random().toString(36).slice(2, 8)}/`;

// ------------------------------------------------------------ python-etcd3

const meta = (P: string, name: string, create: number, mod: number, version: number) => ({ key: `${P}${name}`, create, mod, version, lease: false });
const prevKv = (P: string, name: string, value: string, create: number, mod: number, version: number) => ({ key: `${P}${name}`, value, create, mod, version });

const PYTHON_EXPECTED = (P: string, members: number) => ({
  put_rev: 1,
  put_has_prev: false,
  put_prev_kv: prevKv(P, "a", "1", 1, 1, 1),
  get: ["2", meta(P, "a", 1, 2, 2)],
  get_header_rev: 2,
  get_missing: [null, null],
  create_new: true,
  create_existing: false,
  replace_ok: true,
  replace_stale: false,
  prefix: [
    ["10", meta(P, "a", 1, 4, 3)],
    ["2", meta(P, "b", 3, 3, 1)],
    ["3", meta(P, "c", 5, 5, 1)],
  ],
  prefix_desc_by_key: [`${P}c`, `${P}b`, `${P}a`],
  prefix_by_mod_desc: [`${P}c`, `${P}a`, `${P}b`],
  prefix_keys_only: [["", `${P}a`], ["", `${P}b`], ["", `${P}c`]],
  range: [`${P}a`, `${P}b`],
  get_all_sorted: [`${P}c`, `${P}b`, `${P}a`],
  delete: true,
  delete_missing: false,
  delete_prev_kv: [1, [prevKv(P, "c", "3", 5, 5, 1)]],
  delete_prefix: 1,
  after: [],
  empty_key: { code: "INVALID_ARGUMENT", details: "etcdserver: key is not provided" },
  // transactions: t written at +9
  txn_success: [true, ["ResponseOp", [["y", meta(P, "t", 9, 10, 2)]], "ResponseOp"]],
  txn_success_put: "response_put",
  txn_success_delete: 0,
  txn_failure: [false, [["y", meta(P, "t", 9, 10, 2)]], prevKv(P, "t", "y", 9, 10, 2)],
  txn_empty: [false, 0],
  txn_nested: [true, true, "nested"],
  txn_duplicate_put: { code: "INVALID_ARGUMENT", details: "etcdserver: duplicate key given in txn request" },
  txn_revisions: [9, 11, 3],
  // leases
  lease_grant: [30, true],
  lease_info: [true, 30, [`${P}leased`], true],
  lease_attached: true,
  lease_refresh: [[30, true]],
  lease_revoke: null,
  after_revoke: [null, null],
  lease_info_after_revoke: [-1, []],
  revoke_again: { code: "NOT_FOUND", details: "etcdserver: requested lease not found" },
  put_unknown_lease: { code: "NOT_FOUND", details: "etcdserver: requested lease not found" },
  lease_chosen_id: [true, 20],
  // etcd answers FAILED_PRECONDITION "etcdserver: lease already exists",
  // which python-etcd3 turns into its own exception without the text.
  lease_duplicate_id: { type: "PreconditionFailedError" },
  // locks
  lock_first: true,
  lock_second_while_held: false,
  lock_second_waited: true,
  lock_held: [true, false],
  lock_value_is_uuid: true,
  lock_release: true,
  lock_waiter_acquired: [true, true],
  lock_release_not_holder: false,
  lock_waiter_release: true,
  lock_context: true,
  lock_context_after: null,
  // watches: the first watched write is at +22
  watch_events: [
    { type: "PutEvent", key: `${P}w/1`, value: "a", mod: 22, version: 1 },
    { type: "PutEvent", key: `${P}w/1`, value: "b", mod: 23, version: 2, prev: ["a", 1] },
    { type: "PutEvent", key: `${P}w/2`, value: "c", mod: 24, version: 1 },
    { type: "DeleteEvent", key: `${P}w/1`, value: "", mod: 25, version: 0, prev: ["b", 2] },
    { type: "DeleteEvent", key: `${P}w/2`, value: "", mod: 26, version: 0, prev: ["c", 1] },
  ],
  watch_other: [{ type: "PutEvent", key: `${P}other`, value: "y", mod: 28, version: 1 }],
  watch_cancelled_quiet: true,
  watch_replay: [
    ["PutEvent", `${P}w/1`, 22],
    ["PutEvent", `${P}w/1`, 23],
    ["PutEvent", `${P}w/2`, 24],
    ["DeleteEvent", `${P}w/1`, 25],
    ["DeleteEvent", `${P}w/2`, 26],
    ["PutEvent", `${P}w/after-cancel`, 27],
  ],
  watch_iterator: ["PutEvent", "once", []],
  watch_once_timeout: { type: "WatchTimedOut" },
  members: { count: members, ids_unique_nonzero: true, named: true, peer_urls: true, client_urls: ["http://<self>"] },
  status: { version: "3.4.", leader_is_member: true, db_size_positive: true, raft_index_positive: true, raft_term_positive: true },
  alarms: [],
  hash_is_int: true,
});

describe.each(TARGETS)("python-etcd3 (gRPC) against %s", (_label, endpoint, members) => {
  it("KV, transactions, leases, its lock recipe, watches (order, prev_kv, cancel, history), members, status", async () => {
    const [host, port] = endpoint.split(":");
    const P = newPrefix("py3");
    const r = await run("/usr/bin/python3", [SCRIPT, host, port, P], {}, 60_000);
    expect(r.stderr, `python-etcd3 failed:\n${r.stderr}`).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(PYTHON_EXPECTED(P, members));
  });
});

// ------------------------------------------------------------- Node etcd3

/** Polls `cond` until it holds, or fails after `ms` naming `what`. */
async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What a failing call rejected with: the client's error class and message. */
async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
    return "no error";
  } catch (e) {
    return { type: (e as Error).constructor.name, message: (e as Error).message };
  }
}

interface WatchEvent {
  type: "put" | "delete";
  key: string;
  value: string;
  mod: number;
  version: number;
  prev?: [string, number];
}

async function nodeScenario(endpoint: string, P: string): Promise<Record<string, unknown>> {
  const client = new Etcd3({
    hosts: `http://${endpoint}`,
    // Every unary call has a deadline, so a server that never answers fails the test instead of hanging it.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 10_000 }),
  });
  const ns: Namespace = client.namespace(P);
  const out: Record<string, unknown> = {};
  const base = Number((await ns.get("fake").exec()).header.revision);
  const rel = (r: string | number | undefined) => (r === undefined || Number(r) === 0 ? 0 : Number(r) - base);
  // Keys read through the namespace come back whole; events and getAll() keys without the prefix.
  const kv = (x: IKeyValue) => ({ key: x.key.toString().replace(P, ""), value: x.value.toString(), create: rel(x.create_revision), mod: rel(x.mod_revision), version: Number(x.version) });
  const leases: { revoke(): Promise<void> }[] = [];
  try {
    // ------------------------------------------------------------- KV
    out.put = rel((await ns.put("a").value("1").exec()).header.revision);
    out.put_previous = kv(await ns.put("a").value("2").getPrevious());
    out.get = await ns.get("a").string();
    out.get_kv = (await ns.get("a").exec()).kvs.map(kv);
    out.get_missing = await ns.get("missing").string();
    out.exists = [await ns.get("a").exists(), await ns.get("missing").exists()];
    out.get_at_revision = await ns.get("a").revision(base + 1).string();
    await ns.put("b").value("2");
    await ns.put("c").value("3");
    out.get_all = await ns.getAll().strings();
    out.get_all_prefix = await ns.getAll().prefix("b").keys();
    out.sorted_key_desc = await ns.getAll().sort("Key", "Descend").keys();
    out.sorted_mod_desc_limit = await ns.getAll().sort("Mod", "Descend").limit(2).keys();
    out.sorted_value = await ns.getAll().sort("Value", "Ascend").keys();
    out.count = await ns.getAll().count();
    out.touch = rel((await ns.put("c").touch()).header.revision);
    out.after_touch = [await ns.get("c").string(), (await ns.get("c").exec()).kvs.map(kv)];
    out.delete = (await ns.delete().key("b").exec()).deleted;
    out.delete_missing = (await ns.delete().key("b").exec()).deleted;
    out.delete_previous = (await ns.delete().key("c").getPrevious()).map(kv);
    out.delete_all = (await ns.delete().all().exec()).deleted;
    out.after_delete = await ns.getAll().count();
    out.put_unknown_lease = await failure(ns.put("x").value("v").lease("4660").exec());

    // --------------------------------------------------- transactions
    await ns.put("t").value("x"); // +9
    const ok = await ns
      .if("t", "Value", "==", "x")
      .and("t", "Version", "==", 1)
      .and("t", "Create", ">", 0)
      .then(ns.put("t").value("y"), ns.get("t"))
      .else(ns.put("t").value("failure"))
      .commit();
    out.txn_then = [ok.succeeded, rel(ok.header.revision), ok.responses.map((r) => (r as { response?: string }).response), ok.responses[1].response_range?.kvs.map(kv)];
    const no = await ns.if("t", "Mod", "<", base).then(ns.put("t").value("unexpected")).else(ns.get("t"), ns.delete().key("none")).commit();
    out.txn_else = [no.succeeded, rel(no.header.revision), no.responses[0].response_range?.kvs.map(kv), no.responses[1].response_delete_range?.deleted];
    const create = await ns.if("t2", "Create", "==", 0).then(ns.put("t2").value("new")).commit();
    const again = await ns.if("t2", "Create", "==", 0).then(ns.put("t2").value("again")).commit();
    out.txn_create_once = [create.succeeded, again.succeeded, await ns.get("t2").string()];
    out.txn_duplicate = await failure(ns.if("t", "Version", ">", 0).then(ns.put("t").value("1"), ns.put("t").value("2")).commit());
    await ns.delete().all();

    // ---------------------------------------------------------- leases
    const lease = ns.lease(30, { autoKeepAlive: false });
    leases.push(lease);
    const id = await lease.grant();
    await lease.put("leased").value("v");
    const leased = (await ns.get("leased").exec()).kvs[0];
    out.lease_attached = leased.lease === id;
    const ka = await lease.keepaliveOnce();
    out.lease_keepalive = [ka.ID === id, ka.TTL];
    await lease.revoke();
    out.lease_revoked = [lease.revoked(), await ns.get("leased").string()];
    // A lease the client keeps alive itself: one LeaseKeepAlive stream, a
    // request every TTL/3. Its key must outlive the TTL.
    const kept = ns.lease(3);
    leases.push(kept);
    const keepalives: string[] = [];
    kept.on("keepaliveSucceeded", (res) => keepalives.push(String(res.TTL)));
    const keptSince = Date.now();
    await kept.put("kept").value("v");
    await until("3 keep-alives and 1.5 TTLs", () => keepalives.length >= 3 && Date.now() - keptSince >= 4_500);
    out.kept_lease = [await ns.get("kept").string(), [...new Set(keepalives)]];
    await kept.revoke();
    out.kept_lease_gone = await ns.get("kept").exists();

    // ------------------------------------------------------------ locks
    // The client's recipe: a txn creating the key with a lease; acquire()
    // fails at once (EtcdLockFailedError) while another holds it. The second
    // contender retries until it gets the lock, which it may only get after
    // the first has released it.
    const order: string[] = [];
    const first = ns.lock("res");
    await first.acquire();
    order.push("first acquired");
    let refusals = 0;
    const second = (async () => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const l = ns.lock("res");
        try {
          await l.acquire();
          order.push("second acquired");
          return l;
        } catch (e) {
          if (!(e instanceof EtcdLockFailedError) || Date.now() > deadline) throw e;
          if (refusals++ === 0) order.push("second refused");
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    })();
    await until("the second contender to be refused once", () => refusals > 0 || order.includes("second acquired"));
    out.lock_holder_value = await ns.get("res").string();
    await first.release();
    order.push("first released");
    const secondLock = await second;
    out.lock_order = order;
    out.lock_second_holds = (await ns.get("res").exec()).kvs[0]?.lease === (await secondLock.leaseId());
    await secondLock.release();
    out.lock_after = await ns.get("res").exists();
    out.lock_do = await ns.lock("res2").do(async () => [await ns.get("res2").exists(), "ran"]);
    out.lock_do_after = await ns.get("res2").exists();

    // -------------------------------------------------------- elections
    const election = ns.election("e", 30);
    const changes: (string | undefined)[] = [];
    const observer = await election.observe();
    observer.on("change", (v) => changes.push(v));
    out.election_initial = [observer.leader(), await election.leader()];
    const one = election.campaign("one");
    await one.wait();
    await until("the observer to see one", () => observer.leader() === "one");
    out.election_one = [await election.leader(), observer.leader()];
    const two = election.campaign("two");
    const twoElected = two.wait();
    let twoWaiting = false;
    two.on("_isWaiting" as "elected", () => (twoWaiting = true));
    await until("the second candidate to wait", () => twoWaiting);
    await one.proclaim("uno");
    await until("the observer to see uno", () => observer.leader() === "uno");
    out.election_proclaimed = [await election.leader(), observer.leader()];
    await one.resign();
    await twoElected;
    await until("the observer to see two", () => observer.leader() === "two");
    out.election_two = [await election.leader(), observer.leader()];
    await two.resign();
    await until("the observer to see no leader", () => !observer.hasLeader);
    out.election_none = [await election.leader(), observer.leader()];
    out.election_changes = changes;
    out.election_keys_left = await ns.getAll().prefix("election/").count();
    await observer.cancel();

    // ---------------------------------------------------------- watches
    const events: WatchEvent[] = [];
    const ev = (type: WatchEvent["type"]) => (k: IKeyValue, prev?: IKeyValue) => {
      const e: WatchEvent = { type, key: k.key.toString(), value: k.value.toString(), mod: rel(k.mod_revision), version: Number(k.version) };
      if (prev) e.prev = [prev.value.toString(), Number(prev.version)];
      events.push(e);
    };
    const watcher = await ns.watch().prefix("w/").withPreviousKV().create();
    watcher.on("put", ev("put")).on("delete", ev("delete"));
    const firstWrite = rel((await ns.put("w/1").value("a").exec()).header.revision);
    await ns.put("w/1").value("b");
    await ns.put("w/2").value("c");
    await ns.delete().key("w/1");
    await ns.delete().prefix("w/");
    await until("5 watch events", () => events.length >= 5);
    out.watch_first_write = firstWrite;
    out.watch_events = events.map((e) => ({ ...e, mod: e.mod - firstWrite }));
    out.watch_last_revision = rel(watcher.lastRevision() ?? 0) - firstWrite;
    await watcher.cancel();
    // After cancel() nothing more arrives: a write under the prefix, then one
    // that a fresh watch sees.
    const others: WatchEvent[] = [];
    const other = await ns.watch().key("other").create();
    other.on("put", (k) => others.push({ type: "put", key: k.key.toString(), value: k.value.toString(), mod: rel(k.mod_revision), version: Number(k.version) }));
    await ns.put("w/after-cancel").value("x");
    await ns.put("other").value("y");
    await until("the other watch's event", () => others.length >= 1);
    out.watch_cancelled_quiet = events.length;
    await other.cancel();
    // A watch from an old revision replays history; only('delete') filters puts.
    const replayed: string[] = [];
    const replay = await ns.watch().prefix("w/").startRevision(String(base + firstWrite)).only("delete").create();
    replay.on("data", (res) => res.events.forEach((e) => replayed.push(`${e.type} ${e.kv.key.toString()} +${rel(e.kv.mod_revision) - firstWrite}`)));
    await until("2 replayed deletes", () => replayed.length >= 2);
    out.watch_replay_deletes = replayed;
    await replay.cancel();
    await ns.delete().all();

    // ----------------------------------------------- members and status
    const members = (await client.cluster.memberList({})).members;
    const status = await client.maintenance.status({});
    out.members = [members.length, members.every((m) => m.name !== "" && m.peerURLs.length > 0), [...new Set(members.flatMap((m) => m.clientURLs))].map((u) => u.replace(endpoint, "<self>"))];
    out.status = [status.version.slice(0, 4), members.some((m) => m.ID === status.leader), Number(status.dbSize) > 0];
    return out;
  } finally {
    await Promise.all(leases.map((l) => l.revoke().catch(() => undefined)));
    await ns.delete().all().catch(() => undefined);
    client.close();
  }
}

const NODE_EXPECTED = (members: number) => ({
  put: 1,
  put_previous: { key: "a", value: "1", create: 1, mod: 1, version: 1 },
  get: "2",
  get_kv: [{ key: "a", value: "2", create: 1, mod: 2, version: 2 }],
  get_missing: null,
  exists: [true, false],
  get_at_revision: "1",
  get_all: { a: "2", b: "2", c: "3" },
  get_all_prefix: ["b"],
  sorted_key_desc: ["c", "b", "a"],
  sorted_mod_desc_limit: ["c", "b"],
  sorted_value: ["a", "b", "c"],
  count: 3,
  // touch: a put that keeps the value (ignore_value)
  touch: 5,
  after_touch: ["3", [{ key: "c", value: "3", create: 4, mod: 5, version: 2 }]],
  delete: "1",
  delete_missing: "0",
  delete_previous: [{ key: "c", value: "3", create: 4, mod: 5, version: 2 }],
  delete_all: "1",
  after_delete: 0,
  // (the client puts the gRPC error text where it means the lease id)
  put_unknown_lease: { type: "EtcdLeaseInvalidError", message: "Lease 5 NOT_FOUND: etcdserver: requested lease not found is expired or revoked" },
  txn_then: [true, 10, ["response_put", "response_range"], [{ key: "t", value: "y", create: 9, mod: 10, version: 2 }]],
  txn_else: [false, 10, [{ key: "t", value: "y", create: 9, mod: 10, version: 2 }], "0"],
  txn_create_once: [true, false, "new"],
  txn_duplicate: { type: "GRPCInvalidArgumentError", message: "3 INVALID_ARGUMENT: etcdserver: duplicate key given in txn request" },
  lease_attached: true,
  lease_keepalive: [true, "30"],
  lease_revoked: [true, null],
  kept_lease: ["v", ["3"]],
  kept_lease_gone: false,
  lock_holder_value: "",
  lock_order: ["first acquired", "second refused", "first released", "second acquired"],
  lock_second_holds: true,
  lock_after: false,
  lock_do: [true, "ran"],
  lock_do_after: false,
  election_initial: [undefined, undefined],
  election_one: ["one", "one"],
  election_proclaimed: ["uno", "uno"],
  election_two: ["two", "two"],
  election_none: [undefined, undefined],
  election_changes: ["one", "uno", "two", undefined],
  election_keys_left: 0,
  watch_first_write: 28,
  watch_events: [
    { type: "put", key: "w/1", value: "a", mod: 0, version: 1 },
    { type: "put", key: "w/1", value: "b", mod: 1, version: 2, prev: ["a", 1] },
    { type: "put", key: "w/2", value: "c", mod: 2, version: 1 },
    { type: "delete", key: "w/1", value: "", mod: 3, version: 0, prev: ["b", 2] },
    { type: "delete", key: "w/2", value: "", mod: 4, version: 0, prev: ["c", 1] },
  ],
  // where the watcher would resume: one past the revision of the last response it had
  watch_last_revision: 5,
  watch_cancelled_quiet: 5,
  watch_replay_deletes: ["Delete w/1 +3", "Delete w/2 +4"],
  members: [members, true, ["http://<self>"]],
  status: ["3.4.", true, true],
});

describe.each(TARGETS)("Node etcd3 (gRPC) against %s", (_label, endpoint, members) => {
  it("KV, if/then/else, leases with keep-alive, lock with two contenders, election with an observer, prefix watches with prev_kv", async () => {
    const out = await nodeScenario(endpoint, newPrefix("node3"));
    expect(out).toEqual(NODE_EXPECTED(members));
  }, 90_000);
});
