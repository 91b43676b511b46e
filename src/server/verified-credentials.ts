/**
 * Basic-auth passwords a member has already checked, so that a client
 * sending the same credentials with every request (as etcd's clients do)
 * costs one PBKDF2 derivation, not one per request. The derivation takes
 * tens of milliseconds of the replica's only thread (by design: it is what
 * makes guessing slow); etcd runs bcrypt on every request instead.
 *
 * An entry is keyed by an HMAC, under a key made at random for this
 * instance and never stored, of the user name, the password and the stored
 * hash. The stored hash carries a fresh salt each time a password is set,
 * so a changed password or a user deleted and created again gives a new
 * key: an old entry can never answer for the new state, and nothing needs
 * invalidating. Wrong passwords are remembered too, for the same reason,
 * so a client retrying a wrong password does not cost a derivation each
 * time. A check still running is shared too: the requests of a burst that
 * carry the same new credentials wait for one derivation. The plain
 * password is never kept.
 *
 * New derivations are bounded (src/server/password-budget.ts): one budget
 * per member, shared by v2 basic auth and v3 Authenticate (the replica
 * gives both the same instance). A check past it throws
 * TooManyPasswordChecks before deriving and leaves no entry, so the same
 * credentials are checked afresh, and may succeed, once the budget refills.
 * A cache hit, or a check joining one already running, spends nothing.
 */
import { verifyPassword } from "../v2/password.ts";
import { PasswordCheckBudget, TooManyPasswordChecks } from "./password-budget.ts";

/** Entries kept at most; the one used least recently goes first. */
const CAPACITY = 1024;

export class VerifiedCredentials {
  private readonly results = new Map<string, Promise<boolean>>();
  private key: Promise<CryptoKey> | null = null;

  constructor(private readonly budget: PasswordCheckBudget) {}

  /**
   * Whether `password` is `user`'s, against its stored hash; throws
   * TooManyPasswordChecks when it needs a derivation and the budget is spent.
   */
  async check(user: string, password: string, storedHash: string): Promise<boolean> {
    const id = await this.entryKey(user, password, storedHash);
    let result = this.results.get(id);
    if (result !== undefined) {
      // Used again: to the back of the queue, so that a flood of new
      // passwords pushes out its own entries before those of clients in use.
      this.results.delete(id);
      this.results.set(id, result);
      return result;
    }
    if (!this.budget.take()) throw new TooManyPasswordChecks();
    if (this.results.size >= CAPACITY) this.results.delete(this.results.keys().next().value!);
    result = verifyPassword(password, storedHash);
    this.results.set(id, result);
    // A derivation that failed has decided nothing: the next request tries again.
    result.catch(() => this.results.delete(id));
    return result;
  }

  private async entryKey(user: string, password: string, storedHash: string): Promise<string> {
    // Lengths first, so that no two different triples give the same text.
    const text = `${user.length}:${password.length}:${user}${password}${storedHash}`;
    this.key ??= crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign"]) as Promise<CryptoKey>;
    const mac = await crypto.subtle.sign("HMAC", await this.key, new TextEncoder().encode(text));
    return btoa(String.fromCharCode(...new Uint8Array(mac)));
  }
}
