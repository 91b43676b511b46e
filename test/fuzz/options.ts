// The fuzz run's settings, from the environment.
import { randomInt } from "node:crypto";

export interface Options {
  /** Everything sent follows from it: print it, and pass it back to replay a run. */
  seed: number;
  seconds: number;
  maxRequests: number;
  /** Fuzz workers sending at once, each with its own PRNG (derived from the seed and its number). */
  concurrency: number;
  /** An answer (for a stream, its headers) must come within this. */
  boundMs: number;
  /** How long a stream is read before the fuzzer hangs up. */
  streamReadMs: number;
  /** The workerd processes may use at most this much memory together, at any point of the run. */
  maxRssBytes: number;
  /** "worker:index": send only that one request of the seed's sequence, and print it and its answer. */
  replay?: { worker: number; index: number };
}

function intFrom(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number >= ${min}, not ${JSON.stringify(raw)}`);
  return n;
}

export function readOptions(): Options {
  const replay = process.env.FUZZ_REPLAY;
  const m = replay ? /^(\d+):(\d+)$/.exec(replay) : null;
  if (replay && !m) throw new Error(`FUZZ_REPLAY must be worker:index (as a failure prints it), not ${JSON.stringify(replay)}`);
  return {
    seed: intFrom("FUZZ_SEED", randomInt(2 ** 31)),
    seconds: intFrom("FUZZ_SECONDS", 120, 1),
    maxRequests: intFrom("FUZZ_MAX_REQUESTS", 1_000_000, 1),
    concurrency: intFrom("FUZZ_CONCURRENCY", 6, 1),
    boundMs: intFrom("FUZZ_BOUND_MS", 10_000, 100),
    streamReadMs: intFrom("FUZZ_STREAM_READ_MS", 300, 0),
    maxRssBytes: intFrom("FUZZ_MAX_RSS_MB", 1024, 1) * 1024 * 1024,
    replay: m ? { worker: Number(m[1]), index: Number(m[2]) } : undefined,
  };
}
