/**
 * The etcd v2 store as a pure, deterministic state machine: a tree of nodes,
 * one index counter, TTLs, the event history and the live watchers. It never
 * reads a clock and does no I/O: mutations arrive as commands carrying their
 * own time, and reads take the caller's "now" only to report remaining TTLs.
 *
 * Behaviour follows etcd 3.4's v2store, including its documented quirks
 * (stats counting, directory modifiedIndex, hidden-key rules); comments mark
 * each one.
 */
import type { Command } from "./command.ts";
import { ErrorCode, V2Error, type V2ErrorBody } from "./errors.ts";
import { newEvent, type StoreEvent, type WireEvent } from "./event.ts";
import { EventHistory } from "./history.ts";
import {
  descendants,
  externNode,
  getRepr,
  isDir,
  isUnder,
  newDir,
  newFile,
  repr,
  type NodeExtern,
  type TreeNode,
} from "./node.ts";
import { baseName, cleanPath, components, joinPath, parentPath } from "./path.ts";
import { newStats, type StoreStats } from "./stats.ts";
import { expireTimeFor } from "./time.ts";
import { nodeBytes, TreeAccounts } from "./tree-accounts.ts";
import { WatcherHub, type Deliver, type Watcher } from "./watchers.ts";

export const HISTORY_CAPACITY = 1000;

export type ApplyResult = { ok: true; event: WireEvent; index: number } | { ok: false; error: V2ErrorBody };

export class Store {
  root: TreeNode = newDir("/", 0, null, 0);
  index = 0;
  readonly stats: StoreStats = newStats();
  hub: WatcherHub;
  /** The tree's memory and its nodes with a TTL, told of every change (see tree-accounts.ts). */
  private readonly accounts = new TreeAccounts();

  constructor(history = new EventHistory(HISTORY_CAPACITY)) {
    this.hub = new WatcherHub(history);
  }

  /** The tree's estimated memory (nodeBytes summed over every node): the v2 store's quota bounds it. */
  get bytes(): number {
    return this.accounts.bytes;
  }

  /**
   * How much writing `value` at `path` would add to `bytes`, as far as the
   * tree tells now: the difference from the value a file there holds, or a
   * whole new node (directories it would create are not counted).
   */
  growthOf(path: string, value: string): number {
    let existing: TreeNode | null = null;
    try {
      existing = this.lookup(cleanPath(path));
    } catch {
      // not there (or in the way): a new node
    }
    return existing && !isDir(existing) ? 2 * (value.length - existing.value.length) : nodeBytes(path, value);
  }

  // ---- reads ----

  /** GET: the node (a directory with its listing), or a V2Error. */
  get(path: string, recursive: boolean, sorted: boolean, now: number): WireEvent {
    try {
      const n = this.lookup(cleanPath(path));
      this.stats.getsSuccess++;
      const node = getRepr(n, recursive, sorted, now);
      return { action: "get", node };
    } catch (e) {
      this.stats.getsFail++;
      throw e;
    }
  }

  /**
   * Starts a watch from `sinceIndex` (0: the next index). Throws the 401
   * "index cleared" error when that index has left the history.
   */
  watch(path: string, recursive: boolean, stream: boolean, sinceIndex: number, deliver: Deliver): Watcher {
    const since = sinceIndex === 0 ? this.index + 1 : sinceIndex;
    const w = this.hub.watch(cleanPath(path), recursive, stream, since, this.index, deliver);
    this.stats.watchers = this.hub.count;
    return w;
  }

  unwatch(w: Watcher): void {
    this.hub.remove(w);
    this.stats.watchers = this.hub.count;
  }

  /** Keeps the live watchers of the store this one replaces. */
  adoptWatchers(previous: WatcherHub): void {
    this.hub.adopt(previous);
    this.stats.watchers = this.hub.count;
  }

  /** The earliest expiry of any node, or null when no node has a TTL. */
  nextExpiry(): number | null {
    return this.accounts.nextExpiring((n) => this.isLive(n))?.expireTime ?? null;
  }

  // ---- writes ----

  /** Applies one command. Errors are results, not exceptions: a failed command changes nothing but stats. */
  apply(cmd: Command): ApplyResult {
    try {
      const e = this.run(cmd);
      return { ok: true, event: e.wire, index: this.index };
    } catch (err) {
      if (err instanceof V2Error) return { ok: false, error: err.body };
      throw err;
    } finally {
      this.stats.watchers = this.hub.count;
    }
  }

