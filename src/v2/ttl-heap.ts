/**
 * Nodes with a TTL, earliest expiry first. Entries are invalidated lazily: a
 * node whose TTL changed or that was removed stays in the heap until it
 * surfaces, and is skipped then (cheaper than a keyed heap, and the heap is
 * rebuilt when stale entries outnumber live ones).
 */
import type { TreeNode } from "./node.ts";

interface Entry {
  expireTime: number;
  node: TreeNode;
}

export class TTLHeap {
  private heap: Entry[] = [];

  push(node: TreeNode): void {
    this.heap.push({ expireTime: node.expireTime, node });
    this.up(this.heap.length - 1);
  }

  /** The earliest live entry's node, or null. `isLive` says whether a node is still in the tree. */
  peek(isLive: (n: TreeNode) => boolean): TreeNode | null {
    while (this.heap.length > 0) {
      const top = this.heap[0];
      if (top.node.expireTime === top.expireTime && isLive(top.node)) return top.node;
      this.pop();
    }
    return null;
  }

  pop(): void {
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
  }

  /** Rebuilds from scratch when most entries are stale. */
  compact(liveNodes: () => Iterable<TreeNode>, liveCount: number): void {
    if (this.heap.length <= 2 * liveCount + 64) return;
    this.heap = [];
    for (const n of liveNodes()) this.push(n);
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].expireTime <= h[i].expireTime) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l].expireTime < h[m].expireTime) m = l;
      if (r < h.length && h[r].expireTime < h[m].expireTime) m = r;
      if (m === i) return;
      [h[m], h[i]] = [h[i], h[m]];
      i = m;
    }
  }
}
