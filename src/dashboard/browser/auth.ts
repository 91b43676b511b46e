/**
 * The credentials the dashboard signed in with (served as auth.js). etcd
 * enforces auth in its APIs, not in the page: the dashboard is a client
 * like any other, and this module is its credential store. Kept in memory
 * only, never in storage: a reload of the page asks again.
 */
export const source = String.raw`
import { textToBase64 } from "./format.js";

const base = document.body.dataset.base || "";

/**
 * The signed-in user: { user, password, token }. The token is v3's simple
 * token from /v3/auth/authenticate ("" while v3 auth is off); the password
 * stays for v2's basic auth and for a new token when this one times out
 * (AUTH_TOKEN_TTL after its last use). null: nobody, requests go anonymous.
 */
let session = null;
/** The re-authentication under way, shared by every request that found the token refused. */
let renewal = null;
const listeners = { change: [], needed: [] };

/** Calls fn on "change" (signed in or out) or "needed" (a request was refused for want of credentials). */
export function on(event, fn) {
  listeners[event].push(fn);
}

function emit(event, detail) {
  for (const fn of listeners[event]) fn(detail);
}

/** The user signed in, or "". */
export function user() {
  return session ? session.user : "";
}

/** The Authorization header of a v2 request: HTTP basic auth, as etcd's v2 API reads it ("" when signed out). */
export function basicAuthorization() {
  return session ? "Basic " + textToBase64(session.user + ":" + session.password) : "";
}

/** The Authorization header of a v3 request: the token itself, as etcd's gateway takes it ("" when none). */
export function v3Authorization() {
  return session ? session.token : "";
}

/** A refusal of the sign-in itself, in words for the form. */
export class SignInError extends Error {}

/**
 * A v3 token for the user. "" when v3 auth is off (etcd answers "authentication
 * is not enabled"): then only v2 uses the credentials, and only v2 can tell
 * whether they are right.
 */
async function authenticate(name, password) {
  const res = await fetch(base + "/v3/auth/authenticate", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name: name, password: password }),
  });
  const body = await res.json().catch(() => ({}));
  if (res.ok && body.token) return body.token;
  const message = body.message || body.error || "HTTP " + res.status;
  if (/authentication is not enabled/.test(message)) return "";
  if (/invalid user ID or password/.test(message)) throw new SignInError("wrong user name or password");
  throw new SignInError("cannot sign in: " + message);
}

export async function signIn(name, password) {
  const token = await authenticate(name, password);
  session = { user: name, password: password, token: token };
  emit("change");
}

/** Drops the credentials; the page asks for them again. */
export function signOut() {
  session = null;
  emit("change");
  emit("needed");
}

/**
 * After a v3 request was refused for its token (timed out, or v3 auth
 * enabled since the sign-in): a new token with the same password, once for
 * all the requests refused with token "refused". Resolves true when the
 * request is worth sending again. A password that no longer works signs
 * the user out.
 */
export function renewToken(refused) {
  if (!session) return Promise.resolve(false);
  if (session.token !== refused) return Promise.resolve(true);
  if (!renewal) {
    const s = session;
    renewal = authenticate(s.user, s.password)
      .then((token) => {
        if (session !== s) return session !== null;
        s.token = token;
        return true;
      })
      .catch((err) => {
        if (session === s && err instanceof SignInError && /wrong/.test(err.message)) {
          session = null;
          emit("change");
          emit("needed", "signed out: the password of " + s.user + " no longer works");
        }
        return false;
      })
      .finally(() => {
        renewal = null;
      });
  }
  return renewal;
}

/** A request was refused for want of credentials: the page asks for them, unless someone is signed in. */
export function needed() {
  if (!session) emit("needed");
}
`;
