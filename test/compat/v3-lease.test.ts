// etcd 3.4's Lease service over its JSON gateway (grant, revoke, timetolive,
// the keepalive stream, the old /v3/kv/lease/ paths), and keys attached to
// leases, compared with real etcd step by step (see harness/v3.ts for the
// DSL). Lease ids are chosen per run, the same on both sides; seconds left
// on a lease are masked (the two servers are asked a moment apart).
import WebSocket from "ws";
import { describe, expect, it } from "vitest";
import { targets } from "./harness/compare";
import { send } from "./harness/http";
import { call, mask, put, range, shaped, unordered, v3sequence } from "./harness/v3";

const id = () => String(1_000_000 + Math.floor(Math.random() * 1_000_000_000));
const [L1, L2, L3, MISSING] = [id(), id(), id(), id()];

describe("v3 leases against etcd", () => {
  v3sequence("v3-lease", [
    call("/v3/lease/grant", { TTL: "60", ID: L1 }, "grant with an id"),
    call("/v3/lease/grant", { TTL: 30, ID: L1 }, "the same id again: lease already exists (412 on Debian's etcd)"),
    call("/v3/lease/grant", { TTL: "1", ID: L2 }, "below the minimum TTL: granted 2"),
    call("/v3/lease/revoke", { ID: L2 }, "revoked before it can expire"),
    call("/v3/lease/grant", { TTL: "99999999999", ID: L3 }, "too large a TTL"),
    put("/a", "1", { lease: L1 }, "a key attached to the lease"),
    put("/b", "2", { lease: L1 }),
    put("/c", "3", { lease: MISSING }, "a lease that does not exist"),
    range("/a"),
    // etcd lists a lease's keys in Go map order, which changes from run to run.
    shaped(call("/v3/lease/timetolive", { ID: L1, keys: true }, "keys of the lease"), mask("TTL"), unordered("keys")),
    shaped(call("/v3/lease/timetolive", { ID: L1 }), mask("TTL")),
    call("/v3/lease/timetolive", { ID: MISSING }, "an unknown lease: TTL -1, not an error"),
    shaped(call("/v3/kv/lease/timetolive", { ID: L1 }, "the old path"), mask("TTL")),
    put("/b", "4", {}, "overwritten without the lease: detached"),
    call("/v3/kv/lease/revoke", { ID: L1 }, "revoke (the old path): its keys go at one revision"),
    range("/a"),
    range("/b"),
    call("/v3/lease/revoke", { ID: L1 }, "revoked already"),
    call("/v3/lease/grant", { TTL: "abc" }, "a malformed TTL"),
  ]);
});

describe("the v3 lease keepalive stream against etcd", () => {
  const t = targets();
  const post = (url: string, path: string, body: string) => send(url, { method: "POST", path, body, contentType: "application/json" }, 15_000);

  /** The stream's lines, each parsed, with what differs between two clusters (ids, term, revision) masked. */
  async function keepAlive(url: string, lease: string): Promise<unknown[]> {
    const granted = await post(url, "/v3/lease/grant", `{"TTL":"60","ID":"${lease}"}`);
    expect(granted.status).toBe(200);
    const res = await post(url, "/v3/lease/keepalive", `{"ID":"${lease}"}\n{"ID":"${MISSING}"}\n`);
    await post(url, "/v3/lease/revoke", `{"ID":"${lease}"}`);
    expect(res.status).toBe(200);
    expect(res.body.endsWith("\n")).toBe(true);
    return res.body
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line.replace(/"(cluster_id|member_id|raft_term|revision)":"\d+"/g, '"$1":"<$1>"')));
  }

  it("answers each message with one result line, an unknown lease without a TTL, and ends with the body", async () => {
    const lease = id();
    const [etcd, ours] = await Promise.all([keepAlive(t.etcd, lease), keepAlive(t.ours, lease)]);
    expect(ours).toEqual(etcd);
    expect(etcd).toHaveLength(2);
  });

  /** The same over a WebSocket: each request a message, each answer a message, the socket held open between them. */
  async function keepAliveOverWebSocket(url: string, lease: string): Promise<unknown[]> {
    expect((await post(url, "/v3/lease/grant", `{"TTL":"60","ID":"${lease}"}`)).status).toBe(200);
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v3/lease/keepalive`);
    const messages: string[] = [];
    let wake = () => {};
    ws.on("message", (data) => {
      messages.push(data.toString());
      wake();
    });
    await new Promise<void>((resolve, reject) => {
      ws.on("open", () => resolve());
      ws.on("error", reject);
    });
    const answer = async (message: string, n: number) => {
      ws.send(message);
      const deadline = Date.now() + 10_000;
      while (messages.length < n) {
        if (Date.now() > deadline) throw new Error(`keep-alive over WebSocket on ${url}: ${messages.length} of ${n} answers after 10 s`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 200);
        });
      }
    };
    // One at a time: each is answered before the next is sent.
    await answer(`{"ID":"${lease}"}`, 1);
    await answer(`{"ID":"${MISSING}"}`, 2);
    ws.close();
    await post(url, "/v3/lease/revoke", `{"ID":"${lease}"}`);
    return messages.map((m) => JSON.parse(m.replace(/"(cluster_id|member_id|raft_term|revision)":"\d+"/g, '"$1":"<$1>"')));
  }

  it("over a WebSocket: each message answered as it arrives, on one held socket", async () => {
    const lease = id();
    const etcd = await keepAliveOverWebSocket(t.etcd, lease);
    const ours = await keepAliveOverWebSocket(t.ours, lease);
    expect(ours).toEqual(etcd);
    expect(etcd).toHaveLength(2);
  });
});
