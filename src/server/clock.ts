/**
 * Time as the server sees it: the current time and one-shot timers, given to
 * it rather than taken from globals, so that the simulator can run the same
 * code on a virtual clock and replay it exactly.
 */

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds; the returned function cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
}

/** The runtime's own clock and timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

export class TimeoutError extends Error {}

/** Races a promise against a timer; the timer is cancelled either way. */
export function withTimeout<T>(clock: Clock, promise: Promise<T>, ms: number, message = "timed out"): Promise<T> {
  let cancel: (() => void) | null = null;
  const timeout = new Promise<never>((_, reject) => {
    cancel = clock.setTimer(() => reject(new TimeoutError(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => cancel?.());
}

export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimer(resolve, ms));
}
