/**
 * Helpers for the replication tests: named clusters driven over HTTP, replicas
 * inspected over RPC (status, log length, a local read) and from inside their
 * Durable Object (the Raft core's status: config, commit, applied). Every wait
 * is bounded and says what it was waiting for when it gives up.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { parseKeysRequest, type KeysRequest } from "../../src/v2/request.ts";
import type { Status } from "../../src/raft/index.ts";
import type { KeysReply, ReplicaStatus, ReplicaStub } from "../../src/server/api.ts";
import type { Replica } from "../../src/replica/replica.ts";
import { foundingMembers, replicaName } from "../../src/server/members.ts";
import { call, write } from "./helpers.ts";

export const SNAPSHOT_EVERY = Number((env as unknown as { SNAPSHOT_EVERY: string }).SNAPSHOT_EVERY);
const namespace = () => (env as unknown as { REPLICA: DurableObjectNamespace }).REPLICA;

/** Ids of a named cluster's founding members (CLUSTER_SIZE of them, 3 here). */
export function founders(cluster: string): string[] {
  return foundingMembers(cluster, 3).map((m) => m.id);
}

export function replica(cluster: string, id: string): ReplicaStub {
  return namespace().getByName(replicaName(cluster, id)) as unknown as ReplicaStub;
}

