/** Shared builders for store tests: commands with fixed clocks, and unwrapping of results. */
import type { Command } from "../../src/v2/command.ts";
import type { WireEvent } from "../../src/v2/event.ts";
import { V2Error, type V2ErrorBody } from "../../src/v2/errors.ts";
import { Store } from "../../src/v2/store.ts";

/** 2024-01-01T00:00:00.123Z, the instant of the reference's TTL example. */
export const T0 = Date.UTC(2024, 0, 1, 0, 0, 0, 123);

type SetOpts = Partial<{ dir: boolean; ttl: number | null; refresh: boolean; now: number }>;

export const set = (path: string, value = "", o: SetOpts = {}): Command => ({
  op: "set",
  path,
  value,
  dir: o.dir ?? false,
  ttl: o.ttl ?? null,
  refresh: o.refresh ?? false,
  now: o.now ?? T0,
});

export const create = (
  path: string,
  value = "",
  o: Partial<{ dir: boolean; ttl: number | null; unique: boolean; now: number }> = {},
): Command => ({
  op: "create",
  path,
  value,
  dir: o.dir ?? false,
  ttl: o.ttl ?? null,
  unique: o.unique ?? false,
  now: o.now ?? T0,
});

export const update = (path: string, value = "", o: Omit<SetOpts, "dir"> = {}): Command => ({
  op: "update",
  path,
  value,
  ttl: o.ttl ?? null,
  refresh: o.refresh ?? false,
  now: o.now ?? T0,
});

export const cas = (
  path: string,
  value: string,
  prevValue: string,
  prevIndex: number,
  o: Omit<SetOpts, "dir"> = {},
): Command => ({
  op: "compareAndSwap",
  path,
  value,
  prevValue,
  prevIndex: String(prevIndex),
  ttl: o.ttl ?? null,
  refresh: o.refresh ?? false,
  now: o.now ?? T0,
} as unknown as Command);

export const del = (path: string, o: Partial<{ dir: boolean; recursive: boolean; now: number }> = {}): Command => ({
  op: "delete",
  path,
  dir: o.dir ?? false,
  recursive: o.recursive ?? false,
  now: o.now ?? T0,
});

export const cad = (path: string, prevValue: string, prevIndex: number, now = T0): Command =>
  ({ op: "compareAndDelete", path, prevValue, prevIndex: String(prevIndex), now }) as unknown as Command;

export const expire = (now: number): Command => ({ op: "expire", now });

/** Applies a command that must succeed; returns the event's exact wire JSON. */
export function ok(store: Store, cmd: Command): string {
  const r = store.apply(cmd);
  if (!r.ok) throw new Error(`expected success for ${JSON.stringify(cmd)}, got ${JSON.stringify(r.error)}`);
  return JSON.stringify(r.event);
}

/** Applies a command that must fail; returns the error body's exact JSON. */
export function fail(store: Store, cmd: Command): string {
  const r = store.apply(cmd);
  if (r.ok) throw new Error(`expected failure for ${JSON.stringify(cmd)}, got ${JSON.stringify(r.event)}`);
  return JSON.stringify(r.error);
}

/** A GET as JSON text, or the V2Error body as JSON text. */
export function get(store: Store, path: string, o: Partial<{ recursive: boolean; sorted: boolean; now: number }> = {}): string {
  try {
    return JSON.stringify(store.get(path, o.recursive ?? false, o.sorted ?? false, o.now ?? T0));
  } catch (e) {
    if (e instanceof V2Error) return JSON.stringify(e.body);
    throw e;
  }
}

export function errorOf(fn: () => unknown): V2ErrorBody {
  try {
    fn();
  } catch (e) {
    if (e instanceof V2Error) return e.body;
    throw e;
  }
  throw new Error("expected a V2Error");
}

/** Starts a watch that records every delivered event (as wire JSON). */
export function watch(
  store: Store,
  path: string,
  o: Partial<{ recursive: boolean; stream: boolean; since: number }> = {},
): { events: string[]; watcher: ReturnType<Store["watch"]> } {
  const events: string[] = [];
  const watcher = store.watch(path, o.recursive ?? false, o.stream ?? false, o.since ?? 0, (e) => {
    events.push(JSON.stringify(e.wire));
    return true;
  });
  return { events, watcher };
}

export type { WireEvent };
