/**
 * The simulator's client API on one member, making the same decisions as the
 * v2 keys service (src/server/keys-service.ts) over the same driver: a
 * default read is served locally once the member has caught up, a follower
 * forwards writes and quorum reads to the leader (once; a forwarded request
 * that finds no leader goes back to the client), the leader proposes writes
 * and confirms quorum reads with ReadIndex.
 */
import type { RaftDriver } from "../../../src/server/driver.ts";
import { forwardToLeader } from "../../../src/server/forward.ts";
import { RaftError } from "../../../src/server/raft-error.ts";
import type { KvApplied, KvCommand, KvOutput, KvStateMachine } from "./kv.ts";

/** A read's answer, with the applied index it was served at. */
export interface ReadAnswer {
  value: string | null;
  index: number;
}

export interface WriteAnswer {
  output: KvOutput;
  /** The log index the leader applied it at. */
  index: number;
  /** The member that applied it and answered. */
  member: string;
}

/** A call to another member's service over the simulated network. */
export type PeerCall = <T>(peer: string, call: (service: KvService) => Promise<T>) => Promise<T>;

export class KvService {
  /** Called whenever this member serves a read itself, with the applied index it served at. */
  onServed: (index: number) => void = () => {};

  constructor(
    private readonly driver: RaftDriver<KvApplied>,
    private readonly kv: KvStateMachine,
    private readonly peerCall: PeerCall,
    private readonly forwardTimeoutMs: number,
  ) {}

  async write(command: KvCommand, forwarded = false): Promise<WriteAnswer> {
    if (this.driver.role !== "leader") return this.forward(forwarded, (s) => s.write(command, true));
    const applied = await this.driver.propose(JSON.stringify(command));
    // As the keys service does, trust the driver to settle a proposal only
    // with its own entry's result (a planted bug breaks exactly this).
    if (!applied.output) throw new Error(`a command applied as a no-op at ${applied.index}`);
    return { output: applied.output, index: applied.index, member: this.driver.id };
  }

  async read(key: string, quorum: boolean, forwarded = false): Promise<ReadAnswer> {
    if (!quorum && this.driver.caughtUp()) return this.serve(key);
    if (this.driver.role !== "leader") return this.forward(forwarded, (s) => s.read(key, quorum, true));
    await this.driver.readIndex();
    return this.serve(key);
  }

  private serve(key: string): ReadAnswer {
    const answer = { value: this.kv.get(key), index: this.driver.applied };
    this.onServed(answer.index);
    return answer;
  }

  private forward<T>(forwarded: boolean, call: (leader: KvService) => Promise<T>): Promise<T> {
    if (forwarded) throw new RaftError("etcdserver: no leader", true);
    return forwardToLeader(this.driver, (leader) => this.peerCall(leader, call), this.forwardTimeoutMs);
  }
}
