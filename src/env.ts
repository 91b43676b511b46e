/**
 * The Worker's bindings and variables, and their one strict reading. A
 * malformed value is an operator error: it is reported with the variable's
 * name and the accepted range, never silently replaced by a default. Every
 * entry point (the router, a replica, `npm start` before it listens) reads
 * the variables through `config`, which parses them once per env object.
 */

import type { ReplicaApi } from "./server/api.ts";

export interface Env {
  /** The replicas of every cluster, one Durable Object per member, named `<cluster>/<member id>`. */
  REPLICA: DurableObjectNamespace<ReplicaApi & Rpc.DurableObjectBranded>;
  /** The discovery service's /new rate limiter, one object per client address. */
  DISCOVERY_LIMITER: DurableObjectNamespace;
  /** Replicas in a new cluster (1 to 9, default 3). */
  CLUSTER_SIZE?: string;
  /** Applied entries between snapshots (default 10,000); tests lower it. */
  SNAPSHOT_EVERY?: string;
  /** Watches one Worker instance holds open at most (0: no limit); `npm start` sets it from the open-file limit. */
  MAX_WATCHES?: string;
  /** Milliseconds between progress notifications to v3 watchers that asked for them (default 600,000: etcd's 10 minutes). */
  WATCH_PROGRESS_NOTIFY_MS?: string;
  /** "true" exposes /_debug/... (crash, partition, heal) for tests. */
  DEBUG_FAULTS?: string;
  /** Public origin put in front of tokens in /new answers; the request's origin when unset. */
  DISCOVERY_BASE_URL?: string;
  /** Age in seconds after which a token and its registrations are deleted (default 7 days). */
  DISCOVERY_TOKEN_TTL_SECONDS?: string;
  /** Tokens one client address may create per minute (default 60; 0 turns the limit off). */
  DISCOVERY_NEW_PER_MINUTE?: string;
}

/** Only the variables: what `config` reads, so callers outside the runtime can check them too. */
export type Vars = Partial<Omit<Env, "REPLICA" | "DISCOVERY_LIMITER">>;

export interface DiscoveryConfig {
  baseURL: string | null;
  tokenTTLSeconds: number;
  newPerMinute: number;
}

export interface Config {
  clusterSize: number;
  snapshotEvery: number;
  maxWatches: number;
  watchProgressNotifyMs: number;
  debugFaults: boolean;
  discovery: DiscoveryConfig;
}

export const DEFAULT_CLUSTER_SIZE = 3;
export const MAX_CLUSTER_SIZE = 9;
export const DEFAULT_SNAPSHOT_EVERY = 10_000;
/** Beyond this the log (and the snapshot's catch-up work) grows past what a replica should hold in memory. */
export const MAX_SNAPSHOT_EVERY = 1_000_000;
export const DEFAULT_TOKEN_TTL_SECONDS = 7 * 24 * 60 * 60;
/** etcd's own TTL limit is far higher; ten years is already more than anyone needs from a bootstrap token. */
export const MAX_TOKEN_TTL_SECONDS = 10 * 365 * 24 * 60 * 60;
export const DEFAULT_NEW_PER_MINUTE = 60;
/** The limiter keeps one timestamp per allowed request of the last minute, so it stays small. */
export const MAX_NEW_PER_MINUTE = 10_000;
const MAX_MAX_WATCHES = 1_000_000;
/** etcd's --experimental-watch-progress-notify-interval default. */
export const DEFAULT_WATCH_PROGRESS_NOTIFY_MS = 10 * 60 * 1000;
const MAX_WATCH_PROGRESS_NOTIFY_MS = 24 * 60 * 60 * 1000;

export class ConfigError extends Error {}

const parsed = new WeakMap<object, Config>();

/** The variables of `env`, checked; throws ConfigError naming the first bad one. */
export function config(env: Vars): Config {
  let c = parsed.get(env);
  if (!c) {
    c = parseConfig(env);
    parsed.set(env, c);
  }
  return c;
}

function parseConfig(vars: Vars): Config {
  return {
    clusterSize: integer("CLUSTER_SIZE", vars.CLUSTER_SIZE, DEFAULT_CLUSTER_SIZE, 1, MAX_CLUSTER_SIZE),
    snapshotEvery: integer("SNAPSHOT_EVERY", vars.SNAPSHOT_EVERY, DEFAULT_SNAPSHOT_EVERY, 1, MAX_SNAPSHOT_EVERY),
    maxWatches: integer("MAX_WATCHES", vars.MAX_WATCHES, 0, 0, MAX_MAX_WATCHES),
    watchProgressNotifyMs: integer("WATCH_PROGRESS_NOTIFY_MS", vars.WATCH_PROGRESS_NOTIFY_MS, DEFAULT_WATCH_PROGRESS_NOTIFY_MS, 10, MAX_WATCH_PROGRESS_NOTIFY_MS),
    debugFaults: boolean("DEBUG_FAULTS", vars.DEBUG_FAULTS),
    discovery: {
      baseURL: baseURL(vars.DISCOVERY_BASE_URL),
      tokenTTLSeconds: integer("DISCOVERY_TOKEN_TTL_SECONDS", vars.DISCOVERY_TOKEN_TTL_SECONDS, DEFAULT_TOKEN_TTL_SECONDS, 1, MAX_TOKEN_TTL_SECONDS),
      newPerMinute: integer("DISCOVERY_NEW_PER_MINUTE", vars.DISCOVERY_NEW_PER_MINUTE, DEFAULT_NEW_PER_MINUTE, 0, MAX_NEW_PER_MINUTE),
    },
  };
}

function integer(name: string, raw: string | number | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === "") return fallback;
  const text = String(raw).trim();
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(raw)}: fix it in wrangler.jsonc "vars"`);
  }
  return n;
}

function boolean(name: string, raw: string | boolean | undefined): boolean {
  if (raw === undefined || raw === "" || raw === "false" || raw === false) return false;
  if (raw === "true" || raw === true) return true;
  throw new ConfigError(`${name} must be "true" or "false", not ${JSON.stringify(raw)}: fix it in wrangler.jsonc "vars"`);
}

/**
 * etcd keeps the path of a discovery URL as part of the key, and this service
 * answers at the root: a base URL with a path only works behind a proxy that
 * strips that path. Trailing slashes are dropped, as discovery.etcd.io does.
 */
function baseURL(raw: string | undefined): string | null {
  if (raw === undefined || raw.trim() === "") return null;
  const text = raw.trim().replace(/\/+$/, "");
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`DISCOVERY_BASE_URL must be an absolute http(s) URL such as https://discovery.example.com, not ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`DISCOVERY_BASE_URL must use http or https, not ${JSON.stringify(raw)}`);
  }
  return text;
}
