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
  /** Storage one member may use before v3 writes fail with NOSPACE (etcd's --quota-backend-bytes; default 2 GiB). */
  QUOTA_BACKEND_BYTES?: string;
  /** Memory the v2 store's tree may take on one member before v2 writes that add data fail (default 32 MiB). */
  V2_STORE_QUOTA_BYTES?: string;
  /** "true" exposes /_debug/... (crash, partition, heal) for tests. */
  DEBUG_FAULTS?: string;
  /**
   * Durable Object location hints, comma-separated (e.g. "enam,weur,apac"):
   * founding member k of every cluster is created at the k-th, round robin,
   * so that a cluster survives the loss of a region (see src/placement.ts).
   */
  MEMBER_LOCATIONS?: string;
  /** Keeps every replica inside one jurisdiction ("eu", "fedramp", ...); see src/placement.ts before changing it. */
  JURISDICTION?: string;
  /** Milliseconds added to every call between replicas: to measure what distance between members costs (benchmarks). */
  PEER_DELAY_MS?: string;
  /** "true" serves the web dashboard at /_dashboard (and /clusters/<name>/_dashboard); `npm start` turns it on. */
  DASHBOARD?: string;
  /** Public origin put in front of tokens in /new answers; the request's origin when unset. */
  DISCOVERY_BASE_URL?: string;
  /** Age in seconds after which a token and its registrations are deleted (default 7 days). */
  DISCOVERY_TOKEN_TTL_SECONDS?: string;
  /** Tokens one client address may create per minute (default 60; 0 turns the limit off). */
  DISCOVERY_NEW_PER_MINUTE?: string;
  /**
   * A secret (`wrangler secret put ADMIN_TOKEN`): when set, creating a named
   * cluster, changing members and the fault API need `Authorization: Bearer
   * <it>`, and an unknown /clusters/<name> answers 404 (see src/http/admin-access.ts).
   */
  ADMIN_TOKEN?: string;
  /**
   * "true": behind Cloudflare's mutual TLS, a verified client certificate's
   * common name is the user of a request without credentials, for v2 and v3
   * auth (etcd's --client-cert-auth). Off by default.
   */
  CLIENT_CERT_AUTH?: string;
  /** Seconds a v3 auth token stays valid without use (etcd's --auth-token-ttl, default 300). */
  AUTH_TOKEN_TTL?: string;
}

/** Only the variables: what `config` reads, so callers outside the runtime can check them too. */
export type Vars = Partial<Omit<Env, "REPLICA" | "DISCOVERY_LIMITER">>;

export interface PlacementConfig {
  locations: DurableObjectLocationHint[];
  jurisdiction: DurableObjectJurisdiction | null;
}

export interface DiscoveryConfig {
  baseURL: string | null;
  tokenTTLSeconds: number;
  newPerMinute: number;
}

