/**
 * The v3 keyspace's versions in the replica's SQLite: one row per version of
 * a key (a tombstone has version 0), keyed by (key, mod_revision), so that a
 * range over a few keys reads only those keys' rows however large the
 * keyspace is. Keys and values are BLOBs, which SQLite orders byte by byte,
 * as etcd orders keys. Nothing of the keyspace is held in memory.
 */
import type { DurableMvccBackend, MvccDump, Span } from "../v3/backend.ts";
import type { KeyValue, Lease } from "../v3/types.ts";

interface Row extends Record<string, SqlStorageValue> {
  key: ArrayBuffer;
  mod: number;
  create_rev: number;
  version: number;
  value: ArrayBuffer;
  lease: number;
}

const META = { revision: "revision", compacted: "compacted", applied: "applied" } as const;

export class SqliteMvccBackend implements DurableMvccBackend {
  private readonly sql: SqlStorage;
  private rev: number;
  private compactedRev: number;
  private applied: number;

  constructor(private readonly storage: DurableObjectStorage) {
    const sql = (this.sql = storage.sql);
    sql.exec(`CREATE TABLE IF NOT EXISTS v3_kv (
      key BLOB NOT NULL, mod INTEGER NOT NULL, create_rev INTEGER NOT NULL, version INTEGER NOT NULL,
      value BLOB NOT NULL, lease INTEGER NOT NULL, PRIMARY KEY (key, mod)) WITHOUT ROWID`);
    sql.exec(`CREATE TABLE IF NOT EXISTS v3_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS v3_lease (id INTEGER PRIMARY KEY, ttl INTEGER NOT NULL)`);
    // Revoking a lease finds its keys through this, not by reading every key.
    sql.exec(`CREATE INDEX IF NOT EXISTS v3_kv_lease ON v3_kv (lease) WHERE lease != 0`);
    this.rev = this.meta(META.revision) ?? 1;
    this.compactedRev = this.meta(META.compacted) ?? 0;
    this.applied = this.meta(META.applied) ?? 0;
  }

  revision(): number {
    return this.rev;
  }

  compacted(): number {
    return this.compactedRev;
  }

  appliedIndex(): number {
    return this.applied;
  }

  applyAt(index: number, apply: () => void): void {
    try {
      this.storage.transactionSync(() => {
        apply();
        this.setMeta(META.applied, index);
      });
      this.applied = index;
    } catch (err) {
      // The transaction rolled back: so do the figures kept in memory.
      this.rev = this.meta(META.revision) ?? 1;
      this.compactedRev = this.meta(META.compacted) ?? 0;
      throw err;
    }
  }

  range(span: Span, rev: number, limit: number): KeyValue[] {
    if (span.end === null) {
      // One key, the most common read: its newest version at `rev`, straight from the index.
      const rows = this.sql.exec<Row>(
        `SELECT key, mod, create_rev, version, value, lease FROM v3_kv WHERE key = ? AND mod <= ? ORDER BY mod DESC LIMIT 1`,
        toBlob(span.key),
        rev,
      );
      return [...rows].filter((row) => row.version > 0).map(toKeyValue);
    }
    const [where, args] = spanWhere(span);
    const rows = this.sql.exec<Row>(
      `SELECT a.key, a.mod, a.create_rev, a.version, a.value, a.lease
       FROM (SELECT key, MAX(mod) AS m FROM v3_kv WHERE ${where} AND mod <= ? GROUP BY key) AS l
       JOIN v3_kv AS a ON a.key = l.key AND a.mod = l.m
       WHERE a.version > 0 ORDER BY a.key ${limit > 0 ? "LIMIT ?" : ""}`,
      ...args,
      rev,
      ...(limit > 0 ? [limit] : []),
    );
    return [...rows].map(toKeyValue);
  }

  changes(span: Span, from: number): KeyValue[] {
    const [where, args] = spanWhere(span);
    const rows = this.sql.exec<Row>(
      `SELECT key, mod, create_rev, version, value, lease FROM v3_kv WHERE ${where} AND mod >= ? ORDER BY mod, key`,
      ...args,
      from,
    );
    return [...rows].map(toKeyValue);
  }

  count(span: Span, rev: number): number {
    const [where, args] = spanWhere(span);
    return this.sql
      .exec<{ n: number }>(
        `SELECT COUNT(*) AS n FROM (SELECT key, MAX(mod) AS m FROM v3_kv WHERE ${where} AND mod <= ? GROUP BY key) AS l
         JOIN v3_kv AS a ON a.key = l.key AND a.mod = l.m WHERE a.version > 0`,
        ...args,
        rev,
      )
      .one().n;
  }

