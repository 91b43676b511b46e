/**
 * Requests waiting on Raft (a proposal to be applied, a quorum read to be
 * confirmed), by key. Each fails with etcd's timeout error if nothing settles
 * it in time: the replica sweeps expired waiters on each tick, which costs
 * less than a timer per request.
 */
export type Waiter<T, Extra> = Extra & {
  resolve(value: T): void;
  reject(err: Error): void;
  deadline: number;
};

export class Waiters<K, T, Extra extends object> {
  private readonly waiting = new Map<K, Waiter<T, Extra>>();

  /** Registers a waiter under `key`, carrying `extra`, until `deadline` (ms since the epoch). */
  wait(key: K, extra: Extra, deadline: number): Promise<T> {
    return new Promise<T>((resolve, reject) => this.add(key, { ...extra, resolve, reject, deadline }));
  }

  /** Registers a waiter built by the caller (one that settles several promises, say). */
  add(key: K, waiter: Waiter<T, Extra>): void {
    this.waiting.set(key, waiter);
  }

  get(key: K): Waiter<T, Extra> | undefined {
    return this.waiting.get(key);
  }

  /** Removes and returns the waiter under `key`, for its caller to settle. */
  take(key: K): Waiter<T, Extra> | undefined {
    const w = this.waiting.get(key);
    if (w) this.waiting.delete(key);
    return w;
  }

  /** Every waiter, in registration order; `take` may be called while iterating. */
  entries(): IterableIterator<[K, Waiter<T, Extra>]> {
    return this.waiting.entries();
  }

  /** How many are waiting. */
  get size(): number {
    return this.waiting.size;
  }

  /** Rejects, with `timeout()`, every waiter whose deadline has passed; returns how many. */
  expire(now: number, timeout: () => Error): number {
    let expired = 0;
    for (const [key, w] of this.waiting) {
      if (w.deadline > now) continue;
      this.waiting.delete(key);
      w.reject(timeout());
      expired++;
    }
    return expired;
  }
}
