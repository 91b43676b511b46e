/**
 * etcd's v3lock and v3election services over the gateway (`/v3/lock/*`,
 * `/v3/election/*`, Observe excepted), run in the Worker as clients of the
 * cluster's KV API, as etcd runs them as clients of its own server. The
 * recipes themselves are in src/v3/recipes.ts.
 */
import { goJSON } from "../go/json.ts";
import type { V3Reply, V3Request } from "../server/api.ts";
import { clusterId } from "../server/identity.ts";
import { GrpcCode, V3Error, type V3ErrorBody } from "../v3/errors.ts";
import { bytes, encodeKeyValue, fields, idToDecimal, int64, omitZero, readMessage, responseHeader, type Field } from "../v3/gateway-json.ts";
import { acquire, errNoLeaderKey, leaderOf, prefixEnd, proclaim, resign, type LeaderKey, type RecipeClient } from "../v3/recipes.ts";
import { forEachLine } from "../server/lines.ts";
import { rangeRequest } from "../v3/requests.ts";
import type { KeyValue, RangeResponse, TxnResponse } from "../v3/types.ts";
import type { ClusterApi } from "./cluster-client.ts";

/** A recipe client that remembers the member and term of its last answer, for the response header. */
class Client implements RecipeClient {
  memberId = "";
  raftTerm = 0;

  constructor(private readonly api: ClusterApi) {}

  private async call<T>(req: V3Request): Promise<T> {
    const reply: V3Reply = await this.api.v3(req);
    if (!reply.ok) throw recipeError(reply.error);
    this.memberId = reply.memberId;
    this.raftTerm = reply.raftTerm;
    return reply.response as T;
  }

  range(req: Parameters<RecipeClient["range"]>[0]): Promise<RangeResponse> {
    return this.call({ method: "range", req: rangeRequest(req.key, req) });
  }

  txn(compare: { key: string; createRevision: number }, success: Parameters<RecipeClient["txn"]>[1], failure: Parameters<RecipeClient["txn"]>[2]): Promise<TxnResponse> {
    const cmp = { key: compare.key, rangeEnd: "", target: "CREATE" as const, result: "EQUAL" as const, version: 0, createRevision: compare.createRevision, modRevision: 0, value: "", lease: 0 };
    return this.call({ method: "txn", req: { compare: [cmp], success, failure } });
  }

  deleteKey(key: string): Promise<{ revision: number }> {
    return this.call({ method: "deleteRange", req: { key, rangeEnd: "", prevKv: false } });
  }

  deleted(key: string, revision: number): Promise<void> {
    return this.watch(key, "", revision + 1, (_rev, events) => !events.some((e) => e.type === "DELETE"));
  }

  /**
   * Watches `key` (to `rangeEnd`, if given) from revision `from`, handing each
   * response's revision and events to `onEvents` until it returns false.
   */
  async watch(key: string, rangeEnd: string, from: number, onEvents: (revision: number, events: WatchedEvent[]) => boolean): Promise<void> {
    const create = { create_request: { key: btoa(key), ...(rangeEnd ? { range_end: btoa(rangeEnd) } : {}), start_revision: String(from) } };
    const stream = await this.api.v3Watch(new Blob([`${JSON.stringify(create)}\n`]).stream());
    let satisfied = false;
    await forEachLine(stream, (line) => {
      const result = (JSON.parse(line) as { result?: WireWatchResponse }).result;
      // A watch refused (its keys may not be read) ends the call, as its range would have.
      if (result?.canceled && result.cancel_reason) throw new V3Error(GrpcCode.Unknown, result.cancel_reason.replace(/^rpc error: code = \w+ desc = /, ""));
      if (!result?.events) return true;
      const events = result.events.map((e) => ({ type: e.type ?? "PUT", kv: fromWire(e.kv) }));
      satisfied = !onEvents(Number(result.header.revision ?? 0), events);
      return !satisfied;
    });
    if (!satisfied) throw new V3Error(GrpcCode.Unavailable, "etcdserver: the watch ended");
  }

  header(cluster: string, revision: number) {
    return responseHeader({ clusterId: idToDecimal(clusterId(cluster)), memberId: this.memberId ? idToDecimal(this.memberId) : "", revision, raftTerm: this.raftTerm });
  }
}

type Handler = (f: Field, c: Client, cluster: string) => Promise<string>;

interface WatchedEvent {
  type: string;
  kv: KeyValue;
}

type WireKeyValue = { key: string; create_revision?: string; mod_revision?: string; version?: string; value?: string; lease?: string };
type WireWatchResponse = { header: { revision?: string }; canceled?: boolean; cancel_reason?: string; events?: { type?: string; kv: WireKeyValue }[] };

/**
 * An error of the KV calls a recipe makes, as etcd's lock and election
 * services return it: they call the server in-process, and auth's refusals
 * reach the client as Unknown with their text.
 */
