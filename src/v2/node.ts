/**
 * The v2 tree: every node is a file (a string value) or a directory (ordered
 * children), and the wire form ("NodeExtern") the API writes for it.
 */
import { isHiddenName } from "./path.ts";
import { goTime, remainingTTL } from "./time.ts";

export interface TreeNode {
  path: string;
  createdIndex: number;
  modifiedIndex: number;
  /** Milliseconds since the epoch; 0 means permanent. */
  expireTime: number;
  /** The file's value; "" for directories. */
  value: string;
  /** Children by name in insertion order; null for files. */
  children: Map<string, TreeNode> | null;
  parent: TreeNode | null;
}

/** A node as the API writes it. Field order is the wire order; absent fields are omitted. */
export interface NodeExtern {
  key?: string;
  value?: string;
  dir?: true;
  expiration?: string;
  ttl?: number;
  nodes?: NodeExtern[];
  modifiedIndex?: number;
  createdIndex?: number;
}

/** Every node under `root`, not `root` itself. */
export function* descendants(root: TreeNode): Iterable<TreeNode> {
  const stack = [...(root.children?.values() ?? [])];
  while (stack.length) {
    const x = stack.pop()!;
    yield x;
    if (x.children) stack.push(...x.children.values());
  }
}

/** Whether `n` is still attached under `root` (a removed node keeps no parent). */
export function isUnder(n: TreeNode, root: TreeNode): boolean {
  for (let x: TreeNode | null = n; x; x = x.parent) if (x === root) return true;
  return false;
}

export function newFile(path: string, value: string, index: number, parent: TreeNode, expireTime: number): TreeNode {
  return { path, createdIndex: index, modifiedIndex: index, expireTime, value, children: null, parent };
}

export function newDir(path: string, index: number, parent: TreeNode | null, expireTime: number): TreeNode {
  return { path, createdIndex: index, modifiedIndex: index, expireTime, value: "", children: new Map(), parent };
}

export function isDir(n: TreeNode): boolean {
  return n.children !== null;
}

/**
 * Builds a NodeExtern with etcd's field order and omit-empty rules: the root's
 * empty key and zero indexes vanish, a TTL of 0 is omitted, and an empty
 * directory listing has no "nodes".
 */
export function externNode(fields: {
  key: string;
  value?: string;
  dir?: boolean;
  expireTime?: number;
  now: number;
  nodes?: NodeExtern[];
  modifiedIndex: number;
  createdIndex: number;
}): NodeExtern {
  const out: NodeExtern = {};
  if (fields.key !== "" && fields.key !== "/") out.key = fields.key;
  if (fields.value !== undefined) out.value = fields.value;
  if (fields.dir) out.dir = true;
  if (fields.expireTime) {
    out.expiration = goTime(fields.expireTime);
    const ttl = remainingTTL(fields.expireTime, fields.now);
    if (ttl !== 0) out.ttl = ttl;
  }
  if (fields.nodes && fields.nodes.length > 0) out.nodes = fields.nodes;
  if (fields.modifiedIndex) out.modifiedIndex = fields.modifiedIndex;
  if (fields.createdIndex) out.createdIndex = fields.createdIndex;
  return out;
}

/** Visible children, optionally sorted by key (byte-wise, as Go compares strings). */
function listChildren(n: TreeNode, recursive: boolean, sorted: boolean, now: number): NodeExtern[] {
  const out: NodeExtern[] = [];
  for (const child of n.children!.values()) {
    if (isHiddenName(child.path)) continue;
    out.push(repr(child, recursive, sorted, now));
  }
  if (sorted) out.sort((a, b) => compareKeys(a.key ?? "", b.key ?? ""));
  return out;
}

/**
 * A node without its children unless `recursive` (etcd's node.Repr): child
 * directories of a listing carry no "nodes" of their own.
 */
export function repr(n: TreeNode, recursive: boolean, sorted: boolean, now: number): NodeExtern {
  return extern(n, recursive, recursive, sorted, now);
}

/** The node as GET shows it: a directory always lists its direct children (etcd's loadInternalNode). */
export function getRepr(n: TreeNode, recursive: boolean, sorted: boolean, now: number): NodeExtern {
  return extern(n, true, recursive, sorted, now);
}

function extern(n: TreeNode, list: boolean, recursive: boolean, sorted: boolean, now: number): NodeExtern {
  const dir = isDir(n);
  return externNode({
    key: n.path,
    value: dir ? undefined : n.value,
    dir,
    expireTime: n.expireTime,
    now,
    nodes: dir && list ? listChildren(n, recursive, sorted, now) : undefined,
    modifiedIndex: n.modifiedIndex,
    createdIndex: n.createdIndex,
  });
}

/** Byte-wise comparison of UTF-16 strings in UTF-8 order (Go compares bytes). */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca !== cb) {
      // Surrogates (0xD800-0xDFFF) encode code points above 0xFFFF, which sort
      // after 0xE000-0xFFFF in UTF-8 but before them in UTF-16.
      const sa = ca >= 0xd800 && ca <= 0xdfff;
      const sb = cb >= 0xd800 && cb <= 0xdfff;
      if (sa !== sb) return sa ? 1 : -1;
      return ca - cb;
    }
  }
  return a.length - b.length;
}
