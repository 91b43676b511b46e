/**
 * What the watch-socket tests look at inside each replica: the sockets it
 * holds, whether it ticks, the socket messages it was billed for and its
 * v2 watchers; and the wait for N sockets on one member of a quiet cluster.
 */
import { runInDurableObject } from "cloudflare:test";
import type { Replica } from "../../src/replica/replica.ts";
import type { ReplicaState } from "../../src/server/state.ts";
import { founders, replica, waitUntil } from "./cluster-helpers.ts";

export interface Holding {
  sockets: number;
  ticking: boolean;
  socketMessages: number;
  /** When this life of the replica began (a crash starts another). */
  started: number;
  v2Watchers: number;
}

export const stubOf = (cluster: string, id: string) => replica(cluster, id) as unknown as DurableObjectStub<Replica>;
export const stateOf = (r: Replica) => r.driver.state as ReplicaState;

/** What holds each member of `cluster` now. */
export async function holding(cluster: string): Promise<Map<string, Holding>> {
  const all = await Promise.all(
    founders(cluster).map(async (id) => {
      const h = await runInDurableObject(stubOf(cluster, id), (r: Replica, state): Holding => ({
        sockets: state.getWebSockets().length,
        ...r.usage.holds(),
        ticking: !r.driver.quiescent,
        started: (r as unknown as { startTime: number }).startTime,
        v2Watchers: stateOf(r).store.stats.watchers,
      }));
      return [id, h] as const;
    }),
  );
  return new Map(all);
}

/**
 * Waits until one member holds `sockets` sockets and no member ticks (the
 * last write done, the cluster quiet), then prints and answers what each
 * member holds, its socket messages counted from `before`.
 */
export async function quietWithSockets(cluster: string, sockets: number, before: Map<string, Holding>, label: string): Promise<Map<string, Holding>> {
  const now = await waitUntil(
    async () => {
      const h = await holding(cluster);
      return [...h.values()].some((x) => x.sockets === sockets) && [...h.values()].every((x) => !x.ticking) ? h : undefined;
    },
    20_000,
    `${sockets} sockets on one replica, the cluster quiet`,
  );
  for (const [id, h] of now) {
    const socketMessages = h.socketMessages - before.get(id)!.socketMessages;
    console.log(`${label}: ${JSON.stringify({ member: id, sockets: h.sockets, v2Watchers: h.v2Watchers, ticking: h.ticking, socketMessages })}`);
  }
  return now;
}