export interface Config {
  clusterSize: number;
  snapshotEvery: number;
  maxWatches: number;
  quotaBackendBytes: number;
  v2StoreQuotaBytes: number;
  watchProgressNotifyMs: number;
  debugFaults: boolean;
  dashboard: boolean;
  placement: PlacementConfig;
  peerDelayMs: number;
  discovery: DiscoveryConfig;
  /** null: no admin token, every caller may create clusters and change members (local use). */
  adminToken: string | null;
  clientCertAuth: boolean;
  authTokenTTLSeconds: number;
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
/** etcd's default --auth-token-ttl. */
export const DEFAULT_AUTH_TOKEN_TTL_SECONDS = 300;
/** A day: tokens are dropped a day after they were issued anyway (see src/v3/auth-store.ts). */
const MAX_AUTH_TOKEN_TTL_SECONDS = 24 * 60 * 60;
/** The limiter keeps one timestamp per allowed request of the last minute, so it stays small. */
export const MAX_NEW_PER_MINUTE = 10_000;
const MAX_MAX_WATCHES = 1_000_000;
/** etcd's default --quota-backend-bytes. */
export const DEFAULT_QUOTA_BACKEND_BYTES = 2 * 1024 * 1024 * 1024;
/** A new member's database alone takes about 100 kB, and one log entry up to 2 MB. */
const MIN_QUOTA_BACKEND_BYTES = 1024 * 1024;
/** A Durable Object stores at most 10 GB. */
const MAX_QUOTA_BACKEND_BYTES = 10_000_000_000;
/**
 * The v2 store lives whole in the isolate's memory (128 MB), and a snapshot
 * of it is one string as large again: a quarter of the isolate for the tree
 * leaves room for that string, the event history and the requests in flight.
 */
export const DEFAULT_V2_STORE_QUOTA_BYTES = 32 * 1024 * 1024;
const MIN_V2_STORE_QUOTA_BYTES = 64 * 1024;
const MAX_V2_STORE_QUOTA_BYTES = 48 * 1024 * 1024;
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
    quotaBackendBytes: integer("QUOTA_BACKEND_BYTES", vars.QUOTA_BACKEND_BYTES, DEFAULT_QUOTA_BACKEND_BYTES, MIN_QUOTA_BACKEND_BYTES, MAX_QUOTA_BACKEND_BYTES),
    v2StoreQuotaBytes: integer("V2_STORE_QUOTA_BYTES", vars.V2_STORE_QUOTA_BYTES, DEFAULT_V2_STORE_QUOTA_BYTES, MIN_V2_STORE_QUOTA_BYTES, MAX_V2_STORE_QUOTA_BYTES),
    watchProgressNotifyMs: integer("WATCH_PROGRESS_NOTIFY_MS", vars.WATCH_PROGRESS_NOTIFY_MS, DEFAULT_WATCH_PROGRESS_NOTIFY_MS, 10, MAX_WATCH_PROGRESS_NOTIFY_MS),
    debugFaults: boolean("DEBUG_FAULTS", vars.DEBUG_FAULTS),
    dashboard: boolean("DASHBOARD", vars.DASHBOARD),
    placement: {
      locations: oneOf("MEMBER_LOCATIONS", vars.MEMBER_LOCATIONS, LOCATION_HINTS, true),
      jurisdiction: oneOf("JURISDICTION", vars.JURISDICTION, JURISDICTIONS, false)[0] ?? null,
    },
    peerDelayMs: integer("PEER_DELAY_MS", vars.PEER_DELAY_MS, 0, 0, MAX_PEER_DELAY_MS),
    discovery: {
      baseURL: baseURL(vars.DISCOVERY_BASE_URL),
      tokenTTLSeconds: integer("DISCOVERY_TOKEN_TTL_SECONDS", vars.DISCOVERY_TOKEN_TTL_SECONDS, DEFAULT_TOKEN_TTL_SECONDS, 1, MAX_TOKEN_TTL_SECONDS),
      newPerMinute: integer("DISCOVERY_NEW_PER_MINUTE", vars.DISCOVERY_NEW_PER_MINUTE, DEFAULT_NEW_PER_MINUTE, 0, MAX_NEW_PER_MINUTE),
    },
    adminToken: adminToken(vars.ADMIN_TOKEN),
    clientCertAuth: boolean("CLIENT_CERT_AUTH", vars.CLIENT_CERT_AUTH),
    authTokenTTLSeconds: integer("AUTH_TOKEN_TTL", vars.AUTH_TOKEN_TTL, DEFAULT_AUTH_TOKEN_TTL_SECONDS, 1, MAX_AUTH_TOKEN_TTL_SECONDS),
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

/** A token short enough to guess is refused; the message never repeats the value (it is a secret). */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

const LOCATION_HINTS: readonly DurableObjectLocationHint[] = ["wnam", "enam", "sam", "weur", "eeur", "apac", "apac-ne", "apac-se", "oc", "afr", "me"];
const JURISDICTIONS: readonly DurableObjectJurisdiction[] = ["eu", "fedramp", "fedramp-high", "us"];
/** A round trip between the farthest regions is about 300 ms; ten times that is surely a typo. */
const MAX_PEER_DELAY_MS = 3000;

/** Values from a fixed list: a comma-separated list of them when `many`, else at most one. */
function oneOf<T extends string>(name: string, raw: string | undefined, allowed: readonly T[], many: boolean): T[] {
  if (raw === undefined || raw.trim() === "") return [];
  const values = raw.split(",").map((v) => v.trim());
  const bad = values.find((v) => !(allowed as readonly string[]).includes(v));
  if (bad !== undefined || (!many && values.length > 1)) {
    const what = many ? "a comma-separated list of" : "one of";
    throw new ConfigError(`${name} must be ${what} ${allowed.join(", ")}, not ${JSON.stringify(raw)}: fix it in wrangler.jsonc "vars"`);
  }
  return values as T[];
}

function adminToken(raw: string | undefined): string | null {
  if (raw === undefined || raw === "") return null;
  if (raw.length < MIN_ADMIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(raw)) {
    throw new ConfigError(
      `ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} visible ASCII characters, without spaces: set it with \`wrangler secret put ADMIN_TOKEN\``,
    );
  }
  return raw;
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