/** Rejects with `message` if `promise` has not settled within `ms`. */
export function bounded<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${message}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => {
    if (timer !== null) clearTimeout(timer);
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `probe` until it returns something other than undefined; fails with
 * `message` and the last value seen (or error thrown) after `ms`.
 */
export async function waitUntil<T>(probe: () => Promise<T | undefined>, ms: number, message: string): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown = "nothing yet";
  for (;;) {
    try {
      const v = await bounded(probe(), Math.max(1000, deadline - Date.now()), "a probe to answer");
      if (v !== undefined) return v;
      last = "probe returned undefined";
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting until ${message}; last: ${describe(last)}`);
    await sleep(100);
  }
}

function describe(x: unknown): string {
  if (x instanceof Error) return x.message;
  try {
    return JSON.stringify(x);
  } catch {
    return String(x);
  }
}

const ensured = new Set<string>(["default"]);

/**
 * A named cluster's replicas stay empty until the cluster is created (see
 * src/http/cluster-creation.ts); with no admin token, any request through
 * the router creates it. Tests that talk to replicas directly call this first.
 */
export async function ensureCluster(cluster: string): Promise<void> {
  if (ensured.has(cluster)) return;
  const res = await bounded(call(`/clusters/${cluster}/version`), 15_000, `creating cluster ${cluster}`);
  await res.text();
  if (res.status !== 200) throw new Error(`creating cluster ${cluster}: /version answered ${res.status}`);
  ensured.add(cluster);
}

/** An HTTP call to a named cluster, bounded in time. */
export function clusterCall(cluster: string, path: string, init: RequestInit = {}, ms = 15_000): Promise<Response> {
  return bounded(call(`/clusters/${cluster}${path}`, init), ms, `${init.method ?? "GET"} /clusters/${cluster}${path}`);
}

export interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text === "" ? "" : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, headers: res.headers };
}

/** PUT /v2/keys/<key> value=<value> on a named cluster. */
export async function put(cluster: string, key: string, value: string, ms = 15_000): Promise<Answer> {
  const res = await bounded(write("PUT", `/clusters/${cluster}/v2/keys/${key}`, `value=${encodeURIComponent(value)}`), ms, `PUT ${key} on ${cluster}`);
  return answer(res);
}

export async function get(cluster: string, pathAndQuery: string, ms = 15_000): Promise<Answer> {
  return answer(await clusterCall(cluster, `/v2/keys/${pathAndQuery}`, {}, ms));
}

export async function debug(cluster: string, path: string, body?: unknown): Promise<Answer> {
  const init: RequestInit = { method: "POST" };
  if (body !== undefined) init.body = JSON.stringify(body);
  return answer(await clusterCall(cluster, `/_debug/${path}`, init));
}

export async function members(cluster: string, init: RequestInit = {}, sub = ""): Promise<Answer> {
  return answer(await clusterCall(cluster, `/v2/members${sub}`, init, 30_000));
}

export function addMember(cluster: string, peerURL: string): Promise<Answer> {
  return members(cluster, { method: "POST", body: JSON.stringify({ peerURLs: [peerURL] }), headers: { "Content-Type": "application/json" } });
}

export function removeMember(cluster: string, id: string): Promise<Answer> {
  return members(cluster, { method: "DELETE" }, `/${id}`);
}

/** A KeysRequest as the router builds it, for calling a replica's keys() directly. */
export function keysRequest(method: KeysRequest["method"], path: string, extra: Partial<KeysRequest> = {}): KeysRequest {
  return { ...parseKeysRequest(method, path, new Map()), ...extra };
}

/** One replica's own store, read locally (a plain GET is served by whichever replica receives it). */
export async function localRead(cluster: string, id: string, path: string, recursive = true): Promise<KeysReply> {
  return bounded(
    replica(cluster, id).keys(keysRequest("GET", path, { recursive, sorted: true, forwarded: true })),
    5000,
    `local read of ${path} on ${id}`,
  );
}

export function status(cluster: string, id: string, ms = 5000): Promise<ReplicaStatus> {
  return bounded(replica(cluster, id).status(), ms, `status() of ${id}`);
}

/** The Raft core's own status (config with voters and learners, commit, applied), read inside the object. */
export function raftStatus(cluster: string, id: string, ms = 5000): Promise<Status> {
  const stub = replica(cluster, id) as unknown as DurableObjectStub<Replica>;
  return bounded(
    runInDurableObject(stub, (instance: Replica) => {
      const s = instance.driver.status();
      return JSON.parse(JSON.stringify(s)) as Status;
    }),
    ms,
    `raft status of ${id}`,
  );
}

/** The index of the last entry this replica applied to its store. */
export function appliedIndex(cluster: string, id: string, ms = 5000): Promise<number> {
  const stub = replica(cluster, id) as unknown as DurableObjectStub<Replica>;
  return bounded(
    runInDurableObject(stub, (instance: Replica) => instance.driver.applied),
    ms,
    `applied index of ${id}`,
  );
}

/**
 * Waits until every replica in `ids` answers status(), exactly one of them is
 * StateLeader, and all name it as leader in the same term. Returns the leader
 * and the term.
 */
export async function agreedLeader(cluster: string, ids: string[], ms = 15_000): Promise<{ leader: string; term: number }> {
  await ensureCluster(cluster);
  return waitUntil(
    async () => {
      const all = await Promise.all(ids.map((id) => status(cluster, id, 2000)));
      const leaders = all.filter((s) => s.state === "StateLeader");
      if (leaders.length !== 1) return undefined;
      const { id: leader, raft } = leaders[0];
      if (!all.every((s) => s.leader === leader && s.raft.term === raft.term)) return undefined;
      return { leader, term: raft.term };
    },
    ms,
    `exactly one leader that ${ids.join(", ")} all agree on, in one term`,
  );
}

/** Waits until replica `id` has applied everything up to `index`. */
export function appliedUpTo(cluster: string, id: string, index: number, ms = 15_000): Promise<number> {
  return waitUntil(
    async () => {
      const a = await appliedIndex(cluster, id, 2000);
      return a >= index ? a : undefined;
    },
    ms,
    `${id} has applied up to ${index}`,
  );
}

/** The store's index (X-Etcd-Index) and Raft commit (X-Raft-Index) of a quorum read of the root. */
export async function quorumPosition(cluster: string): Promise<{ etcdIndex: number; raftIndex: number; term: number }> {
  const res = await clusterCall(cluster, "/v2/keys/?quorum=true");
  await res.text();
  if (res.status !== 200) throw new Error(`quorum read of / on ${cluster} answered ${res.status}`);
  return {
    etcdIndex: Number(res.headers.get("x-etcd-index")),
    raftIndex: Number(res.headers.get("x-raft-index")),
    term: Number(res.headers.get("x-raft-term")),
  };
}
