/** /version, /health, /v2/machines, /v2/members, /v2/stats/self and /v2/stats/leader inside workerd. */
import { describe, expect, it } from "vitest";
import { ETCD_CLUSTER_VERSION, ETCD_SERVER_VERSION } from "../../src/server/version.ts";
import { foundingMembers } from "../../src/server/members.ts";
import { CID, CORS, call, headersOf } from "./helpers.ts";

const FOUNDERS = foundingMembers("default", 3);
const byId = [...FOUNDERS].sort((a, b) => (BigInt("0x" + a.id) < BigInt("0x" + b.id) ? -1 : 1));
const TEXT = "text/plain; charset=utf-8";

describe("cluster endpoints", () => {
  it("/version: JSON without a newline", async () => {
    const res = await call("/version");
    expect(res.status).toBe(200);
    expect(headersOf(res)).toEqual({ ...CORS, "content-type": "application/json" });
    expect(await res.text()).toBe(`{"etcdserver":"${ETCD_SERVER_VERSION}","etcdcluster":"${ETCD_CLUSTER_VERSION}"}`);
    expect(ETCD_SERVER_VERSION).toMatch(/^3\.4\.\d+$/);
    expect(ETCD_CLUSTER_VERSION).toBe("3.4.0");
  });

  it("/health: 3.4's body, text/plain, no newline", async () => {
    const res = await call("/health");
    expect(res.status).toBe(200);
    expect(headersOf(res)).toEqual({ ...CORS, "content-type": TEXT });
    expect(await res.text()).toBe('{"health":"true"}');
  });

  it("/v2/machines: the origin the client used, no cluster id; HEAD has no body", async () => {
    for (const origin of ["http://127.0.0.1", "http://localhost:2379", "https://etcd.example.com"]) {
      const res = await call(`${origin}/v2/machines`);
      expect(res.status).toBe(200);
      expect(headersOf(res)).toEqual({ ...CORS, "content-type": TEXT });
      expect(await res.text()).toBe(origin);
    }
    const head = await call("/v2/machines", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String("http://127.0.0.1".length));
    expect(await head.text()).toBe("");
  });

  it("/v2/members and /v2/members/leader: the founding members, sorted by id, clientURLs = the request origin", async () => {
    const member = (m: { id: string; name: string; peerURLs: string[] }, o: string) =>
      `{"id":"${m.id}","name":"${m.name}","peerURLs":["${m.peerURLs[0]}"],"clientURLs":["${o}"]}`;
    for (const path of ["/v2/members", "/v2/members/"]) {
      const res = await call(`http://localhost:2379${path}`);
      expect(res.status).toBe(200);
      expect(headersOf(res)).toEqual({ ...CORS, "content-type": "application/json", "x-etcd-cluster-id": CID });
      expect(await res.text()).toBe(`{"members":[${byId.map((m) => member(m, "http://localhost:2379")).join(",")}]}\n`);
    }
    expect(FOUNDERS.map((m) => m.name)).toEqual(["member-0", "member-1", "member-2"]);
    for (const m of FOUNDERS) expect(m.id).toMatch(/^[1-9a-f][0-9a-f]{0,15}$/);
    const leader = await call("http://10.0.0.10:2379/v2/members/leader");
    expect(leader.status).toBe(200);
    const l = JSON.parse(await leader.text());
    const known = FOUNDERS.find((m) => m.id === l.id)!;
    expect(JSON.stringify(l)).toBe(member(known, "http://10.0.0.10:2379"));
    const other = await call("/v2/members/abc");
    expect(other.status).toBe(404);
    expect(headersOf(other)).toEqual({ ...CORS, "content-type": "application/json", "x-etcd-cluster-id": CID });
    expect(await other.text()).toBe('{"message":"Not found"}');
  });

  it("/v2/stats/self: field order, Raft role and leader, Go-style times", async () => {
    const res = await call("/v2/stats/self");
    expect(res.status).toBe(200);
    expect(headersOf(res)).toEqual({ ...CORS, "content-type": "application/json" });
    const text = await res.text();
    expect(text.endsWith("}")).toBe(true);
    const self = JSON.parse(text);
    expect(Object.keys(self)).toEqual([
      "name", "id", "state", "startTime", "leaderInfo", "recvAppendRequestCnt", "sendAppendRequestCnt", "quiescent",
    ]);
    const me = FOUNDERS.find((m) => m.id === self.id)!;
    expect(self.name).toBe(me.name);
    const leader = JSON.parse(await (await call("/v2/members/leader")).text()).id;
    expect(self.leaderInfo.leader).toBe(leader);
    // The router asks the leader first, so the answer is the leader's.
    expect(self.state).toBe(self.id === leader ? "StateLeader" : "StateFollower");
    expect(Object.keys(self.leaderInfo)).toEqual(["leader", "uptime", "startTime"]);
    expect(self.startTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$/);
    expect(self.leaderInfo.startTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$/);
    expect(self.leaderInfo.uptime).toMatch(/^((\d+h)?(\d+m)?\d+(\.\d+)?s|\d+(\.\d+)?ms|0s)$/);
    expect(self.sendAppendRequestCnt).toBeGreaterThan(0);
  });

  it("/v2/stats/leader: the leader and each follower's counts and latencies", async () => {
    await call("/v2/keys/statsleader", { method: "PUT", body: "value=x", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    const res = await call("/v2/stats/leader");
    expect(res.status).toBe(200);
    expect(headersOf(res)).toEqual({ ...CORS, "content-type": "application/json" });
    const stats = JSON.parse(await res.text());
    const leader = JSON.parse(await (await call("/v2/members/leader")).text()).id;
    expect(stats.leader).toBe(leader);
    const followers = FOUNDERS.map((m) => m.id).filter((id) => id !== leader).sort();
    expect(Object.keys(stats.followers)).toEqual(followers);
    for (const id of followers) {
      const f = stats.followers[id];
      expect(Object.keys(f)).toEqual(["latency", "counts"]);
      expect(Object.keys(f.latency)).toEqual(["current", "average", "standardDeviation", "minimum", "maximum"]);
      expect(f.counts.success).toBeGreaterThan(0);
      expect(f.latency.minimum).toBeLessThanOrEqual(f.latency.maximum);
    }
  });

  it("/v2/stats/store: every counter in order, watchers included", async () => {
    const res = await call("/v2/stats/store");
    const text = await res.text();
    expect(Object.keys(JSON.parse(text))).toEqual([
      "getsSuccess", "getsFail", "setsSuccess", "setsFail", "deleteSuccess", "deleteFail", "updateSuccess",
      "updateFail", "createSuccess", "createFail", "compareAndSwapSuccess", "compareAndSwapFail",
      "compareAndDeleteSuccess", "compareAndDeleteFail", "expireCount", "watchers",
    ]);
    expect(text).toMatch(/^\{("[a-zA-Z]+":\d+,){15}"watchers":\d+\}$/);
  });
});
