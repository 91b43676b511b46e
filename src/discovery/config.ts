/**
 * The discovery service's settings, read from the Worker's variables on every
 * request (so tests can pass their own env). A malformed value is an operator
 * error: it is reported, never silently replaced by the default.
 */

export interface DiscoveryVars {
  /** Public origin put in front of tokens in /new answers; the request's origin when unset. */
  DISCOVERY_BASE_URL?: string;
  /** Age in seconds after which a token and its registrations are deleted (default 7 days). */
  DISCOVERY_TOKEN_TTL_SECONDS?: string | number;
  /** Tokens one client address may create per minute (default 60; 0 turns the limit off). */
  DISCOVERY_NEW_PER_MINUTE?: string | number;
}

export interface DiscoveryConfig {
  baseURL: string | null;
  tokenTTLSeconds: number;
  newPerMinute: number;
}

export const DEFAULT_TOKEN_TTL_SECONDS = 7 * 24 * 60 * 60;
export const DEFAULT_NEW_PER_MINUTE = 60;
/** The limiter keeps one timestamp per allowed request of the last minute, so it stays small. */
export const MAX_NEW_PER_MINUTE = 10_000;
/** etcd's own TTL limit is far higher; ten years is already more than anyone needs from a bootstrap token. */
export const MAX_TOKEN_TTL_SECONDS = 10 * 365 * 24 * 60 * 60;

export class ConfigError extends Error {}

export function discoveryConfig(vars: DiscoveryVars): DiscoveryConfig {
  return {
    baseURL: baseURL(vars.DISCOVERY_BASE_URL),
    tokenTTLSeconds: integer("DISCOVERY_TOKEN_TTL_SECONDS", vars.DISCOVERY_TOKEN_TTL_SECONDS, DEFAULT_TOKEN_TTL_SECONDS, 1, MAX_TOKEN_TTL_SECONDS),
    newPerMinute: integer("DISCOVERY_NEW_PER_MINUTE", vars.DISCOVERY_NEW_PER_MINUTE, DEFAULT_NEW_PER_MINUTE, 0, MAX_NEW_PER_MINUTE),
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