  private run(cmd: Command): StoreEvent {
    switch (cmd.op) {
      case "set":
        return this.counted("setsSuccess", "setsFail", () => this.set(cmd));
      case "create":
        return this.counted("createSuccess", "createFail", () =>
          this.create(cmd.path, cmd.dir, cmd.value, cmd.unique, expireTimeFor(cmd.ttl, cmd.now), cmd.now),
        );
      case "update":
        return this.counted("updateSuccess", "updateFail", () => this.update(cmd));
      case "compareAndSwap":
        return this.counted("compareAndSwapSuccess", "compareAndSwapFail", () => this.compareAndSwap(cmd));
      case "delete":
        return this.counted("deleteSuccess", "deleteFail", () => this.delete(cmd));
      case "compareAndDelete":
        return this.counted("compareAndDeleteSuccess", "compareAndDeleteFail", () => this.compareAndDelete(cmd));
      case "expire":
        return this.expire(cmd.now);
    }
  }

  /**
   * Counts success or failure the way etcd does. etcd decides from a local
   * error variable that some error paths never set, so those failures count
   * as successes: such errors are thrown as `CountedAsSuccess`.
   */
  private counted(ok: keyof StoreStats, fail: keyof StoreStats, fn: () => StoreEvent): StoreEvent {
    try {
      const e = fn();
      this.stats[ok]++;
      return e;
    } catch (err) {
      if (err instanceof CountedAsSuccess) {
        this.stats[ok]++;
        throw err.error;
      }
      this.stats[fail]++;
      throw err;
    }
  }

  private set(cmd: Extract<Command, { op: "set" }>): StoreEvent {
    const path = cleanPath(cmd.path);
    // Only to learn the value a refresh keeps, and to fail early on 104 (or 100 for a refresh).
    let prev: TreeNode | null = null;
    try {
      prev = this.lookup(path);
    } catch (err) {
      if (!(err instanceof V2Error) || err.body.errorCode !== ErrorCode.KeyNotFound || cmd.refresh) throw err;
    }
    const value = cmd.refresh && prev ? prev.value : cmd.value;
    const e = this.internalCreate(path, cmd.dir, value, false, true, expireTimeFor(cmd.ttl, cmd.now), "set", cmd.now);
    this.publish(e, cmd.refresh);
    return e;
  }

  private create(
    path: string,
    dir: boolean,
    value: string,
    unique: boolean,
    expireTime: number,
    now: number,
  ): StoreEvent {
    const e = this.internalCreate(path, dir, value, unique, false, expireTime, "create", now);
    this.hub.notify(e);
    return e;
  }

  private update(cmd: Extract<Command, { op: "update" }>): StoreEvent {
    const path = cleanPath(cmd.path);
    if (path === "/") throw new CountedAsSuccess(this.rootReadOnly());
    const n = this.lookup(path);
    const dir = isDir(n);
    if (dir && cmd.value !== "") {
      throw new CountedAsSuccess(new V2Error(ErrorCode.NotFile, path, this.index));
    }
    const next = this.index + 1;
    const value = cmd.refresh ? n.value : cmd.value;
    const prevNode = repr(n, false, false, cmd.now);
    // A directory's modifiedIndex never changes (etcd's node.Write refuses
    // directories and Update ignores that); the event still reports `next`.
    if (!dir) {
      this.accounts.setValue(n, value);
      n.modifiedIndex = next;
    }
    this.accounts.setTTL(n, expireTimeFor(cmd.ttl, cmd.now));
    const node = externNode({
      key: path,
      value: dir ? undefined : value,
      dir,
      expireTime: n.expireTime,
      now: cmd.now,
      modifiedIndex: next,
      createdIndex: n.createdIndex,
    });
    this.index = next;
    const e = newEvent("update", node, next, prevNode);
    this.publish(e, cmd.refresh);
    return e;
  }

