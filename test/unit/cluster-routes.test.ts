/**
 * The router in Node with a fake cluster, so clocks and member data are fixed:
 * /v2/stats/self time formats (Go's RFC3339Nano and Duration.String), where
 * requests are sent, and what /v2/keys hands to the replica.
 */
import { getRouterName } from "hono/dev";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app } from "../../src/app.ts";
import type { Env } from "../../src/env.ts";
import { goDuration } from "../../src/http/etcd-routes.ts";
import { goTime } from "../../src/v2/time.ts";
import type { KeysRequest } from "../../src/v2/request.ts";
import type { KeysReply, ReplicaStatus, ReplicaStub } from "../../src/server/api.ts";
import { foundingMembers } from "../../src/server/members.ts";
import { newStats } from "../../src/v2/stats.ts";

const FOUNDERS = foundingMembers("default", 3);

/** A cluster whose every replica answers with `status` (the router asks the leader it learned of). */
function fakeEnv(status: Partial<ReplicaStatus>, seen: KeysRequest[] = []): Env {
  const s: ReplicaStatus = {
    id: FOUNDERS[0].id,
    name: "member-0",
    clusterId: "c1d",
    state: "StateLeader",
    leader: FOUNDERS[0].id,
    startTime: Date.UTC(2024, 0, 1, 0, 0, 0, 123),
    leaderSince: Date.UTC(2024, 0, 1, 0, 0, 0, 123),
    raft: { index: 1, term: 2 },
    members: FOUNDERS,
    removed: [],
    recvAppends: 0,
    quiescent: false,
    sendAppends: 5,
    ...status,
  };
  const keys = async (req: KeysRequest): Promise<KeysReply> => {
    seen.push(req);
    return { status: 200, body: '{"action":"get"}\n', etcdIndex: 7, raft: { index: 9, term: 2 }, leader: s.leader };
  };
  const replica: Partial<ReplicaStub> = {
    keys,
    keysBatch: (reqs) => Promise.all(reqs.map(keys)),
    status: async () => s,
    storeStats: async () => newStats(),
    followerStats: async () => (s.state === "StateLeader" ? [] : null),
    // Every cluster here exists already (see src/http/cluster-creation.ts).
    created: async () => true,
  };
  return { REPLICA: { getByName: () => replica }, CLUSTER_SIZE: "3" } as unknown as Env;
}

const selfAt = async (startTime: number, now: number) => {
  vi.useFakeTimers({ now, toFake: ["Date"] });
  const res = await app.fetch(new Request("http://h/v2/stats/self"), fakeEnv({ startTime, leaderSince: startTime }));
  return JSON.parse(await res.text());
};

afterEach(() => vi.useRealTimers());

describe("goDuration (Go's time.Duration.String for milliseconds)", () => {
  it("formats like Go", () => {
    expect(goDuration(0)).toBe("0s");
    expect(goDuration(1)).toBe("1ms");
    expect(goDuration(158)).toBe("158ms");
    expect(goDuration(1000)).toBe("1s");
    expect(goDuration(1500)).toBe("1.5s");
    expect(goDuration(60_000)).toBe("1m0s");
    expect(goDuration(659_322)).toBe("10m59.322s");
    expect(goDuration(3_600_000)).toBe("1h0m0s");
    expect(goDuration(3_723_004)).toBe("1h2m3.004s");
  });
});

describe("/v2/stats/self", () => {
  it("reports start time in UTC and uptime from the member's start", async () => {
    const self = await selfAt(Date.UTC(2024, 0, 1, 0, 0, 0, 123), Date.UTC(2024, 0, 1, 0, 10, 59, 445));
    expect(self).toEqual({
      name: "member-0",
      id: FOUNDERS[0].id,
      state: "StateLeader",
      startTime: "2024-01-01T00:00:00.123Z",
      leaderInfo: { leader: FOUNDERS[0].id, uptime: "10m59.322s", startTime: "2024-01-01T00:00:00.123Z" },
      recvAppendRequestCnt: 0,
      sendAppendRequestCnt: 5,
      quiescent: false,
    });
  });

  // Go writes time.Time as RFC3339Nano, which drops trailing fractional zeros
  // (reference §1.2 "JSON encoding").
  it("drops trailing fractional zeros in startTime, as Go's RFC3339Nano does", async () => {
    expect(goTime(Date.UTC(2024, 0, 1, 0, 0, 0, 100))).toBe("2024-01-01T00:00:00.1Z");
    const a = await selfAt(Date.UTC(2024, 0, 1, 0, 0, 0, 120), Date.UTC(2024, 0, 1, 0, 0, 1));
    expect(a.startTime).toBe("2024-01-01T00:00:00.12Z");
    const b = await selfAt(Date.UTC(2024, 0, 1), Date.UTC(2024, 0, 1, 0, 0, 1));
    expect(b.startTime).toBe("2024-01-01T00:00:00Z");
    expect(b.leaderInfo.startTime).toBe("2024-01-01T00:00:00Z");
  });

  it("/v2/stats/leader on a follower is 403 not current leader", async () => {
    const res = await app.fetch(new Request("http://h/v2/stats/leader"), fakeEnv({ state: "StateFollower", leader: "" }));
    expect(res.status).toBe(403);
    expect(await res.text()).toBe('{"message":"not current leader"}');
  });
});

