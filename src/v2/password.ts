/**
 * Password hashes for v2 users: PBKDF2-HMAC-SHA-256 over a random 16-byte
 * salt, stored as "pbkdf2-sha256$<iterations>$<salt>$<hash>" (base64).
 *
 * etcd stores bcrypt hashes (cost 10). WebCrypto has no bcrypt; PBKDF2 is
 * what it offers for passwords, at the highest iteration count the Workers
 * runtime allows (100,000: above that deriveBits refuses), which costs a
 * guess about as much as bcrypt at cost 10. The count is part of each hash,
 * so hashes made with another count keep verifying.
 */

export const PBKDF2_ITERATIONS = 100_000;
const SALT_BYTES = 16;
const HASH_BITS = 256;
const SCHEME = "pbkdf2-sha256";

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(password, salt, PBKDF2_ITERATIONS);
  return [SCHEME, PBKDF2_ITERATIONS, base64(salt), base64(hash)].join("$");
}

/** Whether `password` is the one `stored` was made from; false for anything that is not one of our hashes. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, count, salt, hash, extra] = stored.split("$");
  const iterations = Number(count);
  if (scheme !== SCHEME || extra !== undefined || !Number.isSafeInteger(iterations) || iterations < 1 || iterations > PBKDF2_ITERATIONS) {
    return false;
  }
  const expected = unbase64(hash ?? "");
  const actual = await derive(password, unbase64(salt ?? ""), iterations);
  return sameBytes(actual, expected);
}

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, HASH_BITS);
  return new Uint8Array(bits);
}

/** Compares every byte whatever the first difference, so the time taken says nothing about where it is. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ (b[i] ?? 0);
  return diff === 0;
}

function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function unbase64(text: string): Uint8Array {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return new Uint8Array(0);
  }
}