  private compareAndSwap(cmd: Extract<Command, { op: "compareAndSwap" }>): StoreEvent {
    const path = cleanPath(cmd.path);
    if (path === "/") throw new CountedAsSuccess(this.rootReadOnly());
    const n = this.lookup(path);
    if (isDir(n)) throw new V2Error(ErrorCode.NotFile, path, this.index);
    this.compare(n, cmd.prevValue, cmd.prevIndex);
    const value = cmd.refresh ? n.value : cmd.value;
    this.index++;
    const prevNode = repr(n, false, false, cmd.now);
    this.accounts.setValue(n, value);
    n.modifiedIndex = this.index;
    this.accounts.setTTL(n, expireTimeFor(cmd.ttl, cmd.now));
    const e = newEvent("compareAndSwap", repr(n, false, false, cmd.now), this.index, prevNode);
    this.publish(e, cmd.refresh);
    return e;
  }

  private delete(cmd: Extract<Command, { op: "delete" }>): StoreEvent {
    const path = cleanPath(cmd.path);
    if (path === "/") throw new CountedAsSuccess(this.rootReadOnly());
    const n = this.lookup(path);
    const dir = cmd.dir || cmd.recursive;
    if (isDir(n)) {
      if (!dir) throw new V2Error(ErrorCode.NotFile, path, this.index);
      if (n.children!.size > 0 && !cmd.recursive) throw new V2Error(ErrorCode.DirNotEmpty, path, this.index);
    }
    const next = this.index + 1;
    const node = externNode({ key: path, dir: isDir(n), now: cmd.now, modifiedIndex: next, createdIndex: n.createdIndex });
    const e = newEvent("delete", node, next, repr(n, false, false, cmd.now));
    this.removeSubtree(n, e);
    this.index = next;
    this.hub.notify(e);
    return e;
  }

  private compareAndDelete(cmd: Extract<Command, { op: "compareAndDelete" }>): StoreEvent {
    const path = cleanPath(cmd.path);
    const n = this.lookup(path);
    // etcd does not check the read-only root here: the root is a directory, so
    // this answers 102 with the root's path, which the API writes as no cause.
    if (isDir(n)) throw new CountedAsSuccess(new V2Error(ErrorCode.NotFile, path === "/" ? "" : path, this.index));
    try {
      this.compare(n, cmd.prevValue, cmd.prevIndex);
    } catch (err) {
      throw new CountedAsSuccess(err as V2Error);
    }
    this.index++;
    const node = externNode({ key: path, now: cmd.now, modifiedIndex: this.index, createdIndex: n.createdIndex });
    const e = newEvent("compareAndDelete", node, this.index, repr(n, false, false, cmd.now));
    this.removeSubtree(n, e);
    this.hub.notify(e);
    return e;
  }

  /** Removes every node whose expiry is at or before `now`, earliest first, one event and index each. */
  private expire(now: number): StoreEvent {
    let last: StoreEvent | null = null;
    for (;;) {
      const n = this.accounts.nextExpiring((x) => this.isLive(x));
      if (!n || n.expireTime > now) break;
      this.accounts.dropNextExpiring();
      this.index++;
      const dir = isDir(n);
      const node = externNode({ key: n.path, dir, now, modifiedIndex: this.index, createdIndex: n.createdIndex });
      const e = newEvent("expire", node, this.index, repr(n, false, false, now));
      this.removeSubtree(n, e);
      this.stats.expireCount++;
      this.hub.notify(e);
      last = e;
    }
    this.accounts.compact(() => [...descendants(this.root)].filter((x) => x.expireTime));
    // An expiry pass that found nothing is not an error; it reports the current index.
    return last ?? { wire: { action: "expire" }, index: this.index, refresh: false, prevDir: false };
  }

  /**
   * Records `count` writes to etcd's internal records, which live outside
   * this tree (the v2 auth records, src/v2/auth-store.ts): as in etcd, each
   * takes the next index and a place in the history, but no watch sees it.
   */
  recordInternalWrites(count: number): void {
    for (let i = 0; i < count; i++) {
      this.index++;
      this.hub.history.add({ wire: { action: "set" }, index: this.index, refresh: false, prevDir: false, internal: true });
    }
  }

  // ---- helpers ----

  private publish(e: StoreEvent, refresh: boolean): void {
    if (refresh) {
      e.refresh = true;
      this.hub.addSilently(e);
    } else {
      this.hub.notify(e);
    }
  }

  private rootReadOnly(): V2Error {
    return new V2Error(ErrorCode.RootReadOnly, "/", this.index);
  }

