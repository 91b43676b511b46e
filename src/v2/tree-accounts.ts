/**
 * What the v2 store keeps account of as its tree changes: the memory the
 * tree takes (for the v2 store's quota: the whole tree lives in a member's
 * isolate) and its nodes with a TTL, earliest expiry first. The store
 * tells it of every change at the one place each happens: a node joining
 * the tree, leaving it, taking a new value or a new TTL. Apart from
 * store.ts, which keeps etcd's rules.
 */
import type { TreeNode } from "./node.ts";
import { TTLHeap } from "./ttl-heap.ts";

/** What a node costs beyond its path and value: the object, its map entry, its numbers (an estimate). */
const NODE_OVERHEAD_BYTES = 120;

/**
 * The memory a node takes, estimated. A string's characters count two
 * bytes, as they may take in V8.
 */
export function nodeBytes(path: string, value: string): number {
  return NODE_OVERHEAD_BYTES + 2 * (path.length + value.length);
}

export class TreeAccounts {
  /** The tree's memory: nodeBytes summed over every node but the root. */
  bytes = 0;
  private readonly ttls = new TTLHeap();
  private ttlCount = 0;

  /** `n` was attached to the tree (with its value and TTL). */
  joined(n: TreeNode): void {
    this.bytes += nodeBytes(n.path, n.value);
    if (n.expireTime) this.track(n);
  }

  /** `n` was detached from the tree (its children are told of one by one). */
  left(n: TreeNode): void {
    this.bytes -= nodeBytes(n.path, n.value);
    if (n.expireTime) this.ttlCount--;
  }

  /** Sets a file's value. */
  setValue(n: TreeNode, value: string): void {
    this.bytes += 2 * (value.length - n.value.length);
    n.value = value;
  }

  /** Sets a node's expiry (0: none). */
  setTTL(n: TreeNode, expireTime: number): void {
    if (n.expireTime) this.ttlCount--;
    n.expireTime = expireTime;
    if (expireTime) this.track(n);
  }

  /** The live node that expires first, or null. `isLive` says whether a node is still in the tree. */
  nextExpiring(isLive: (n: TreeNode) => boolean): TreeNode | null {
    return this.ttls.peek(isLive);
  }

  /** Drops the node nextExpiring gave, once it is expired. */
  dropNextExpiring(): void {
    this.ttls.pop();
  }

  /** After expiries: rebuilds the heap from `liveTTLNodes` once most of its entries are stale. */
  compact(liveTTLNodes: () => Iterable<TreeNode>): void {
    this.ttls.compact(liveTTLNodes, this.ttlCount);
  }

  hasTTLs(): boolean {
    return this.ttlCount > 0;
  }

  private track(n: TreeNode): void {
    this.ttlCount++;
    this.ttls.push(n);
  }
}
