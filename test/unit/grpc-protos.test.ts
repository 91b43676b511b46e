/**
 * proto/ (the etcd 3.4 gRPC wire contract). These are the facts real clients
 * depend on: method paths and streaming kinds, field numbers, and the exact
 * bytes on the wire. Expected bytes were worked out by hand from field
 * numbers and wire types, and cross-checked against etcd 3.4.23's own .proto
 * files.
 */
import { describe, expect, it } from "vitest";
import { loadSync } from "@grpc/proto-loader";

const PROTO_ROOT = new URL("../../proto/", import.meta.url).pathname;

const def = loadSync(
  ["etcdserverpb/rpc.proto", "v3lockpb/v3lock.proto", "v3electionpb/v3election.proto"],
  { keepCase: true, longs: String, enums: String, bytes: String, defaults: false, oneofs: true, includeDirs: [PROTO_ROOT] },
);

interface Method {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize(value: object): Uint8Array;
  responseDeserialize(bytes: Uint8Array): unknown;
}
interface FieldDescriptor {
  name: string;
  number: number;
  label: string;
  type: string;
}

function method(service: string, name: string): Method {
  const svc = def[service] as unknown as Record<string, Method> | undefined;
  if (!svc?.[name]) throw new Error(`no method ${service}/${name}`);
  return svc[name];
}

function fields(message: string): Record<string, FieldDescriptor> {
  const entry = def[message] as unknown as { type?: { field: FieldDescriptor[] } } | undefined;
  if (!entry?.type) throw new Error(`no message ${message}`);
  return Object.fromEntries(entry.type.field.map((f) => [f.name, f]));
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const fromHex = (h: string) => new Uint8Array(h.match(/../g)!.map((x) => parseInt(x, 16)));
const utf8 = (s: string) => new TextEncoder().encode(s);

describe("method paths and streaming", () => {
  const cases: [string, string, string, boolean, boolean][] = [
    ["etcdserverpb.KV", "Range", "/etcdserverpb.KV/Range", false, false],
    ["etcdserverpb.KV", "Txn", "/etcdserverpb.KV/Txn", false, false],
    ["etcdserverpb.Watch", "Watch", "/etcdserverpb.Watch/Watch", true, true],
    ["etcdserverpb.Lease", "LeaseKeepAlive", "/etcdserverpb.Lease/LeaseKeepAlive", true, true],
    ["etcdserverpb.Lease", "LeaseTimeToLive", "/etcdserverpb.Lease/LeaseTimeToLive", false, false],
    ["etcdserverpb.Cluster", "MemberList", "/etcdserverpb.Cluster/MemberList", false, false],
    ["etcdserverpb.Maintenance", "Snapshot", "/etcdserverpb.Maintenance/Snapshot", false, true],
    ["etcdserverpb.Maintenance", "HashKV", "/etcdserverpb.Maintenance/HashKV", false, false],
    ["etcdserverpb.Auth", "UserGrantRole", "/etcdserverpb.Auth/UserGrantRole", false, false],
    ["v3lockpb.Lock", "Lock", "/v3lockpb.Lock/Lock", false, false],
    ["v3lockpb.Lock", "Unlock", "/v3lockpb.Lock/Unlock", false, false],
    ["v3electionpb.Election", "Observe", "/v3electionpb.Election/Observe", false, true],
    ["v3electionpb.Election", "Campaign", "/v3electionpb.Election/Campaign", false, false],
  ];
  it.each(cases)("%s/%s", (service, name, path, clientStream, serverStream) => {
    const m = method(service, name);
    expect(m.path).toBe(path);
    expect([m.requestStream, m.responseStream]).toEqual([clientStream, serverStream]);
  });

  it("has no AuthStatus RPC (added in 3.5, not 3.4)", () => {
    expect(() => method("etcdserverpb.Auth", "AuthStatus")).toThrow();
  });
});

describe("field numbers", () => {
  it("RangeRequest", () => {
    const f = fields("etcdserverpb.RangeRequest");
    expect([f.sort_order.number, f.sort_target.number, f.keys_only.number, f.max_create_revision.number]).toEqual([5, 6, 8, 13]);
  });
  it("Compare.range_end is field 64, outside the target_union oneof", () => {
    const f = fields("etcdserverpb.Compare");
    expect(f.range_end.number).toBe(64);
    expect([f.version.number, f.value.number, f.lease.number]).toEqual([4, 7, 8]);
  });
  it("WatchResponse.events is repeated field 11", () => {
    const f = fields("etcdserverpb.WatchResponse");
    expect([f.events.number, f.events.label]).toEqual([11, "LABEL_REPEATED"]);
    expect(f.fragment.number).toBe(7);
  });
  it("LeaseTimeToLiveResponse and Member keep etcd's camelCase names", () => {
    expect(fields("etcdserverpb.LeaseTimeToLiveResponse").grantedTTL.number).toBe(4);
    expect(fields("etcdserverpb.Member").isLearner.number).toBe(5);
  });
});

describe("wire bytes", () => {
  it("PutRequest", () => {
    const bytes = method("etcdserverpb.KV", "Put").requestSerialize({
      key: utf8("foo"),
      value: utf8("bar"),
      lease: 300,
      prev_kv: true,
      ignore_lease: true,
    });
    // 0a 03 "foo" | 12 03 "bar" | 18 ac02 (300) | 20 01 | 30 01
    expect(hex(bytes)).toBe("0a03666f6f" + "1203626172" + "18ac02" + "2001" + "3001");
  });

  it("TxnRequest with a Compare using the oneof and field 64", () => {
    const bytes = method("etcdserverpb.KV", "Txn").requestSerialize({
      compare: [{ result: "GREATER", target: "MOD", key: utf8("a"), mod_revision: 5, range_end: utf8("b") }],
    });
    // compare#1 len 13: result 08 01 | target 10 02 | key 1a 01 "a" | mod_revision 30 05 | range_end 8204 01 "b"
    expect(hex(bytes)).toBe("0a0d" + "0801" + "1002" + "1a0161" + "3005" + "82040162");
  });

  it("WatchRequest create_request packs the filters", () => {
    const bytes = method("etcdserverpb.Watch", "Watch").requestSerialize({
      create_request: { key: utf8("k"), filters: ["NOPUT", "NODELETE"], prev_kv: true },
    });
    // create_request#1 len 9: key 0a 01 "k" | filters 2a 02 00 01 | prev_kv 30 01
    expect(hex(bytes)).toBe("0a09" + "0a016b" + "2a020001" + "3001");
  });

  it("negative int64 IDs use ten-byte varints", () => {
    const bytes = method("etcdserverpb.Lease", "LeaseKeepAlive").requestSerialize({ ID: "-1" });
    expect(hex(bytes)).toBe("08ffffffffffffffffff01");
  });

  it("decodes a WatchResponse carrying a DELETE event", () => {
    // header{revision 7} | watch_id 2 | events#11 {type DELETE, kv{key "k", mod_revision 7}}
    const msg = method("etcdserverpb.Watch", "Watch").responseDeserialize(
      fromHex("0a021807" + "1002" + "5a09" + "0801" + "1205" + "0a016b" + "1807"),
    );
    expect(msg).toEqual({
      header: { revision: "7" },
      watch_id: "2",
      events: [{ type: "DELETE", kv: { key: "aw==", mod_revision: "7" } }],
    });
  });
});
