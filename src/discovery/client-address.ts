/**
 * Who is asking for tokens, for the rate limit. Cloudflare puts the client's
 * address in CF-Connecting-IP; without it (wrangler dev, tests calling the
 * Worker directly) every request counts as one client, "local".
 */

export const LOCAL_ADDRESS = "local";

export function clientAddress(headers: Headers): string {
  const raw = headers.get("CF-Connecting-IP")?.trim().toLowerCase();
  if (!raw) return LOCAL_ADDRESS;
  return raw.includes(":") ? (ipv6Prefix64(raw) ?? raw) : raw;
}

/**
 * One IPv6 client usually holds a whole /64, so it counts as one address;
 * otherwise a single host could pick a fresh address for every request.
 * Null for anything that is not plain IPv6 text (e.g. IPv4-mapped forms).
 */
function ipv6Prefix64(addr: string): string | null {
  if (!/^[0-9a-f:]+$/.test(addr)) return null;
  const halves = addr.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(missing).fill("0"), ...tail];
  if (groups.some((g) => g.length === 0 || g.length > 4)) return null;
  return groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(":") + "::/64";
}
