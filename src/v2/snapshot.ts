/**
 * Store snapshots: the tree, the index and the event history as one JSON
 * string, so a replica can persist or ship its state and rebuild it exactly.
 * Watchers and stats are not part of it (etcd resets both on restart).
 */
import { EventHistory } from "./history.ts";
import type { StoreEvent } from "./event.ts";
import { isDir, newDir, newFile, type TreeNode } from "./node.ts";
import { baseName, parentPath } from "./path.ts";
import { HISTORY_CAPACITY, Store } from "./store.ts";

/** One node: [path, createdIndex, modifiedIndex, expireTime, value or null for a directory]. */
type NodeRow = [string, number, number, number, string | null];

interface SnapshotData {
  version: 1;
  index: number;
  nodes: NodeRow[];
  history: StoreEvent[];
}

export function saveStore(store: Store): string {
  const nodes: NodeRow[] = [];
  // Pre-order, so every parent precedes its children.
  const stack: TreeNode[] = [...store.root.children!.values()].reverse();
  while (stack.length) {
    const n = stack.pop()!;
    nodes.push([n.path, n.createdIndex, n.modifiedIndex, n.expireTime, isDir(n) ? null : n.value]);
    if (n.children) stack.push(...[...n.children.values()].reverse());
  }
  const data: SnapshotData = { version: 1, index: store.index, nodes, history: store.hub.history.toJSON() };
  return JSON.stringify(data);
}

export function loadStore(snapshot: string): Store {
  const data = JSON.parse(snapshot) as SnapshotData;
  if (data.version !== 1) throw new Error(`unknown store snapshot version ${data.version}`);
  const store = new Store(EventHistory.fromJSON(HISTORY_CAPACITY, data.history));
  const byPath = new Map<string, TreeNode>([["/", store.root]]);
  for (const [path, created, modified, expireTime, value] of data.nodes) {
    const parent = byPath.get(parentPath(path));
    if (!parent || !parent.children) throw new Error(`corrupt store snapshot: no parent directory for ${path}`);
    const n = value === null ? newDir(path, created, parent, expireTime) : newFile(path, value, created, parent, expireTime);
    n.modifiedIndex = modified;
    parent.children.set(baseName(path), n);
    byPath.set(path, n);
  }
  store.restoreIndexes(data.index);
  return store;
}
