/** /version, /health, /v2/machines, /v2/members, /v2/stats/self and /v2/stats/leader inside workerd. */
import { describe, expect, it } from "vitest";
import { ETCD_CLUSTER_VERSION, ETCD_SERVER_VERSION } from "../../src/http/cluster-routes.ts";
import { memberId } from "../../src/replica/identity.ts";
import { CID, CORS, call, headersOf } from "./helpers.ts";

const ID = memberId("default", "replica-0");
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
    expect(await head.text()).toBe("");
  });

  it("/v2/members and /v2/members/leader: the single member with clientURLs = the request origin", async () => {
    const member = (o: string) => `{"id":"${ID}","name":"replica-0","peerURLs":["${o}"],"clientURLs":["${o}"]}`;
    for (const path of ["/v2/members", "/v2/members/"]) {
      const res = await call(`http://localhost:2379${path}`);
      expect(res.status).toBe(200);
      expect(headersOf(res)).toEqual({ ...CORS, "content-type": "application/json", "x-etcd-cluster-id": CID });
      expect(await res.text()).toBe(`{"members":[${member("http://localhost:2379")}]}\n`);
    }
    const leader = await call("http://10.0.0.10:2379/v2/members/leader");
    expect(leader.status).toBe(200);
    expect(await leader.text()).toBe(member("http://10.0.0.10:2379") + "\n");
    const other = await call("/v2/members/abc");
    expect(other.status).toBe(404);
    expect(await other.text()).toBe('{"message":"Not found"}');
    expect(ID).toMatch(/^[1-9a-f][0-9a-f]{0,15}$/);
  });

  it("/v2/stats/self: field order, leader is self, Go-style uptime", async () => {
    const res = await call("/v2/stats/self");
    expect(res.status).toBe(200);
    expect(headersOf(res)).toEqual({ ...CORS, "content-type": "application/json" });
    const text = await res.text();
    expect(text.endsWith("}")).toBe(true);
    const self = JSON.parse(text);
    expect(Object.keys(self)).toEqual([
      "name", "id", "state", "startTime", "leaderInfo", "recvAppendRequestCnt", "sendAppendRequestCnt",
    ]);
    expect(self).toEqual({
      name: "replica-0",
      id: ID,
      state: "StateLeader",
      startTime: self.startTime,
      leaderInfo: { leader: ID, uptime: self.leaderInfo.uptime, startTime: self.startTime },
      recvAppendRequestCnt: 0,
      sendAppendRequestCnt: 0,
    });
    expect(Object.keys(self.leaderInfo)).toEqual(["leader", "uptime", "startTime"]);
    expect(self.startTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(self.leaderInfo.uptime).toMatch(/^((\d+h)?(\d+m)?\d+(\.\d+)?s|\d+(\.\d+)?ms|0s)$/);
  });

  it("/v2/stats/leader: the leader with no followers", async () => {
    const res = await call("/v2/stats/leader");
    expect(res.status).toBe(200);
    expect(headersOf(res)).toEqual({ ...CORS, "content-type": "application/json" });
    expect(await res.text()).toBe(`{"leader":"${ID}","followers":{}}`);
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
