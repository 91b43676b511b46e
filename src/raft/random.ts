/**
 * A small seeded pseudo-random generator (mulberry32). The core never touches
 * Math.random: the driver passes a seed, so a simulation replays exactly.
 */
export type Random = () => number;

/** Returns a function yielding floats in [0, 1), fully determined by seed. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [lo, hi). */
export function randomInt(random: Random, lo: number, hi: number): number {
  return lo + Math.floor(random() * (hi - lo));
}