function recipeError(error: V3ErrorBody): V3Error {
  const auth = error.code === GrpcCode.PermissionDenied || error.code === GrpcCode.Unauthenticated || /^etcdserver: (user name is empty|revision of auth store is old)$/.test(error.message);
  return new V3Error(auth ? GrpcCode.Unknown : error.code, error.message);
}

/** A key-value as the watch stream writes it (gateway JSON), back as data. */
function fromWire(kv: WireKeyValue): KeyValue {
  return {
    key: atob(kv.key),
    createRevision: Number(kv.create_revision ?? 0),
    modRevision: Number(kv.mod_revision ?? 0),
    version: Number(kv.version ?? 0),
    value: atob(kv.value ?? ""),
    lease: Number(kv.lease ?? 0),
  };
}

/**
 * Election Observe, as etcd's concurrency recipe observes: the leader now
 * (waiting for a first candidate if there is none), then each value it
 * proclaims, then, once its key is gone, the next leader; one
 * `{"result":{"header","kv"}}` line each, until the client leaves.
 */
export function observeStream(body: string, api: ClusterApi, cluster: string): ReadableStream<Uint8Array> {
  const name = bytes(readMessage(body)("name"));
  const c = new Client(api);
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const encoder = new TextEncoder();
  const send = (revision: number, kv: KeyValue) =>
    void writer.write(encoder.encode(`${goJSON({ result: { header: c.header(cluster, revision), kv: encodeKeyValue(kv) } })}\n`)).catch(() => {});
  const prefix = `${name}/`;
  const run = async () => {
    for (;;) {
      const now = await c.range(rangeRequest(prefix, { rangeEnd: prefixEnd(prefix), sortTarget: "CREATE", sortOrder: "ASCEND", limit: 1 }));
      let leader: KeyValue | undefined = now.kvs[0];
      let revision = now.revision;
      if (!leader) {
        // Nobody leads: the first key put under the name does.
        await c.watch(prefix, prefixEnd(prefix), now.revision, (_rev, events) => {
          const put = events.find((e) => e.type === "PUT");
          if (put) [leader, revision] = [put.kv, put.kv.modRevision];
          return !put;
        });
      }
      send(revision, leader!);
      await c.watch(leader!.key, "", revision + 1, (rev, events) => {
        for (const e of events) {
          if (e.type === "DELETE") return false;
          send(rev, e.kv);
        }
        return true;
      });
    }
  };
  run()
    .catch((err: unknown) => console.error("election observe", err))
    .finally(() => writer.close().catch(() => {}));
  return readable;
}

function leaderKey(node: ReturnType<Field>): LeaderKey {
  if (node === undefined || node === "null") throw errNoLeaderKey();
  const f = fields(node);
  return { name: bytes(f("name")), key: bytes(f("key")), rev: int64(f("rev")), lease: int64(f("lease")) };
}

const leaderJSON = (l: LeaderKey) => omitZero({ name: btoa(l.name), key: btoa(l.key), rev: String(l.rev), lease: String(l.lease) });

export const RECIPE_PATHS: Record<string, Handler> = {
  "lock/lock": async (f, c, cluster) => {
    const name = bytes(f("name"));
    const lease = int64(f("lease"));
    const held = await acquire(c, name, lease, "");
    return goJSON({ header: c.header(cluster, held.waitRevision), key: btoa(held.key) });
  },
  "lock/unlock": async (f, c, cluster) => {
    const r = await c.deleteKey(bytes(f("key")));
    return goJSON({ header: c.header(cluster, r.revision) });
  },
  "election/campaign": async (f, c, cluster) => {
    const name = bytes(f("name"));
    const lease = int64(f("lease"));
    const value = bytes(f("value"));
    const held = await acquire(c, name, lease, value);
    const leader = { name, key: held.key, rev: held.rev, lease };
    // Campaigning again with another value proclaims it, as etcd's Campaign does.
    if (held.value !== value) await proclaim(c, leader, value);
    return goJSON({ header: c.header(cluster, held.txnRevision), leader: leaderJSON(leader) });
  },
  "election/proclaim": async (f, c, cluster) => {
    const leader = leaderKey(f("leader"));
    const revision = await proclaim(c, leader, bytes(f("value")));
    return goJSON({ header: c.header(cluster, revision) });
  },
  "election/leader": async (f, c, cluster) => {
    const { revision, kv } = await leaderOf(c, bytes(f("name")));
    return goJSON({ header: c.header(cluster, revision), kv: encodeKeyValue(kv) });
  },
  "election/resign": async (f, c, cluster) => {
    const revision = await resign(c, leaderKey(f("leader")));
    return goJSON({ header: c.header(cluster, revision) });
  },
};

/** Runs a lock or election call; its errors are thrown as V3Errors. */
export function runRecipe(handler: Handler, body: string, api: ClusterApi, cluster: string): Promise<string> {
  return handler(readMessage(body), new Client(api), cluster);
}
