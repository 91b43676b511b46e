/**
 * Stable ids for a cluster and its members, in etcd's form: lowercase hex of
 * a 64-bit number without leading zeros. Derived from names with FNV-1a so
 * every Worker and replica computes the same ids without storing them.
 */
const ids = new Map<string, string>();

/** Cached: ids are asked for on every request. */
export function idFromName(name: string): string {
  let id = ids.get(name);
  if (id === undefined) {
    id = fnv1a64(name);
    if (ids.size > 10_000) ids.clear();
    ids.set(name, id);
  }
  return id;
}

function fnv1a64(name: string): string {
  let h = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(name)) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return (h === 0n ? 1n : h).toString(16);
}

export function clusterId(cluster: string): string {
  return idFromName(`cluster/${cluster}`);
}

export function memberId(cluster: string, member: string): string {
  return idFromName(`member/${cluster}/${member}`);
}
