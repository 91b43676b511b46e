/**
 * The simulator must catch the bugs a driver could have. Each case plants one
 * (a driver subclass with the defect) and runs seeded schedules: at least one
 * must fail, with the failure the bug leads to. PLANTED_SEEDS=<n> runs more
 * seeds and prints how many catch each bug.
 */
import { describe, expect, it } from "vitest";
import type { Entry, Ready } from "../../src/raft/index.ts";
import { RaftDriver } from "../../src/server/driver.ts";
import { Simulation, SimulationFailure, type DriverFactory } from "./sim/cluster.ts";
import type { KvApplied } from "./sim/kv.ts";

const SEEDS = Number(process.env.PLANTED_SEEDS ?? 60);

/** Sends the acknowledgements of a Ready before writing it. */
class AcksBeforePersisting extends RaftDriver<KvApplied> {
  protected override persist(rd: Ready): void {
    this.send(rd.messagesAfterPersist);
    super.persist(rd);
  }
}

/** Serves default reads from a freshly loaded state, before it has applied the log it loaded. */
class ReadsBeforeCatchingUp extends RaftDriver<KvApplied> {
  override caughtUp(): boolean {
    return true;
  }
}

/** Takes the stored commit index, which a crash may have left behind, as how far it must catch up. */
class TrustsStoredCommitIndex extends RaftDriver<KvApplied> {
  private readonly loadedCommit = this.storage.hardState().commit;
  override caughtUp(): boolean {
    return this.applied >= this.loadedCommit;
  }
}

/** Settles a proposal with whatever entry was applied at its index, even one of another term. */
class SettlesReplacedEntries extends RaftDriver<KvApplied> {
  protected override settleProposal(e: Entry, result: KvApplied): void {
    this.proposals.take(e.index)?.resolve(result);
  }
}

/** Resumes quiet from any quiescence mark, without checking that the log is still as the mark says. */
class TrustsStaleQuiescence extends RaftDriver<KvApplied> {
  protected override resumableQuiescence(): string | undefined {
    return this.storage.quiescence()?.leader;
  }
}

/** ...and keeps the mark when it wakes, so that it goes stale. */
const keepsStaleQuiescence: DriverFactory = (storage, ...rest) => {
  const write = storage.setQuiescence.bind(storage);
  storage.setQuiescence = (mark) => {
    if (mark) write(mark);
  };
  return new TrustsStaleQuiescence(storage, ...rest);
};

const BUGS: [string, DriverFactory, RegExp][] = [
  ["acknowledging a Ready before it is persisted", (...a) => new AcksBeforePersisting(...a), /state machine safety|leader completeness|not linearizable|overwrote its committed|log was lost or corrupted/],
  ["a default read served before the loaded log is applied", (...a) => new ReadsBeforeCatchingUp(...a), /went back in time/],
  ["catching up only to a commit index a crash can lose", (...a) => new TrustsStoredCommitIndex(...a), /went back in time/],
  ["a waiter resolved for a replaced entry", (...a) => new SettlesReplacedEntries(...a), /not linearizable|applied as a no-op/],
  ["resuming quiet from a stale quiescence mark", keepsStaleQuiescence, /leader completeness|log matching|state machine safety|not linearizable|went back in time|election safety/],
];

describe("planted driver bugs are caught by the simulator", () => {
  for (const [name, driver, expected] of BUGS) {
    it(name, async () => {
      const failures: string[] = [];
      for (let seed = 0; seed < SEEDS; seed++) {
        const sim = new Simulation({ seed, nodes: seed % 3 === 0 ? 5 : 3, faultyTime: 2000, settleTime: 2000, driver });
        try {
          await sim.run();
        } catch (err) {
          if (!(err instanceof SimulationFailure)) throw err;
          failures.push(err.message.split("\n")[0]);
        }
      }
      console.log(`${name}: caught by ${failures.length} of ${SEEDS} seeds`);
      expect(failures.length).toBeGreaterThan(0);
      expect(failures.some((f) => expected.test(f)), failures.join("\n")).toBe(true);
    }, 600_000);
  }
});
