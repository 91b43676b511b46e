/**
 * When leases expire: the leader's business alone, as in etcd. Leases and
 * their TTLs are replicated; their deadlines live in the leader's memory.
 * A lease the leader has not seen yet (granted under another leader, or
 * before a restart) gets a full TTL from the moment it is seen, as etcd
 * renews every lease when a member becomes leader, so a leader change never
 * expires a lease that was kept alive under the old leader. Only the leader
 * revokes an expired lease, by proposing it, so every member deletes its keys
 * at the same revision.
 */
import type { Lease } from "../v3/types.ts";

export class Lessor {
  /** Deadlines (ms since the epoch) of the leases this leader has seen. */
  private readonly deadlines = new Map<number, number>();

  /** Forgets every deadline: this member no longer leads. */
  reset(): void {
    this.deadlines.clear();
  }

  /** Renews a lease (a keepalive): its full TTL from `now`. */
  renew(lease: Lease, now: number): void {
    this.deadlines.set(lease.id, now + lease.ttl * 1000);
  }

  /** Whole seconds left, as etcd reports them (truncated). */
  remaining(lease: Lease, now: number): number {
    return Math.max(0, Math.trunc((this.deadline(lease, now) - now) / 1000));
  }

  /** The leases, among `leases`, whose deadline has passed; deadlines of leases gone are dropped. */
  expired(leases: Lease[], now: number): Lease[] {
    const live = new Set(leases.map((l) => l.id));
    for (const id of this.deadlines.keys()) if (!live.has(id)) this.deadlines.delete(id);
    return leases.filter((l) => this.deadline(l, now) <= now);
  }

  /** The earliest deadline among `leases`, or null when there are none. */
  next(leases: Lease[], now: number): number | null {
    let next: number | null = null;
    for (const lease of leases) {
      const d = this.deadline(lease, now);
      if (next === null || d < next) next = d;
    }
    return next;
  }

  private deadline(lease: Lease, now: number): number {
    let d = this.deadlines.get(lease.id);
    if (d === undefined) {
      d = now + lease.ttl * 1000;
      this.deadlines.set(lease.id, d);
    }
    return d;
  }
}
