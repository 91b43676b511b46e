/**
 * v3 watch streams inside workerd, where the runtime's own limits apply: one
 * stream carrying more watches than a Worker may have pending timers
 * (10,000) creates them all and delivers one write to every one; v3
 * streams count against MAX_WATCHES with the v2 watches, since each costs
 * the runtime sockets alike.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { waitUntil } from "./cluster-helpers.ts";
import { call } from "./helpers.ts";
import { openStreams } from "../../src/http/open-streams.ts";

const b64 = (s: string) => btoa(s);

describe("a v3 watch stream", () => {
  it("carries 10,050 watches: every one is created and sees the next write", async () => {
    const n = 10_050;
    const creates = Array.from({ length: n }, () => JSON.stringify({ create_request: { key: b64("fan") } })).join("\n");
    const res = await call("/clusters/v3-many-watches/v3/watch", { method: "POST", body: `${creates}\n` });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    let lines: { result: { created?: boolean; events?: unknown[] } }[] = [];
    const readLines = async (count: number) => {
      while (lines.length < count) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`the stream ended after ${lines.length} of ${count} lines`);
        text += decoder.decode(value, { stream: true });
        const end = text.lastIndexOf("\n");
        if (end < 0) continue;
        lines = lines.concat(
          text
            .slice(0, end)
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => JSON.parse(l)),
        );
        text = text.slice(end + 1);
      }
    };
    await readLines(n);
    expect(lines.filter((l) => l.result.created).length).toBe(n);
    const put = await call("/clusters/v3-many-watches/v3/kv/put", { method: "POST", body: JSON.stringify({ key: b64("fan"), value: b64("out") }) });
    expect(put.status).toBe(200);
    await readLines(2 * n);
    expect(lines.slice(n).filter((l) => l.result.events?.length === 1).length).toBe(n);
    await reader.cancel();
  }, 60_000);
});

describe("MAX_WATCHES and v3 streams", () => {
  it("counts v3 streams with v2 watches, refuses the next with Unavailable, and takes one again once a stream ends", async () => {
    const { app } = await import("../../src/app.ts");
    // A stream this harness opened through the runtime may linger (a
    // cancelled loopback body is not passed on): room for two more.
    const max = openStreams() + 2;
    const limited = { ...(env as object), MAX_WATCHES: String(max) } as never;
    const fetchLimited = (path: string, init: RequestInit = {}) => app.fetch(new Request(`http://127.0.0.1${path}`, init), limited);
    const watchBody = `${JSON.stringify({ create_request: { key: b64("lim") } })}\n`;
    const v2 = await fetchLimited("/v2/keys/v3-limit/k?wait=true");
    const v3 = await fetchLimited("/v3/watch", { method: "POST", body: watchBody });
    expect([v2.status, v3.status]).toEqual([200, 200]);
    const cause = `too many watches open on this server (${max}); retry later or raise MAX_WATCHES`;
    for (const refused of [
      await fetchLimited("/v3/watch", { headers: { Upgrade: "websocket" } }),
      await fetchLimited("/v3/lease/keepalive", { method: "POST", body: '{"ID":"1"}' }),
    ]) {
      expect(refused.status).toBe(503);
      expect(await refused.json()).toEqual({ error: cause, code: 14, message: cause });
    }
    // Unary calls are not streams and are not limited.
    expect((await fetchLimited("/v3/kv/range", { method: "POST", body: JSON.stringify({ key: b64("lim") }) })).status).toBe(200);
    await v3.body!.cancel();
    const again = await waitUntil(
      async () => {
        const r = await fetchLimited("/v3/watch", { method: "POST", body: watchBody });
        if (r.status === 200) return r;
        await r.text();
        return undefined;
      },
      5000,
      "a new v3 watch is taken once the first stream has ended",
    );
    await again.body!.cancel();
    await fetchLimited("/v2/keys/v3-limit/k", { method: "PUT", body: "value=v", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expect(JSON.parse(await v2.text()).node.value).toBe("v");
  }, 20_000);

  it("admits no more than the limit when many streams arrive at once", async () => {
    const { app } = await import("../../src/app.ts");
    const max = openStreams() + 2;
    const limited = { ...(env as object), MAX_WATCHES: String(max) } as never;
    const body = `${JSON.stringify({ create_request: { key: b64("burst") } })}\n`;
    const answers = await Promise.all(Array.from({ length: 6 }, () => app.fetch(new Request("http://127.0.0.1/v3/watch", { method: "POST", body }), limited)));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 200, 503, 503, 503, 503]);
    for (const r of answers) await r.body?.cancel();
  });
});

describe("held streams through the runtime", () => {
  it("give their place back once answered: a long poll, then its event", async () => {
    const before = openStreams();
    const poll = call("/v2/keys/places/k?wait=true");
    await waitUntil(async () => openStreams() === before + 1 || undefined, 5000, "the long poll holds a place");
    expect((await call("/v2/keys/places/k", { method: "PUT", body: "value=v", headers: { "Content-Type": "application/x-www-form-urlencoded" } })).status).toBe(201);
    expect(JSON.parse(await (await poll).text()).node.value).toBe("v");
    await waitUntil(async () => openStreams() === before || undefined, 5000, "the answered long poll gave its place back");
  });
});
