/**
 * A hash of the keyspace's versions up to a revision (etcd's HashKV idea):
 * members that applied the same log hold the same versions, so their hashes
 * are equal, which tests and operators use as a consistency check. CRC-32C
 * over each version's fields, in key and revision order; not etcd's value
 * (etcd hashes its own database pages), only comparable between members.
 */
import type { KeyValue } from "./types.ts";

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function hashVersions(versions: KeyValue[], upTo: number): number {
  let crc = 0xffffffff;
  const add = (text: string) => {
    for (let i = 0; i < text.length; i++) crc = TABLE[(crc ^ text.charCodeAt(i)) & 0xff] ^ (crc >>> 8);
  };
  for (const kv of versions) {
    if (kv.modRevision > upTo) continue;
    add(`${kv.key.length}:${kv.key}|${kv.modRevision}|${kv.createRevision}|${kv.version}|${kv.lease}|${kv.value.length}:${kv.value}`);
  }
  return (crc ^ 0xffffffff) >>> 0;
}
