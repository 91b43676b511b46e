/**
 * HTTP basic credentials as Go's Request.BasicAuth reads them, which is how
 * etcd's v2 API learns who asks: "Basic " (any case) and standard base64
 * with its padding, of "user:password" (split at the first colon).
 */
import type { Credentials } from "../v2/auth-roles.ts";

/**
 * The request's credentials: undefined when it has no Authorization header
 * (etcd then treats it as anonymous: the guest role), null when the header
 * is not valid basic auth (refused whenever auth is enabled).
 */
export function basicCredentials(header: string | null): Credentials | null | undefined {
  if (header === null || header === "") return undefined;
  if (header.length < 6 || header.slice(0, 6).toLowerCase() !== "basic ") return null;
  // Go's decoder skips line breaks and requires the padding.
  const encoded = header.slice(6).replace(/[\r\n]/g, "");
  if (encoded.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) return null;
  let decoded: string;
  try {
    decoded = new TextDecoder().decode(Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