  private compare(n: TreeNode, prevValue: string, prevIndex: string): void {
    const indexMatch = prevIndex === "0" || String(n.modifiedIndex) === prevIndex;
    const valueMatch = prevValue === "" || n.value === prevValue;
    if (indexMatch && valueMatch) return;
    let cause: string;
    if (indexMatch) cause = `[${prevValue} != ${n.value}]`;
    else if (valueMatch) cause = `[${prevIndex} != ${n.modifiedIndex}]`;
    else cause = `[${prevValue} != ${n.value}] [${prevIndex} != ${n.modifiedIndex}]`;
    throw new V2Error(ErrorCode.TestFailed, cause, this.index);
  }

  /** Walks to a node: 100 names the first missing component, 104 the file in the way. */
  private lookup(path: string): TreeNode {
    let cur = this.root;
    for (const part of components(path)) {
      if (!cur.children) throw new V2Error(ErrorCode.NotDir, cur.path, this.index);
      const child = cur.children.get(part);
      if (!child) throw new V2Error(ErrorCode.KeyNotFound, joinPath(cur.path, part), this.index);
      cur = child;
    }
    return cur;
  }

  private internalCreate(
    nodePath: string,
    dir: boolean,
    value: string,
    unique: boolean,
    replace: boolean,
    expireTime: number,
    action: "set" | "create",
    now: number,
  ): StoreEvent {
    const next = this.index + 1;
    let path = cleanPath(nodePath);
    if (unique) path = joinPath(path, String(next).padStart(20, "0"));
    if (path === "/") throw new V2Error(ErrorCode.RootReadOnly, "/", this.index);
    const parent = this.ensureDir(parentPath(path), next);
    const name = baseName(path);
    const existing = parent.children!.get(name);
    let prevNode: NodeExtern | undefined;
    if (existing) {
      if (!replace) throw new V2Error(ErrorCode.NodeExist, path, this.index);
      if (isDir(existing)) throw new V2Error(ErrorCode.NotFile, path, this.index);
      prevNode = repr(existing, false, false, now);
      this.detach(existing);
    }
    const n = dir ? newDir(path, next, parent, expireTime) : newFile(path, value, next, parent, expireTime);
    parent.children!.set(name, n);
    this.accounts.joined(n);
    this.index = next;
    return newEvent(action, repr(n, false, false, now), next, prevNode);
  }

  /**
   * Walks to a directory, creating missing ones with index `next`. A file in
   * the way fails with 104, which etcd also counts as a failed set on top of
   * the operation's own counter.
   */
  private ensureDir(path: string, next: number): TreeNode {
    let cur = this.root;
    for (const part of components(path)) {
      let child = cur.children!.get(part);
      if (!child) {
        child = newDir(joinPath(cur.path, part), next, cur, 0);
        cur.children!.set(part, child);
        this.accounts.joined(child);
      } else if (!isDir(child)) {
        this.stats.setsFail++;
        throw new V2Error(ErrorCode.NotDir, child.path, this.index);
      }
      cur = child;
    }
    return cur;
  }

  /** Removes a node and its subtree, telling watchers on every removed path (children first). */
  private removeSubtree(n: TreeNode, e: StoreEvent): void {
    const visit = (x: TreeNode) => {
      if (x.children) for (const c of x.children.values()) visit(c);
      this.accounts.left(x);
      this.hub.notifyRemoved(e, x.path);
    };
    visit(n);
    n.parent?.children!.delete(baseName(n.path));
    n.parent = null;
  }

  /** Unlinks a replaced file without notifying anyone. */
  private detach(n: TreeNode): void {
    this.accounts.left(n);
    n.parent?.children!.delete(baseName(n.path));
    n.parent = null;
  }

  private isLive(n: TreeNode): boolean {
    return isUnder(n, this.root);
  }

  /** After a snapshot load: sets the index, and accounts for every node (its memory, its TTL). */
  restoreIndexes(index: number): void {
    this.index = index;
    for (const n of descendants(this.root)) this.accounts.joined(n);
  }

  hasTTLKeys(): boolean {
    return this.accounts.hasTTLs();
  }
}

/** An error that etcd counts as a success in its stats (see `counted`). */
class CountedAsSuccess extends Error {
  constructor(readonly error: V2Error) {
    super(error.message);
  }
}
