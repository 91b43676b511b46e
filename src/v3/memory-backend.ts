/**
 * The v3 keyspace's versions in memory: every version of every key, in key
 * order. For unit tests and the simulator; replicas keep them in SQLite.
 */
import { inSpan, type DurableMvccBackend, type MvccDump, type Span } from "./backend.ts";
import type { Bytes, KeyValue, Lease } from "./types.ts";

export class MemoryBackend implements DurableMvccBackend {
  /** Versions of each key, oldest first (tombstones included). */
  private versions = new Map<Bytes, KeyValue[]>();
  private rev = 1;
  private compactedRev = 0;
  private applied = 0;
  private leaseTable = new Map<number, Lease>();

  lease(id: number): Lease | undefined {
    return this.leaseTable.get(id);
  }

  leases(): Lease[] {
    return [...this.leaseTable.values()].sort((a, b) => a.id - b.id);
  }

  putLease(lease: Lease): void {
    this.leaseTable.set(lease.id, { ...lease });
  }

  deleteLease(id: number): void {
    this.leaseTable.delete(id);
  }

  leaseKeys(id: number): Bytes[] {
    return this.range({ key: "", end: "" }, this.rev, 0)
      .filter((kv) => kv.lease === id)
      .map((kv) => kv.key);
  }

  appliedIndex(): number {
    return this.applied;
  }

  applyAt(index: number, apply: () => void): void {
    apply();
    this.applied = index;
  }

  load(dump: MvccDump, index: number): void {
    this.versions = new Map();
    for (const kv of dump.versions) {
      const list = this.versions.get(kv.key);
      if (list) list.push({ ...kv });
      else this.versions.set(kv.key, [{ ...kv }]);
    }
    this.rev = dump.revision;
    this.compactedRev = dump.compacted;
    this.leaseTable = new Map(dump.leases.map((l) => [l.id, { ...l }]));
    this.applied = index;
  }

  revision(): number {
    return this.rev;
  }

  compacted(): number {
    return this.compactedRev;
  }

  range(span: Span, rev: number, limit: number): KeyValue[] {
    const out: KeyValue[] = [];
    for (const key of this.keysIn(span)) {
      const kv = this.at(key, rev);
      if (kv && kv.version > 0) out.push(kv);
      if (limit > 0 && out.length >= limit) break;
    }
    return out;
  }

  changes(span: Span, from: number): KeyValue[] {
    const out = this.keysIn(span).flatMap((key) => this.versions.get(key)!.filter((kv) => kv.modRevision >= from));
    return out.sort((a, b) => a.modRevision - b.modRevision || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  count(span: Span, rev: number): number {
    return this.range(span, rev, 0).length;
  }

  write(rev: number, changes: KeyValue[]): void {
    for (const kv of changes) {
      const list = this.versions.get(kv.key);
      if (list) list.push({ ...kv });
      else this.versions.set(kv.key, [{ ...kv }]);
    }
    this.rev = rev;
  }

  compact(rev: number): void {
    for (const [key, list] of this.versions) {
      // Keep the version a read at `rev` sees, unless it is a tombstone, and all later ones.
      let keepFrom = list.findIndex((kv) => kv.modRevision > rev);
      if (keepFrom < 0) keepFrom = list.length;
      const seen = keepFrom > 0 ? list[keepFrom - 1] : undefined;
      const kept = list.slice(keepFrom);
      if (seen && seen.version > 0) kept.unshift(seen);
      if (kept.length === 0) this.versions.delete(key);
      else this.versions.set(key, kept);
    }
    this.compactedRev = rev;
  }

  dump(): MvccDump {
    const versions = [...this.versions.keys()].sort().flatMap((k) => this.versions.get(k)!);
    return { revision: this.rev, compacted: this.compactedRev, versions, leases: this.leases() };
  }

  private keysIn(span: Span): Bytes[] {
    if (span.end === null) return this.versions.has(span.key) ? [span.key] : [];
    return [...this.versions.keys()].filter((k) => inSpan(span, k)).sort();
  }

  private at(key: Bytes, rev: number): KeyValue | undefined {
    const list = this.versions.get(key);
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) if (list[i].modRevision <= rev) return list[i];
    return undefined;
  }
}
