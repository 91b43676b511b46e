/**
 * The v3 keyspace: etcd's MVCC rules over a backend that keeps the versions.
 * Every change gets the next revision, and a transaction's changes share
 * one; each key keeps create_revision, mod_revision, version and lease;
 * deletes leave tombstones until compaction; reads see any revision from
 * the compacted one on. Pure: no clock, no I/O but the backend, so every
 * member that applies the same commands holds the same keyspace.
 */
import { inSpan, spanOf, tombstone, type MvccBackend, type Span } from "./backend.ts";
import { compareHolds } from "./compare.ts";
import { eventsOf, type WatchEvent } from "./watch.ts";
import { errCompacted, errFutureRev, errKeyNotFound, errLeaseExists, errLeaseNotFound, V3Error } from "./errors.ts";
import type {
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KeyValue,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseRevokeResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResponse,
  V3Command,
  V3Result,
} from "./types.ts";

/** Which leases exist. */
interface LeaseLookup {
  exists(id: number): boolean;
}

export class Keyspace {
  private readonly leases: LeaseLookup;
  /** The events of the last write that changed anything, until taken (see takeEvents). */
  private lastEvents: { revision: number; events: WatchEvent[] } | null = null;

  constructor(readonly backend: MvccBackend) {
    this.leases = { exists: (id) => backend.lease(id) !== undefined };
  }

  revision(): number {
    return this.backend.revision();
  }

  /** A read outside any transaction. */
  range(req: RangeRequest): RangeResponse {
    return new WriteView(this.backend).rangeRequest(req);
  }

  /** A transaction with only ranges in it, served as a read (it changes nothing, so it needs no log entry). */
  readTxn(req: TxnRequest): TxnResponse {
    return new WriteView(this.backend).txn(req, this.leases);
  }

  /** Applies a replicated write; etcd's errors come back as data, and change nothing. */
  apply(cmd: V3Command): V3Result {
    try {
      switch (cmd.op) {
        case "put":
          return { ok: true, put: this.write((v) => v.put(cmd.req, this.leases)) };
        case "deleteRange":
          return { ok: true, deleteRange: this.write((v) => v.deleteRange(cmd.req)) };
        case "txn":
          return { ok: true, txn: this.write((v) => v.txn(cmd.req, this.leases)) };
        case "compact":
          return { ok: true, compact: this.compact(cmd.req) };
        case "leaseGrant":
          return { ok: true, leaseGrant: this.grant(cmd.req) };
        case "leaseRevoke":
          return { ok: true, leaseRevoke: this.write((v) => v.revoke(cmd.req.id)) };
      }
    } catch (err) {
      if (err instanceof V3Error) return { ok: false, error: err.body };
      throw err;
    }
  }

  /** The revision and events of the last write that changed anything, once. */
  takeEvents(): { revision: number; events: WatchEvent[] } | null {
    const e = this.lastEvents;
    this.lastEvents = null;
    return e;
  }

  private write<T extends { revision: number }>(run: (view: WriteView) => T): T {
    const view = new WriteView(this.backend);
    const out = run(view);
    this.lastEvents = view.commit();
    return out;
  }

  private grant(req: LeaseGrantRequest): LeaseGrantResponse {
    if (this.backend.lease(req.id)) throw errLeaseExists();
    this.backend.putLease({ id: req.id, ttl: req.ttl });
    return { revision: this.backend.revision(), id: req.id, ttl: req.ttl };
  }

  private compact(req: CompactionRequest): CompactionResponse {
    if (req.revision <= this.backend.compacted()) throw errCompacted();
    if (req.revision > this.backend.revision()) throw errFutureRev();
    this.backend.compact(req.revision);
    return { revision: this.backend.revision() };
  }
}

/**
 * One transaction: reads see the backend at its revision plus the changes
 * made so far; the changes reach the backend, under the next revision, only
 * at commit. A request that fails part-way leaves nothing behind.
 */
