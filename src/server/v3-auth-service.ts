/**
 * etcd's v3 Auth service on one member, and who a v3 request comes from.
 *
 * Identity: a request presents a simple token (the Authorization header,
 * or gRPC's `token` metadata through the front), or, with client
 * certificate auth on, the verified certificate's common name (used only
 * when no token is given, as etcd does). The first member to take the
 * request resolves it to etcd's AuthInfo (the user, and the auth revision
 * now) and passes that on with the request, never the token.
 *
 * Tokens are issued through Raft (see src/v3/auth-store.ts), so every
 * member can resolve any token; a signed token would have needed no log
 * entry, but it could not be taken back when its user is deleted or its
 * password changes, and etcd's simple tokens can. A token is valid for the
 * TTL (etcd's --auth-token-ttl, 300 s by default) after it was issued or
 * last used on this member, which is how etcd's members time theirs out.
 *
 * Changes go through Raft, checked on apply against who asked (the root
 * check), as etcd applies them; reads of users and roles are answered by
 * the leader, checked as etcd checks them. Passwords are hashed (PBKDF2,
 * src/v2/password.ts) before a user change is proposed, and checked here
 * before a token is proposed: the log, snapshots and storage never hold a
 * password.
 */
import { DEFAULT_AUTH_TOKEN_TTL_SECONDS } from "../env.ts";
import { errAuthFailed, errAuthNotEnabled, errInvalidAuthToken, errNoPasswordUser, errRoleNotFound, errUserNotFound } from "../v3/auth-errors.ts";
import type { AuthInfo, V3AuthChange, V3AuthCommand } from "../v3/auth-store.ts";
import { errTooManyRequests, V3Error } from "../v3/errors.ts";
import type { V3AuthRequest, V3AuthResponse } from "../v3/gateway-auth.ts";
import { hashPassword } from "../v2/password.ts";
import type { V3Identity } from "./api.ts";
import type { RaftDriver } from "./driver.ts";
import { encodeV3AuthCommand, type EntryResult, type ReplicaState } from "./state.ts";
import { authRecordsCurrent } from "./v2-access.ts";
import { TooManyPasswordChecks } from "./password-budget.ts";
import type { VerifiedCredentials } from "./verified-credentials.ts";

/** Authenticate is proposed again when the auth store changed between the password check and the token (etcd retries too); at most this often. */
const AUTHENTICATE_ATTEMPTS = 3;
const LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

export class V3AuthService {
  /** When each token was last used on this member (see identify). */
  private readonly lastUsed = new Map<string, number>();

  constructor(
    private readonly driver: RaftDriver<EntryResult>,
    private readonly state: ReplicaState,
    /** This member's checked passwords and its budget of new checks, shared with v2 basic auth. */
    private readonly verified: VerifiedCredentials,
    private readonly tokenTTLMs: number = DEFAULT_AUTH_TOKEN_TTL_SECONDS * 1000,
  ) {}

  /** Whether this member's auth store may decide now (else the leader resolves the request). */
  current(): Promise<boolean> {
    return authRecordsCurrent(this.driver);
  }

  /**
   * etcd's AuthInfoFromCtx: the user a request comes from (null: nobody),
   * or "invalid auth token" for a token this member does not hold or that
   * timed out, whether auth is enabled or not, as etcd answers.
   */
  identify(identity: V3Identity): AuthInfo | null {
    const store = this.state.v3auth;
    if (identity.token !== undefined) {
      const issued = store.token(identity.token);
      const now = this.driver.host.now();
      const last = Math.max(issued?.issued ?? 0, this.lastUsed.get(identity.token) ?? 0);
      if (!issued || now - last >= this.tokenTTLMs) {
        this.lastUsed.delete(identity.token);
        throw errInvalidAuthToken();
      }
      this.remember(identity.token, now);
      return { user: issued.user, revision: store.revision };
    }
    if (identity.certUser !== undefined) return { user: identity.certUser, revision: store.revision };
    return null;
  }

