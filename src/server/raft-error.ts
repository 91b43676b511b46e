/** A Raft-level failure; the v2 API answers it as etcd's error 300 ("Raft Internal Error"). */
export class RaftError extends Error {
  /**
   * True when the request certainly never reached a Raft log (no leader was
   * known, or a proposal was refused), so the router may safely try another
   * member; false when its outcome is unknown (a timeout after proposing).
   */
  constructor(
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}

/**
 * A member removed from its cluster keeps its storage but no longer hears
 * from the others: its state is frozen at the removal. It refuses every
 * request with this (retryable, so the router moves on to a member) instead
 * of serving that frozen state; etcd's removed member stops altogether.
 */
export function memberRemoved(): RaftError {
  return new RaftError("etcdserver: the member has been permanently removed from the cluster", true);
}