class WriteView {
  private readonly base: number;
  private readonly changes = new Map<string, KeyValue>();
  /** For each changed key, the version the change replaced (none for a new key). */
  private readonly replaced = new Map<string, KeyValue | undefined>();

  constructor(private readonly backend: MvccBackend) {
    this.base = backend.revision();
  }

  /** The revision reads see: the next one once this transaction has changed anything. */
  private current(): number {
    return this.changes.size > 0 ? this.base + 1 : this.base;
  }

  /** Writes the changes under the next revision; their watch events, in the order of the ops. */
  commit(): { revision: number; events: WatchEvent[] } | null {
    if (this.changes.size === 0) return null;
    const changed = [...this.changes.values()];
    this.backend.write(this.base + 1, changed);
    return { revision: this.base + 1, events: eventsOf(changed, (kv) => this.replaced.get(kv.key)) };
  }

  private change(kv: KeyValue, replaced: KeyValue | undefined): void {
    if (!this.replaced.has(kv.key)) this.replaced.set(kv.key, replaced);
    this.changes.set(kv.key, kv);
  }

  rangeRequest(r: RangeRequest): RangeResponse {
    // Filters and sorting need every key; a plain limit needs one more than
    // asked, to tell whether there is more.
    const filtered = r.minModRevision !== 0 || r.maxModRevision !== 0 || r.minCreateRevision !== 0 || r.maxCreateRevision !== 0;
    let limit = r.sortOrder !== "NONE" || filtered ? 0 : r.limit;
    if (limit > 0) limit++;
    const span = spanOf(r.key, r.rangeEnd);
    const rev = this.readRevision(r.revision);
    if (r.countOnly) return { revision: this.current(), kvs: [], more: false, count: this.count(span, rev) };
    const found = this.range(span, rev, limit);
    // Without a limit the keys read are all there are: no second query to count them.
    const count = limit > 0 ? this.count(span, rev) : found.length;
    let kvs = found.filter(
      (kv) =>
        (r.maxModRevision === 0 || kv.modRevision <= r.maxModRevision) &&
        (r.minModRevision === 0 || kv.modRevision >= r.minModRevision) &&
        (r.maxCreateRevision === 0 || kv.createRevision <= r.maxCreateRevision) &&
        (r.minCreateRevision === 0 || kv.createRevision >= r.minCreateRevision),
    );
    // Keys come in ascending order: sorting by anything else ascends unless told otherwise.
    const order = r.sortOrder === "NONE" && r.sortTarget !== "KEY" ? "ASCEND" : r.sortOrder;
    if (order === "ASCEND" || order === "DESCEND") kvs = sortKVs(kvs, r.sortTarget, order === "DESCEND");
    let more = false;
    if (r.limit > 0 && kvs.length > r.limit) {
      kvs = kvs.slice(0, r.limit);
      more = true;
    }
    if (r.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: "" }));
    return { revision: this.current(), kvs, more, count };
  }

  put(p: PutRequest, leases: LeaseLookup): PutResponse {
    const prev = this.latest(p.key);
    if ((p.ignoreValue || p.ignoreLease) && !prev) throw errKeyNotFound();
    const value = p.ignoreValue ? prev!.value : p.value;
    const lease = p.ignoreLease ? prev!.lease : p.lease;
    if (lease !== 0 && !leases.exists(lease)) throw errLeaseNotFound();
    const rev = this.base + 1;
    this.change(
      { key: p.key, createRevision: prev ? prev.createRevision : rev, modRevision: rev, version: prev ? prev.version + 1 : 1, value, lease },
      prev,
    );
    return p.prevKv && prev ? { revision: rev, prevKv: prev } : { revision: rev };
  }

  deleteRange(d: DeleteRangeRequest): DeleteRangeResponse {
    const gone = this.range(spanOf(d.key, d.rangeEnd), this.current(), 0);
    for (const kv of gone) this.change(tombstone(kv.key, this.base + 1), kv);
    return { revision: this.current(), deleted: gone.length, prevKvs: d.prevKv ? gone : [] };
  }

  /** Deletes a lease and, in one revision, every key attached to it. */
  revoke(id: number): LeaseRevokeResponse {
    if (!this.backend.lease(id)) throw errLeaseNotFound();
    for (const key of this.backend.leaseKeys(id)) this.change(tombstone(key, this.base + 1), this.latest(key));
    this.backend.deleteLease(id);
    return { revision: this.current() };
  }

  txn(t: TxnRequest, leases: LeaseLookup): TxnResponse {
    // Every compare, nested ones included, is decided before any op runs,
    // against the state the transaction started from (as etcd does).
    const path = this.decide(t);
    const responses = this.run(t, path, leases);
    return { revision: this.current(), succeeded: path.succeeded, responses };
  }

  private decide(t: TxnRequest): Path {
    const succeeded = t.compare.every((c) => compareHolds(c, this.range(spanOf(c.key, c.rangeEnd), this.base, 0)));
    const nested = (succeeded ? t.success : t.failure).flatMap((op) => ("txn" in op ? [this.decide(op.txn)] : []));
    return { succeeded, nested };
  }

  private run(t: TxnRequest, path: Path, leases: LeaseLookup): ResponseOp[] {
    let nested = 0;
    return (path.succeeded ? t.success : t.failure).map((op: RequestOp): ResponseOp => {
      if ("range" in op) return { range: this.rangeRequest(op.range) };
      if ("put" in op) return { put: this.put(op.put, leases) };
      if ("deleteRange" in op) return { deleteRange: this.deleteRange(op.deleteRange) };
      if ("txn" in op) {
        const inner = path.nested[nested++];
        // A nested transaction's header carries no revision.
        return { txn: { revision: 0, succeeded: inner.succeeded, responses: this.run(op.txn, inner, leases) } };
      }
      // An op with no request set: etcd 3.4 answers the whole transaction so.
      throw errKeyNotFound();
    });
  }

  private readRevision(requested: number): number {
    const current = this.current();
    const rev = requested <= 0 ? current : requested;
    if (rev > current) throw errFutureRev();
    if (rev < this.backend.compacted()) throw errCompacted();
    return rev;
  }

  private latest(key: string): KeyValue | undefined {
    return this.range({ key, end: null }, this.current(), 0)[0];
  }

  /** Live keys at `rev`: the backend's, with this transaction's changes laid over them at the next revision. */
  private range(span: Span, rev: number, limit: number): KeyValue[] {
    if (rev <= this.base) return this.backend.range(span, rev, limit);
    const byKey = new Map(this.backend.range(span, this.base, 0).map((kv) => [kv.key, kv]));
    for (const kv of this.changes.values()) {
      if (!inSpan(span, kv.key)) continue;
      if (kv.version > 0) byKey.set(kv.key, kv);
      else byKey.delete(kv.key);
    }
    const all = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
    return limit > 0 ? all.slice(0, limit) : all;
  }

  private count(span: Span, rev: number): number {
    if (rev <= this.base) return this.backend.count(span, rev);
    return this.range(span, rev, 0).length;
  }
}

/** Which branch each transaction (and each nested one, in order) takes. */
interface Path {
  succeeded: boolean;
  nested: Path[];
}

const SORT_FIELD: Record<string, (kv: KeyValue) => number | string> = {
  KEY: (kv) => kv.key,
  VERSION: (kv) => kv.version,
  CREATE: (kv) => kv.createRevision,
  MOD: (kv) => kv.modRevision,
  VALUE: (kv) => kv.value,
};

/** Sorted by `target`; ties keep key order. */
function sortKVs(kvs: KeyValue[], target: string, descending: boolean): KeyValue[] {
  const field = SORT_FIELD[target];
  const sign = descending ? -1 : 1;
  return [...kvs].sort((a, b) => {
    const x = field(a);
    const y = field(b);
    return x < y ? -sign : x > y ? sign : 0;
  });
}
