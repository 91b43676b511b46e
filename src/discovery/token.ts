/**
 * Discovery tokens: 128 random bits as 32 lowercase hex characters (what
 * discovery.etcd.io hands out), where each token lives, and its key in the
 * v2 store.
 */

/** A token as a path segment; anything else is not a discovery route. */
export const TOKEN_PATTERN = "[0-9a-f]{32}";

/** The v2 directory that holds every token, as on the old discovery.etcd.io. */
export const REGISTRY_DIR = "/_etcd/registry";

export function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Clusters named with this prefix hold discovery tokens and are not served as named clusters. */
export const SHARD_PREFIX = "discovery-";

/**
 * The cluster that holds a token. Tokens are uniformly random, so their
 * first hex digit spreads them evenly over 16 shards and no single cluster
 * carries every token's registrations and watches.
 */
export function shardFor(token: string): string {
  return `${SHARD_PREFIX}${token[0]}`;
}

export function registryPath(token: string): string {
  return `${REGISTRY_DIR}/${token}`;
}

/** The v3 lease a token's keys are attached to: an id fixed by the token (52 of its bits), so no lookup is needed. */
export function tokenLease(token: string): number {
  return parseInt(token.slice(0, 13), 16) || 1;
}
