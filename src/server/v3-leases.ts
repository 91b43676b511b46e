/**
 * The v3 Lease service's reads and its leader duty: keepalives and
 * time-to-live answered from the leader's deadlines (src/server/lessor.ts),
 * and expired leases revoked through Raft. Grants and revokes are writes,
 * proposed like any other (see v3-service.ts).
 */
import type { Role } from "../raft/index.ts";
import { encodeV3Entry } from "../v3/command.ts";
import type { Lease, LeaseKeepAliveResponse, LeaseLeasesResponse, LeaseTimeToLiveResponse } from "../v3/types.ts";
import type { RaftDriver } from "./driver.ts";
import { Lessor } from "./lessor.ts";
import type { EntryResult, ReplicaState } from "./state.ts";

/** etcd's minimum TTL: 1.5 election timeouts (one second here), rounded up. */
export const MIN_LEASE_TTL = 2;
/** etcd's MaxLeaseTTL, in seconds. */
export const MAX_LEASE_TTL = 9_000_000_000;

export class V3Leases {
  private readonly lessor = new Lessor();
  /** Leases whose revoke is proposed and not yet applied. */
  private readonly revoking = new Set<number>();

  constructor(
    private readonly driver: RaftDriver<EntryResult>,
    private readonly state: ReplicaState,
  ) {}

  /** On the leader: renews the lease; an unknown one answers TTL 0, as etcd does. */
  keepAlive(id: number): LeaseKeepAliveResponse {
    const lease = this.state.mvcc.lease(id);
    if (lease) this.lessor.renew(lease, this.driver.host.now());
    return { revision: this.state.keyspace.revision(), id, ttl: lease?.ttl ?? 0 };
  }

  /** On the leader: seconds left; -1 for an unknown lease (an answer, not an error, in etcd). */
  timeToLive(id: number, withKeys: boolean): LeaseTimeToLiveResponse {
    const revision = this.state.keyspace.revision();
    const lease = this.state.mvcc.lease(id);
    if (!lease) return { revision, id, ttl: -1, grantedTtl: 0, keys: [] };
    const ttl = this.lessor.remaining(lease, this.driver.host.now());
    return { revision, id, ttl, grantedTtl: lease.ttl, keys: withKeys ? this.state.mvcc.leaseKeys(id) : [] };
  }

  leases(): LeaseLeasesResponse {
    return { revision: this.state.keyspace.revision(), leases: this.state.mvcc.leases().map((l: Lease) => l.id) };
  }

  /** The leader's tick duty: proposes the revoke of every lease past its deadline (once each). */
  expire(now: number): void {
    for (const lease of this.lessor.expired(this.state.mvcc.leases(), now)) {
      if (this.revoking.has(lease.id)) continue;
      this.revoking.add(lease.id);
      this.driver
        .propose(encodeV3Entry({ op: "leaseRevoke", req: { id: lease.id } }))
        .catch(() => {})
        .finally(() => this.revoking.delete(lease.id));
    }
  }

  /** On the leader: when the next lease would expire without a keepalive, or null when there are no leases. */
  nextDeadline(now: number): number | null {
    return this.lessor.next(this.state.mvcc.leases(), now);
  }

  roleChanged(role: Role): void {
    if (role !== "leader") this.lessor.reset();
  }
}

/** An id for a lease granted with ID 0: random and positive, below 2^53 so that it stays exact as a number. */
export function newLeaseId(): number {
  const [hi, lo] = crypto.getRandomValues(new Uint32Array(2));
  return (hi & 0x1fffff) * 2 ** 32 + lo || 1;
}