  write(rev: number, changes: KeyValue[]): void {
    for (const kv of changes) {
      this.sql.exec(
        `INSERT INTO v3_kv (key, mod, create_rev, version, value, lease) VALUES (?, ?, ?, ?, ?, ?)`,
        toBlob(kv.key),
        kv.modRevision,
        kv.createRevision,
        kv.version,
        toBlob(kv.value),
        kv.lease,
      );
    }
    this.setMeta(META.revision, rev);
    this.rev = rev;
  }

  compact(rev: number): void {
    // Keep, for each key, the version a read at `rev` sees (unless it is a
    // tombstone) and every later one.
    this.sql.exec(
      `DELETE FROM v3_kv WHERE mod <= ?1 AND (version = 0 OR mod < (SELECT MAX(b.mod) FROM v3_kv AS b WHERE b.key = v3_kv.key AND b.mod <= ?1))`,
      rev,
    );
    this.setMeta(META.compacted, rev);
    this.compactedRev = rev;
  }

  lease(id: number): Lease | undefined {
    return this.sql.exec<{ id: number; ttl: number }>(`SELECT id, ttl FROM v3_lease WHERE id = ?`, id).toArray()[0];
  }

  leases(): Lease[] {
    return this.sql.exec<{ id: number; ttl: number }>(`SELECT id, ttl FROM v3_lease ORDER BY id`).toArray().map(({ id, ttl }) => ({ id, ttl }));
  }

  putLease(lease: Lease): void {
    this.sql.exec(`INSERT INTO v3_lease (id, ttl) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET ttl = excluded.ttl`, lease.id, lease.ttl);
  }

  deleteLease(id: number): void {
    this.sql.exec(`DELETE FROM v3_lease WHERE id = ?`, id);
  }

  leaseKeys(id: number): string[] {
    const rows = this.sql.exec<{ key: ArrayBuffer }>(
      `SELECT a.key FROM v3_kv AS a WHERE a.lease = ? AND a.version > 0
         AND a.mod = (SELECT MAX(b.mod) FROM v3_kv AS b WHERE b.key = a.key) ORDER BY a.key`,
      id,
    );
    return [...rows].map((r) => fromBlob(r.key));
  }

  dump(): MvccDump {
    const versions = [...this.sql.exec<Row>(`SELECT key, mod, create_rev, version, value, lease FROM v3_kv ORDER BY key, mod`)].map(toKeyValue);
    return { revision: this.rev, compacted: this.compactedRev, versions, leases: this.leases() };
  }

  load(dump: MvccDump, index: number): void {
    this.storage.transactionSync(() => {
      this.sql.exec(`DELETE FROM v3_kv`);
      this.sql.exec(`DELETE FROM v3_lease`);
      for (const lease of dump.leases) this.putLease(lease);
      for (const kv of dump.versions) this.write(kv.modRevision, [kv]);
      this.setMeta(META.revision, dump.revision);
      this.setMeta(META.compacted, dump.compacted);
      this.setMeta(META.applied, index);
    });
    this.rev = dump.revision;
    this.compactedRev = dump.compacted;
    this.applied = index;
  }

  private meta(name: string): number | undefined {
    return this.sql.exec<{ value: number }>(`SELECT value FROM v3_meta WHERE name = ?`, name).toArray()[0]?.value;
  }

  private setMeta(name: string, value: number): void {
    this.sql.exec(`INSERT INTO v3_meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value);
  }
}

function spanWhere(span: Span): [string, ArrayBuffer[]] {
  if (span.end === null) return ["key = ?", [toBlob(span.key)]];
  if (span.end === "") return ["key >= ?", [toBlob(span.key)]];
  return ["key >= ? AND key < ?", [toBlob(span.key), toBlob(span.end)]];
}

function toKeyValue(row: Row): KeyValue {
  return {
    key: fromBlob(row.key),
    createRevision: row.create_rev,
    modRevision: row.mod,
    version: row.version,
    value: fromBlob(row.value),
    lease: row.lease,
  };
}

/** A byte string as a BLOB. */
function toBlob(bytes: string): ArrayBuffer {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes.charCodeAt(i);
  return out.buffer;
}

/** A BLOB as a byte string. */
function fromBlob(blob: ArrayBuffer): string {
  const bytes = new Uint8Array(blob);
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return out;
}
