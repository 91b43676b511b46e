/**
 * The v3 keyspace inside a Raft snapshot: each version as a compact row,
 * bytes in base64 (see command.ts for why).
 */
import type { MvccDump } from "./backend.ts";

type Row = [key: string, createRevision: number, modRevision: number, version: number, value: string, lease: number];

export interface EncodedDump {
  revision: number;
  compacted: number;
  versions: Row[];
  /** [id, ttl] of each lease; absent in snapshots taken before leases existed. */
  leases?: [number, number][];
}

export function encodeDump(dump: MvccDump): EncodedDump {
  return {
    revision: dump.revision,
    compacted: dump.compacted,
    versions: dump.versions.map((kv) => [btoa(kv.key), kv.createRevision, kv.modRevision, kv.version, btoa(kv.value), kv.lease]),
    leases: dump.leases.map((l) => [l.id, l.ttl]),
  };
}

export function decodeDump(encoded: EncodedDump): MvccDump {
  return {
    revision: encoded.revision,
    compacted: encoded.compacted,
    versions: encoded.versions.map(([key, createRevision, modRevision, version, value, lease]) => ({
      key: atob(key),
      createRevision,
      modRevision,
      version,
      value: atob(value),
      lease,
    })),
    leases: (encoded.leases ?? []).map(([id, ttl]) => ({ id, ttl })),
  };
}
