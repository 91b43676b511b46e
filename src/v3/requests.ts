/** v3 requests with etcd's defaults for every field not given (what an empty JSON message decodes to). */
import type { PutRequest, RangeRequest } from "./types.ts";

export function rangeRequest(key: string, extra: Partial<RangeRequest> = {}): RangeRequest {
  return {
    key,
    rangeEnd: "",
    limit: 0,
    revision: 0,
    sortOrder: "NONE",
    sortTarget: "KEY",
    serializable: false,
    keysOnly: false,
    countOnly: false,
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
    ...extra,
  };
}

export function putRequest(key: string, value: string, extra: Partial<PutRequest> = {}): PutRequest {
  return { key, value, lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false, ...extra };
}
