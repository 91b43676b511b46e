/**
 * Seeded simulation runs of the Raft driver and core (see sim/cluster.ts for
 * what each run does and checks). RAFT_SEED=<n> replays one schedule verbosely;
 * RAFT_SOAK=1 runs many more and longer schedules (RAFT_SOAK_GROUPS=n: the
 * first n of its 60 groups of 1,000).
 */
import { describe, expect, it } from "vitest";
import { Simulation } from "./sim/cluster.ts";

const SOAK = process.env.RAFT_SOAK === "1";
const ONLY_SEED = process.env.RAFT_SEED === undefined ? undefined : Number(process.env.RAFT_SEED);
const THIS_FILE = "test/server/simulation.test.ts";

/** Seeds are split into groups so progress shows and a failure names a small range. */
const GROUPS = SOAK ? Number(process.env.RAFT_SOAK_GROUPS ?? 60) : 20;
const PER_GROUP = SOAK ? 1000 : 150;
/** Soak runs explore fresh schedules rather than longer versions of the quick ones. */
const FIRST_SEED = SOAK ? 1_000_000 : 0;

async function runSeed(seed: number, verbose = false) {
  const sim = new Simulation({
    seed,
    nodes: seed % 3 === 0 ? 5 : 3,
    faultyTime: SOAK ? 6000 : 2000,
    settleTime: 2000,
    verbose,
  });
  try {
    return await sim.run();
  } catch (error) {
    const replay = `RAFT_SEED=${seed}${SOAK ? " RAFT_SOAK=1" : ""} npx vitest run --project unit ${THIS_FILE}`;
    throw new Error(`simulation seed ${seed} failed; replay with:\n  ${replay}\n${(error as Error).message}`, { cause: error });
  }
}

describe("raft simulation", () => {
  if (ONLY_SEED !== undefined) {
    it(`seed ${ONLY_SEED}`, async () => {
      const stats = await runSeed(ONLY_SEED, true);
      console.log(JSON.stringify(stats));
    });
    return;
  }

  it("replays a seed exactly", async () => {
    const run = async () => {
      const sim = new Simulation({ seed: 42, nodes: 5, faultyTime: 2000, settleTime: 2000 });
      await sim.run();
      return sim.fingerprint();
    };
    expect(await run()).toBe(await run());
  });

  for (let g = 0; g < GROUPS; g++) {
    const first = FIRST_SEED + g * PER_GROUP;
    it(`seeds ${first}..${first + PER_GROUP - 1}`, async () => {
      let operations = 0;
      let laggardQuiescences = 0;
      let laggardRetries = 0;
      for (let seed = first; seed < first + PER_GROUP; seed++) {
        const stats = await runSeed(seed);
        operations += stats.operations;
        laggardQuiescences += stats.laggardQuiescences;
        laggardRetries += stats.laggardRetries;
      }
      // Faults must not starve the clients entirely, or the run checked little.
      expect(operations).toBeGreaterThan(10 * PER_GROUP);
      // Leaders must go quiet leaving members behind now and then, and wake to retry them, or those paths went unchecked.
      expect(laggardQuiescences).toBeGreaterThan(0);
      expect(laggardRetries).toBeGreaterThan(0);
    }, 3_600_000);
  }
});
