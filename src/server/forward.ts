/**
 * Forwarding: a follower hands what only the leader may do (writes, quorum
 * reads, membership changes) to the leader it knows, waiting a little for
 * one to be elected. A call that gets no answer has an unknown outcome: it
 * becomes etcd's timeout, never a retry, since the leader may have applied it.
 */
import { TimeoutError, withTimeout } from "./clock.ts";
import type { RaftDriver } from "./driver.ts";
import { RaftError } from "./raft-error.ts";

export async function forwardToLeader<T, R>(driver: RaftDriver<R>, call: (leader: string) => Promise<T>, timeoutMs: number): Promise<T> {
  // A quiet follower wakes: should the leader it knows be gone, it must tick
  // to notice and elect another (the call alone would only time out).
  driver.wake();
  await driver.waitForLeader();
  try {
    return await withTimeout(driver.host, call(driver.leader), timeoutMs);
  } catch (err) {
    if (err instanceof TimeoutError) throw new RaftError("etcdserver: request timed out");
    throw new RaftError(`etcdserver: leader unreachable (${(err as Error).message})`);
  }
}
