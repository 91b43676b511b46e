/**
 * Snapshot transfer: a follower that needs entries the leader has compacted
 * gets the leader's snapshot instead, cut into chunks of at most
 * snapshotChunkSize characters so that no single message is unbounded.
 *
 * The follower answers each chunk with how much of the snapshot it holds
 * (snapshotResp `offset`) and the leader sends the chunk starting there, so a
 * lost or duplicated chunk costs one resend rather than a restart. A follower
 * that holds no assembly matching the chunk asks for offset 0. The follower
 * acknowledges the installed snapshot with an ordinary appendResp at its
 * index, which is what takes the leader's Progress out of "snapshot" state.
 */
import type { ConfigHistory } from "./config";
import type { RaftLog } from "./log";
import type { NodeId, Outgoing, Snapshot, SnapshotChunk, SnapshotMeta } from "./types";

// ---- leader side ------------------------------------------------------------

/** The snapshot a leader is sending one follower, and how far it got. */
export interface SnapshotTransfer {
  snapshot: Snapshot;
  /** Characters the follower has confirmed; the next chunk starts here. */
  offset: number;
}

/** The chunk to send next: the data from the confirmed offset on, up to chunkSize characters. */
export function nextChunk(transfer: SnapshotTransfer, chunkSize: number): SnapshotChunk {
  const { snapshot, offset } = transfer;
  const data = snapshot.data.slice(offset, offset + chunkSize);
  return { meta: snapshot.meta, offset, total: snapshot.data.length, data };
}

/**
 * The follower says it holds `offset` characters of the snapshot at `index`.
 * True if the transfer moved to that offset and the chunk starting there is
 * due. A reply equal to our offset is a duplicate (that chunk is already on
 * its way); one about another snapshot is stale.
 */
export function resumeTransfer(transfer: SnapshotTransfer, index: number | undefined, offset: number | undefined): boolean {
  if (index !== transfer.snapshot.meta.index || offset === transfer.offset) return false;
  transfer.offset = offset ?? 0;
  return true;
}

// ---- follower side ----------------------------------------------------------

interface Assembly {
  meta: SnapshotMeta;
  parts: string[];
  received: number;
}

/** A follower's side: assembles the chunks in order and installs the snapshot once complete. */
export class SnapshotReceiver {
  private assembly: Assembly | undefined;

  constructor(
    private readonly log: RaftLog,
    private readonly configs: ConfigHistory,
  ) {}

  /** Take in a chunk from the leader `from`; returns the answer. */
  receive(from: NodeId, chunk: SnapshotChunk): Outgoing {
    const index = chunk.meta.index;
    if (index <= this.log.committed) {
      // Our commit index already covers the snapshot: acknowledge that instead.
      this.assembly = undefined;
      return { type: "appendResp", to: from, index: this.log.committed };
    }
    const a = this.assembly;
    const same = a !== undefined && a.meta.index === index && a.meta.term === chunk.meta.term;
    if (same && chunk.offset !== a.received) return { type: "snapshotResp", to: from, index, offset: a.received };
    if (!same) {
      if (chunk.offset !== 0) return { type: "snapshotResp", to: from, index, offset: 0 };
      this.assembly = { meta: chunk.meta, parts: [], received: 0 };
    }
    const assembly = this.assembly as Assembly;
    assembly.parts.push(chunk.data);
    assembly.received += chunk.data.length;
    if (assembly.received < chunk.total) return { type: "snapshotResp", to: from, index, offset: assembly.received };
    this.assembly = undefined;
    this.install({ meta: assembly.meta, data: assembly.parts.join("") });
    return { type: "appendResp", to: from, index };
  }

  /** Install a complete snapshot unless our log already covers it (§7). */
  private install(snapshot: Snapshot): void {
    const { index, term } = snapshot.meta;
    if (this.log.matchTerm(index, term)) {
      // Our log already has the snapshot's last entry, hence (log matching)
      // everything before it: keep the log, just learn the commit.
      this.log.commitTo(index);
      return;
    }
    this.log.restore(snapshot);
    this.configs.restored(snapshot.meta.config);
  }
}
