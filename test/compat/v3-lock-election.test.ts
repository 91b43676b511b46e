// etcd's v3lock and v3election services over the gateway, compared with real
// etcd step by step (see harness/v3.ts for the DSL), and a lock that waits
// for its holder to unlock. Lease ids are chosen per run, the same on both
// sides, so the lock and candidate keys (<name>/<lease in hex>) match.
import { describe, expect, it } from "vitest";
import { targets } from "./harness/compare";
import { send } from "./harness/http";
import { call, k, mask, normalizeStreamLine, rev, shaped, v3sequence } from "./harness/v3";

const id = () => String(1_000_000 + Math.floor(Math.random() * 1_000_000_000));
const [L1, L2] = [id(), id()];
const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("v3 lock and election against etcd", () => {
  v3sequence("v3-lock-election", [
    call("/v3/lease/grant", { TTL: "60", ID: L1 }),
    call("/v3/lease/grant", { TTL: "60", ID: L2 }),
    call("/v3/lock/lock", { name: k("/lock"), lease: L1 }, "a free lock: the key <name>/<lease in hex>"),
    call("/v3/kv/range", { key: k("/lock/"), range_end: k("/lock0") }, "the lock's key, attached to the lease"),
    call("/v3/lock/unlock", { key: k(`/lock/${Number(L1).toString(16)}`) }),
    // The leader's "rev" is a revision the harness does not offset: masked (the proclaim below checks it).
    shaped(call("/v3/election/campaign", { name: k("/el"), lease: L1, value: b64("v1") }, "an uncontested campaign leads at once"), mask("rev")),
    call("/v3/election/leader", { name: k("/el") }),
    call("/v3/election/proclaim", { leader: { name: k("/el"), key: k(`/el/${Number(L1).toString(16)}`), rev: rev(3), lease: L1 }, value: b64("v2") }),
    call("/v3/election/leader", { name: k("/el") }, "the proclaimed value"),
    call("/v3/election/proclaim", { leader: { name: k("/el"), key: k(`/el/${Number(L1).toString(16)}`), rev: rev(1), lease: L1 }, value: b64("v3") }, "not the leader's revision"),
    shaped(call("/v3/election/campaign", { name: k("/el"), lease: L1, value: b64("v4") }, "campaigning again with another value proclaims it"), mask("rev")),
    call("/v3/election/leader", { name: k("/el") }, "the value proclaimed by the campaign"),
    call("/v3/election/resign", { leader: { name: k("/el"), key: k(`/el/${Number(L1).toString(16)}`), rev: rev(3), lease: L1 } }),
    call("/v3/election/leader", { name: k("/el") }, "nobody leads"),
    call("/v3/election/resign", {}, "no leader given"),
    call("/v3/lease/revoke", { ID: L1 }),
    call("/v3/lease/revoke", { ID: L2 }),
  ]);

  it("a lock held by one lease is taken by another only once unlocked", async () => {
    const t = targets();
    const name = b64(`~lock-wait-${Math.random().toString(36).slice(2, 8)}`);
    const post = (url: string, path: string, body: unknown) => send(url, { method: "POST", path, body: JSON.stringify(body), contentType: "application/json" }, 20_000);
    for (const url of [t.etcd, t.ours]) {
      for (const lease of [L1, L2]) expect((await post(url, "/v3/lease/grant", { TTL: "60", ID: lease })).status).toBe(200);
      const first = JSON.parse((await post(url, "/v3/lock/lock", { name, lease: L1 })).body) as { key: string };
      let second: { key: string } | undefined;
      const waiting = post(url, "/v3/lock/lock", { name, lease: L2 }).then((r) => (second = JSON.parse(r.body) as { key: string }));
      await new Promise((r) => setTimeout(r, 500)); // the point: the second lock is still waiting half a second later
      expect(second, `${url}: the second lock waits`).toBeUndefined();
      await post(url, "/v3/lock/unlock", { key: first.key });
      await waiting;
      expect(second!.key).not.toBe(first.key);
      for (const lease of [L1, L2]) await post(url, "/v3/lease/revoke", { ID: lease });
    }
  }, 60_000);

  it("observe: the leader, each value it proclaims, then the next leader once it resigns", async () => {
    const t = targets();
    const name = b64(`~observe-${Math.random().toString(36).slice(2, 8)}`);
    const post = (url: string, path: string, body: unknown) => send(url, { method: "POST", path, body: JSON.stringify(body), contentType: "application/json" }, 20_000);
    const run = async (url: string): Promise<unknown[]> => {
      const base = Number((JSON.parse((await post(url, "/v3/kv/range", { key: b64("~observe-probe") })).body) as { header: { revision: string } }).header.revision);
      for (const lease of [L1, L2]) expect((await post(url, "/v3/lease/grant", { TTL: "60", ID: lease })).status).toBe(200);
      const campaign = JSON.parse((await post(url, "/v3/election/campaign", { name, lease: L1, value: b64("v1") })).body) as { leader: unknown };
      const abort = new AbortController();
      const res = await fetch(`${url}/v3/election/observe`, { method: "POST", body: JSON.stringify({ name }), signal: abort.signal });
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = "";
      const lines = () => text.split("\n").filter((l) => l !== "");
      const readUntil = async (n: number) => {
        while (lines().length < n) text += decoder.decode((await reader.read()).value, { stream: true });
      };
      await readUntil(1);
      await post(url, "/v3/election/proclaim", { leader: campaign.leader, value: b64("v2") });
      await readUntil(2);
      const second = post(url, "/v3/election/campaign", { name, lease: L2, value: b64("w1") });
      await new Promise((r) => setTimeout(r, 300)); // the second candidate is waiting behind the first
      await post(url, "/v3/election/resign", { leader: campaign.leader });
      await second;
      await readUntil(3);
      abort.abort();
      for (const lease of [L1, L2]) await post(url, "/v3/lease/revoke", { ID: lease });
      return lines().map((l) => JSON.parse(normalizeStreamLine(l, base)));
    };
    const etcd = await run(t.etcd);
    const ours = await run(t.ours);
    expect(ours).toEqual(etcd);
    expect(etcd).toHaveLength(3);
  }, 60_000);
});