  /** An Auth call on the leader (V3Service passes it there), on behalf of `by`. */
  async call(req: V3AuthRequest, by: AuthInfo | null): Promise<V3AuthResponse> {
    const store = this.state.v3auth;
    const answer = (more: Omit<V3AuthResponse, "revision"> = {}): V3AuthResponse => ({ revision: this.state.keyspace.revision(), ...more });
    switch (req.op) {
      case "authenticate":
        return answer({ token: await this.authenticate(req.name, req.password) });
      case "userList":
      case "roleList":
        await this.driver.readIndex();
        store.checkAdmin(by);
        return answer(req.op === "userList" ? { users: store.userNames() } : { roles: store.roleNames() });
      case "userGet": {
        await this.driver.readIndex();
        // A user may read itself; anyone else takes the root check.
        if (by?.user !== req.name) store.checkAdmin(by);
        const user = store.user(req.name);
        if (!user) throw errUserNotFound();
        return answer({ roles: user.roles });
      }
      case "roleGet": {
        await this.driver.readIndex();
        // A user may read the roles it holds.
        if (!by || !store.hasRole(by.user, req.name)) store.checkAdmin(by);
        const role = store.role(req.name);
        if (!role) throw errRoleNotFound();
        return answer({ perms: role.perms });
      }
      case "userAdd":
        return this.change({ op: "userAdd", name: req.name, password: req.noPassword ? "" : await hashPassword(req.password), noPassword: req.noPassword }, by).then(() => answer());
      case "userChangePassword":
        return this.change({ op: "userChangePassword", name: req.name, password: await hashPassword(req.password) }, by).then(() => answer());
      default:
        await this.change(req, by);
        return answer();
    }
  }

  /**
   * etcd's Authenticate: the password checked against this member's store,
   * then the token issued through the log. If the store changed meanwhile
   * (the user's password, say), the check is made again.
   */
  private async authenticate(name: string, password: string): Promise<string> {
    const store = this.state.v3auth;
    for (let attempt = 1; ; attempt++) {
      await this.driver.readIndex();
      if (!store.enabled) throw errAuthNotEnabled();
      const user = store.user(name);
      if (!user) throw errAuthFailed();
      if (user.noPassword) throw errNoPasswordUser();
      const checkedAt = store.revision;
      if (!(await this.checkPassword(name, password, user.password))) throw errAuthFailed();
      const token = await this.change({ op: "authenticate", name, letters: randomLetters(16), issued: this.driver.host.now() }, null);
      if (store.revision === checkedAt || attempt === AUTHENTICATE_ATTEMPTS) return token!;
    }
  }

  /**
   * The password check, its refusal (the member's budget of new checks
   * spent, see src/server/password-budget.ts) answered as etcd's
   * ErrGRPCTooManyRequests: ResourceExhausted, HTTP 429 on the gateway.
   * Only Authenticate checks a password in v3: every other request
   * presents a token (or a certificate), which identify() resolves from
   * the store without one.
   */
  private async checkPassword(name: string, password: string, storedHash: string): Promise<boolean> {
    try {
      return await this.verified.check(name, password, storedHash);
    } catch (err) {
      if (err instanceof TooManyPasswordChecks) throw errTooManyRequests();
      throw err;
    }
  }

  private async change(change: V3AuthChange, by: AuthInfo | null): Promise<string | undefined> {
    const cmd: V3AuthCommand = { ...change, by };
    const out = await this.driver.propose(encodeV3AuthCommand(cmd));
    if (out.kind !== "v3auth") throw new Error(`a v3 auth command applied as ${out.kind}`);
    if (!out.result.ok) throw new V3Error(out.result.error.code, out.result.error.message);
    return out.result.token;
  }

  /** Keeps the last-use times of the tokens the store still holds; the map never outgrows them by much. */
  private remember(token: string, now: number): void {
    this.lastUsed.set(token, now);
    if (this.lastUsed.size > 2 * this.state.v3auth.tokenCount() + 64) {
      for (const t of this.lastUsed.keys()) if (!this.state.v3auth.token(t)) this.lastUsed.delete(t);
    }
  }
}

/** etcd's token prefix: letters drawn without bias (bytes past the last whole multiple of 52 are drawn again). */
function randomLetters(n: number): string {
  let out = "";
  while (out.length < n) {
    for (const b of crypto.getRandomValues(new Uint8Array(n * 2))) {
      if (b < 208 && out.length < n) out += LETTERS[b % 52];
    }
  }
  return out;
}