describe("/v2/keys routing", () => {
  it("the whole app is served by Hono's RegExpRouter, not its slower fallback", async () => {
    const res = await app.fetch(new Request("http://h/clusters/routing/v2/keys/x"), fakeEnv({}));
    expect(res.status).toBe(200);
    // SmartRouter settles on the first router that accepts every route.
    expect(getRouterName(app)).toBe("SmartRouter + RegExpRouter");
  });

  it("decodes the key path, cleans it, and passes the parsed request to the replica", async () => {
    const seen: KeysRequest[] = [];
    const res = await app.fetch(
      new Request("http://h/v2/keys/a%2Fb/c%20d/?recursive=true", { method: "GET" }),
      fakeEnv({}, seen),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("x-etcd-cluster-id")).toBe("5fd9c1a35d2cd1cb");
    expect(res.headers.get("x-etcd-index")).toBe("7");
    expect(res.headers.get("x-raft-index")).toBe("9");
    expect(seen.map((r) => [r.method, r.path, r.recursive])).toEqual([["GET", "/a/b/c d", true]]);
    await app.fetch(new Request("http://h/v2/keys"), fakeEnv({}, seen));
    await app.fetch(new Request("http://h/v2/keys/"), fakeEnv({}, seen));
    expect(seen.slice(1).map((r) => r.path)).toEqual(["/", "/"]);
  });

  it("parse errors never reach the replica", async () => {
    const seen: KeysRequest[] = [];
    const res = await app.fetch(new Request("http://h/v2/keys/x?prevIndex=-1", { method: "DELETE" }), fakeEnv({}, seen));
    expect(res.status).toBe(400);
    expect(await res.text()).toBe(
      '{"errorCode":203,"message":"The given index in POST form is not a number","cause":"invalid value for \\"prevIndex\\"","index":0}\n',
    );
    expect(seen).toEqual([]);
  });
});

describe("when the member a batch went to fails", () => {
  /** A cluster whose first founding member (the router's first pick) fails every batch; the others answer. */
  function failingFirstMember(cluster: string, calls: string[]): Env {
    const [first, second] = foundingMembers(cluster, 3);
    const stubFor = (name: string) => {
      const id = name.slice(cluster.length + 1);
      const keys = async (): Promise<KeysReply> => {
        calls.push(`${id} keys`);
        return { status: 200, body: '{"action":"get"}\n', etcdIndex: 7, raft: { index: 9, term: 2 }, leader: second.id };
      };
      const replica: Partial<ReplicaStub> = {
        keys,
        keysBatch: async (reqs) => {
          calls.push(`${id} batch`);
          if (id === first.id) throw new Error("replica crashed");
          return Promise.all(reqs.map(keys));
        },
        created: async () => true,
      };
      return replica;
    };
    return { REPLICA: { getByName: stubFor }, CLUSTER_SIZE: "3" } as unknown as Env;
  }

  it("a read is served by another member, and the failed one is asked last", async () => {
    const calls: string[] = [];
    const [first, second] = foundingMembers("batch-read", 3);
    const res = await app.fetch(new Request("http://h/clusters/batch-read/v2/keys/x"), failingFirstMember("batch-read", calls));
    expect(res.status).toBe(200);
    expect(calls).toEqual([`${first.id} batch`, `${second.id} keys`]);
  });

  it("a write gets etcd's unknown-outcome error and is never sent again", async () => {
    const calls: string[] = [];
    const [first] = foundingMembers("batch-write", 3);
    const res = await app.fetch(
      new Request("http://h/clusters/batch-write/v2/keys/x", { method: "PUT", body: "value=1", headers: { "Content-Type": "application/x-www-form-urlencoded" } }),
      failingFirstMember("batch-write", calls),
    );
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ errorCode: 300, message: "Raft Internal Error", cause: expect.stringContaining("replica crashed") });
    expect(calls).toEqual([`${first.id} batch`]);
  });
});
