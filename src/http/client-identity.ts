/**
 * Who a request says it is, beyond what its body says: etcd's v3 simple
 * token or v2 basic credentials (the Authorization header), and, with
 * CLIENT_CERT_AUTH on (etcd's --client-cert-auth), the common name of the
 * client certificate Cloudflare verified (mutual TLS: the request's
 * `cf.tlsClientAuth`). A certificate stands for a user only where the
 * request carries no Authorization header, as in etcd.
 */
import type { V3Identity } from "../server/api.ts";
import type { Credentials } from "../v2/auth-roles.ts";
import { basicCredentials } from "./basic-auth.ts";

/**
 * The common name of the request's verified client certificate, when there
 * is one. Cloudflare verifies a revoked certificate too (certVerified
 * SUCCESS) and says so apart (certRevoked "1"): a revoked one names no one.
 */
export function certificateUser(request: Request): string | undefined {
  const tls = (request as { cf?: { tlsClientAuth?: Partial<IncomingRequestCfPropertiesTLSClientAuth> } }).cf?.tlsClientAuth;
  if (tls?.certPresented !== "1" || tls.certVerified !== "SUCCESS" || tls.certRevoked === "1") return undefined;
  return commonName(tls.certSubjectDNRFC2253 || tls.certSubjectDN || "");
}

/**
 * The CN of a distinguished name as RFC 2253 writes it ("CN=alice,O=Example",
 * special characters escaped with a backslash); the first one, which is the
 * most specific (Go's CommonName keeps the same one).
 */
export function commonName(dn: string): string | undefined {
  for (const rdn of splitUnescaped(dn, ",")) {
    for (const part of splitUnescaped(rdn, "+")) {
      const eq = part.indexOf("=");
      if (eq > 0 && part.slice(0, eq).trim().toUpperCase() === "CN") return unescape(part.slice(eq + 1).trim());
    }
  }
  return undefined;
}

function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "\\" && i + 1 < text.length) current += text[i] + text[++i];
    else if (text[i] === separator) parts.push(current), (current = "");
    else current += text[i];
  }
  return [...parts, current];
}

/** RFC 2253 escapes: a backslash before a special character, or two hex digits for a byte. */
function unescape(value: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    if (value[i] === "\\" && /^[0-9a-fA-F]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (value[i] === "\\" && i + 1 < value.length) {
      bytes.push(...new TextEncoder().encode(value[++i]));
    } else {
      bytes.push(...new TextEncoder().encode(value[i]));
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** The v3 identity of a request (see the top of this file). */
export function v3Identity(request: Request, clientCertAuth: boolean): V3Identity {
  const token = request.headers.get("Authorization");
  if (token !== null && token !== "") return { token };
  const certUser = clientCertAuth ? certificateUser(request) : undefined;
  return certUser === undefined ? {} : { certUser };
}

/** Who a v2 request says it is: what the member checks against its v2 auth records (see src/server/v2-access.ts). */
export interface V2Identity {
  /** Basic credentials: undefined without an Authorization header, null for one that is not valid basic auth. */
  credentials: Credentials | null | undefined;
  /** The certificate's common name, with CLIENT_CERT_AUTH on and no Authorization header. */
  certificateUser?: string;
}

/** The v2 identity of a request (the v2 auth API, members changes; see the top of this file). */
export function v2Identity(request: Request, clientCertAuth: boolean): V2Identity {
  const credentials = basicCredentials(request.headers.get("Authorization"));
  const certUser = credentials === undefined && clientCertAuth ? certificateUser(request) : undefined;
  return certUser === undefined ? { credentials } : { credentials, certificateUser: certUser };
}
