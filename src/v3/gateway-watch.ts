/**
 * The gateway JSON of etcd's Watch service: one WatchRequest per message of
 * the request body (create, cancel or progress), one `{"result": WatchResponse}`
 * line per answer, in jsonpb's names with zeros left out.
 */
import { goJSON } from "../go/json.ts";
import { bool, bytes, encodeKeyValue, fields, int64, omitZero, readMessage, type Field, type Json } from "./gateway-json.ts";
import { GrpcCode, V3Error } from "./errors.ts";
import type { WatchCreate, WatchEvent, WatchFilter } from "./watch.ts";

export type WatchRequest = { create: WatchCreate } | { cancel: number } | { progress: true } | { none: true };

/** One response of a watch stream; `revision` undefined leaves it out of the header (a watch canceled by compaction). */
export interface WatchResponse {
  revision?: number;
  watchId: number;
  created?: boolean;
  canceled?: boolean;
  compactRevision?: number;
  cancelReason?: string;
  events?: WatchEvent[];
}

export function decodeWatchRequest(body: string): WatchRequest {
  const f = readMessage(body);
  const create = f("create_request");
  if (create !== undefined && create !== "null") return { create: watchCreate(fields(create)) };
  const cancel = f("cancel_request");
  if (cancel !== undefined && cancel !== "null") return { cancel: int64(fields(cancel)("watch_id")) };
  const progress = f("progress_request");
  if (progress !== undefined && progress !== "null") return { progress: true };
  return { none: true };
}

function watchCreate(f: Field): WatchCreate {
  return {
    key: bytes(f("key")),
    rangeEnd: bytes(f("range_end")),
    startRevision: int64(f("start_revision")),
    progressNotify: bool(f("progress_notify")),
    filters: filtersOf(f("filters")),
    prevKv: bool(f("prev_kv")),
    watchId: int64(f("watch_id")),
  };
}

const FILTERS: WatchFilter[] = ["NOPUT", "NODELETE"];

function filtersOf(node: Json | undefined): WatchFilter[] {
  if (node === undefined || node === "null") return [];
  if (!Array.isArray(node)) throw new V3Error(GrpcCode.InvalidArgument, "json: cannot unmarshal value into Go value of type []etcdserverpb.WatchCreateRequest_FilterType");
  return node.map((n) => {
    const name = typeof n === "string" && n.startsWith('"') ? n.slice(1, -1) : FILTERS[Number(n)];
    if (!FILTERS.includes(name as WatchFilter)) {
      throw new V3Error(GrpcCode.InvalidArgument, `unknown value ${JSON.stringify(name ?? n)} for enum etcdserverpb.WatchCreateRequest_FilterType`);
    }
    return name as WatchFilter;
  });
}

export function encodeWatchResponse(cluster: { clusterId: string; memberId: string; raftTerm: number }, r: WatchResponse): string {
  const header = omitZero({
    cluster_id: cluster.clusterId,
    member_id: cluster.memberId,
    revision: r.revision === undefined ? undefined : String(r.revision),
    raft_term: String(cluster.raftTerm),
  });
  const result = omitZero({
    header,
    watch_id: String(r.watchId),
    created: r.created,
    canceled: r.canceled,
    compact_revision: r.compactRevision === undefined ? undefined : String(r.compactRevision),
    cancel_reason: r.cancelReason,
    events: (r.events ?? []).map((e) => omitZero({ type: e.type === "PUT" ? undefined : e.type, kv: encodeKeyValue(e.kv), prev_kv: e.prevKv && encodeKeyValue(e.prevKv) })),
  });
  return goJSON({ result });
}
