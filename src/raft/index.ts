/**
 * Public API of the pure Raft core. Drivers use RawNode with a Storage
 * implementation; everything they exchange is plain JSON-able data.
 */
export { RawNode, type Ready, type SoftState } from "./rawnode";
export { TRANSFER_CONTEXT } from "./raft";
export type { RaftOptions } from "./options";
export { MemoryStorage, bootstrap, emptySnapshot, type Storage, type StorageWriter } from "./storage";
export { applyChange, decodeConfigEntry, isMember, isVoter, members, quorum } from "./config";
export { seededRandom, type Random } from "./random";
export { NO_NODE } from "./types";
export type {
  ClusterConfig,
  ConfigChange,
  ConfigEntryData,
  Entry,
  EntryType,
  HardState,
  Message,
  MessageType,
  NodeId,
  ProgressState,
  ProgressStatus,
  ProposeRejection,
  ProposeResult,
  ReadState,
  Role,
  Snapshot,
  SnapshotChunk,
  SnapshotMeta,
  Status,
} from "./types";
