/**
 * Who may do what through the v2 API, decided as etcd's v2 handlers decide
 * it (client_auth.go), from this member's auth records:
 *
 * - while auth is disabled, everyone may do everything;
 * - who asks: without an Authorization header but with a verified client
 *   certificate (CLIENT_CERT_AUTH), the user its common name names (etcd's
 *   userFromClientCertificate); with one, valid basic auth of a user whose
 *   password matches (userFromBasicAuth);
 * - a keys request from no one (no Authorization header, and no certificate
 *   naming a user) is the guest role's, checked as an exact or star match
 *   even for recursive requests (etcd's quirk); otherwise one of the user's
 *   roles must allow the key (a star pattern when the request is
 *   recursive), the root role allowing everything;
 * - the auth API and members changes need a user holding the root role,
 *   named by the certificate or by basic auth as above (hasRootAccess): no
 *   guest, and a certificate naming no user is refused.
 *
 * etcd makes each of these checks with reads of its internal auth records,
 * which its store statistics count; the same reads are counted here, so
 * that /v2/stats/store moves as etcd's does.
 */
import { GUEST, ROOT, roleAllows, type Credentials, type Role, type User } from "../v2/auth-roles.ts";
import { raftInternalError, type V2ErrorBody } from "../v2/errors.ts";
import type { RaftDriver } from "./driver.ts";
import { TOO_MANY_REQUESTS } from "./password-budget.ts";
import type { EntryResult, ReplicaState } from "./state.ts";
import type { VerifiedCredentials } from "./verified-credentials.ts";

/** What a request presents: undefined without an Authorization header, null for one that is not valid basic auth. */
export type Presented = Credentials | null | undefined;

/**
 * The answer to a request whose basic auth could not be checked because
 * this member's budget of new password checks is spent (V2Access's checks
 * throw TooManyPasswordChecks; see src/server/password-budget.ts): 429,
 * etcd's v2 error shape, error 300 with etcd's "too many requests" as the
 * cause. etcd 3.4 has no such v2 answer (it runs bcrypt on every request,
 * unbounded); 429 tells the client to back off and try again, not that its
 * password is wrong (that stays 401).
 */
export const PASSWORD_CHECKS_REFUSED_STATUS = 429;
export function passwordChecksRefused(): V2ErrorBody {
  return raftInternalError(TOO_MANY_REQUESTS);
}

export class V2Access {
  constructor(
    private readonly state: ReplicaState,
    private readonly driver: RaftDriver<EntryResult>,
    /** This member's checked passwords and its budget of new checks, shared with v3 Authenticate. */
    private readonly verified: VerifiedCredentials,
  ) {}

  /**
   * Whether this member's auth records are current enough to decide on: a
   * member that has just restarted has not yet applied the log it loaded,
   * and could find auth disabled that was enabled after its last snapshot.
   * A leader catches up with a ReadIndex round; a follower says no, and
   * the caller passes the request on to the leader unchecked.
   */
  current(): Promise<boolean> {
    return authRecordsCurrent(this.driver);
  }

  /**
   * etcd's hasKeyPrefixAccess: may the request read (or write) `key`, the
   * key as its URL named it? Like isRoot, throws TooManyPasswordChecks when
   * its basic auth needs a new password check and the budget is spent.
   */
  async mayUseKey(presented: Presented, key: string, write: boolean, recursive: boolean, certificateUser?: string): Promise<boolean> {
    if (!this.authEnabled()) return true;
    const user = await this.requester(presented, certificateUser);
    if (user === undefined) {
      const guest = this.readRole(GUEST);
      return guest !== undefined && roleAllows(guest, key, write, false);
    }
    if (!user) return false;
    for (const name of user.roles ?? []) {
      const role = this.readRole(name);
      if (role && roleAllows(role, key, write, recursive)) return true;
    }
    return false;
  }

  /** etcd's hasRootAccess: auth disabled, or a user holding the root role (by certificate or basic auth). */
  async isRoot(presented: Presented, certificateUser?: string): Promise<boolean> {
    if (!this.authEnabled()) return true;
    const user = await this.requester(presented, certificateUser);
    return user?.roles?.includes(ROOT) === true;
  }

  /**
   * Who asks. Without an Authorization header (`presented` undefined), the
   * user the certificate names (the router passes `certificateUser` only
   * with CLIENT_CERT_AUTH on and no such header), or undefined for no one:
   * no certificate, or a name that is no user. With one, the user whose
   * credentials these are, or null when they are not valid.
   */
  private async requester(presented: Presented, certificateUser: string | undefined): Promise<User | null | undefined> {
    if (presented === undefined) return certificateUser === undefined ? undefined : this.counted(this.state.auth.user(certificateUser));
    return (await this.authenticate(presented)) ?? null;
  }

  /** The user these credentials belong to, when the password is right. */
  private async authenticate(presented: Credentials | null): Promise<User | undefined> {
    if (!presented) return undefined;
    const user = this.counted(this.state.auth.user(presented.user));
    if (!user) return undefined;
    return (await this.verified.check(presented.user, presented.password, user.password)) ? user : undefined;
  }

  /** A role as etcd reads it: the built-in root role costs no store read. */
  private readRole(name: string): Role | undefined {
    const role = this.state.auth.role(name);
    return name === ROOT ? role : this.counted(role);
  }

  /** Every check starts with etcd's read of /2/enabled, which fails until the auth records exist. */
  private authEnabled(): boolean {
    const auth = this.state.auth;
    this.counted(auth.created ? auth : undefined);
    return auth.enabled;
  }

  /** Counts one internal read, successful when it found something. */
  private counted<T>(found: T | undefined): T | undefined {
    if (found === undefined) this.state.store.stats.getsFail++;
    else this.state.store.stats.getsSuccess++;
    return found;
  }
}

/**
 * Whether a member's auth records (v2 or v3) are current enough to decide
 * on (see V2Access.current); a leader makes sure with a ReadIndex round.
 */
export async function authRecordsCurrent(driver: RaftDriver<EntryResult>): Promise<boolean> {
  if (driver.caughtUp()) return true;
  if (driver.role !== "leader") return false;
  await driver.readIndex();
  return true;
}
