// etcd 3.4's Watch service over its JSON gateway, against real etcd: the
// request messages in the body, one `{"result":…}` line per response, the
// stream held open after the body ends. Compared line by line after masking
// what differs between two clusters (ids, term) and turning revisions into
// offsets from the revision each target was at when the scenario began.
import WebSocket from "ws";
import { describe, expect, it } from "vitest";
import { targets } from "./harness/compare";
import { send } from "./harness/http";
import { WATCH_PROGRESS_NOTIFY_MS } from "./harness/processes";
import { normalizeStreamLine } from "./harness/v3";

const t = targets();
const b64 = (s: string) => Buffer.from(s).toString("base64");

async function post(url: string, path: string, body: unknown) {
  const r = await send(url, { method: "POST", path, body: JSON.stringify(body), contentType: "application/json" }, 15_000);
  expect(r.status, `${path}: ${r.body}`).toBe(200);
  return JSON.parse(r.body) as { header: { revision: string } };
}

/**
 * Opens a watch with `requests` as the body, reads `first` lines, runs
 * `then`, reads until `total` lines, and closes the stream. Lines come back
 * normalised against `base`.
 */
async function watch(url: string, requests: unknown[], first: number, then: () => Promise<void>, total: number, base: number): Promise<string[]> {
  const abort = new AbortController();
  const res = await fetch(`${url}/v3/watch`, { method: "POST", body: requests.map((r) => JSON.stringify(r)).join("\n") + "\n", signal: abort.signal });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const lines = () => text.split("\n").filter((l) => l !== "");
  const readUntil = async (n: number) => {
    const deadline = Date.now() + 10_000;
    while (lines().length < n) {
      if (Date.now() > deadline) throw new Error(`watch on ${url}: ${lines().length} of ${n} lines after 10 s:\n${text}`);
      const chunk = await reader.read();
      if (chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
    }
  };
  await readUntil(first);
  await then();
  await readUntil(total);
  abort.abort();
  return lines().map((l) => normalizeStreamLine(l, base));
}

/** The same as `watch`, over a WebSocket: each request a message, each response a message. */
async function watchOverWebSocket(url: string, requests: unknown[], first: number, then: () => Promise<void>, total: number, base: number): Promise<string[]> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v3/watch`);
  const messages: string[] = [];
  const waiters: (() => void)[] = [];
  ws.on("message", (data) => {
    messages.push(data.toString());
    waiters.splice(0).forEach((w) => w());
  });
  await new Promise<void>((resolve, reject) => {
    ws.on("open", () => resolve());
    ws.on("error", reject);
  });
  for (const r of requests) ws.send(JSON.stringify(r));
  const readUntil = async (n: number) => {
    const deadline = Date.now() + 10_000;
    while (messages.length < n) {
      if (Date.now() > deadline) throw new Error(`WebSocket watch on ${url}: ${messages.length} of ${n} messages after 10 s`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  await readUntil(first);
  await then();
  await readUntil(total);
  ws.close();
  return messages.map((l) => normalizeStreamLine(l, base));
}

async function revisionOf(url: string): Promise<number> {
  return Number((await post(url, "/v3/kv/range", { key: b64("~watch-probe") })).header.revision);
}

/** Runs a scenario on both targets, one after the other, and compares the lines. */
async function sameOnBoth(scenario: (url: string, base: number, p: string) => Promise<string[]>): Promise<void> {
  const p = `~watch-${Math.random().toString(36).slice(2, 8)}/`;
  const out: string[][] = [];
  for (const url of [t.etcd, t.ours]) out.push(await scenario(url, await revisionOf(url), p));
  expect(out[1]).toEqual(out[0]);
}

describe("v3 watch against etcd", () => {
  it("a prefix watch with prev_kv: created, then one response per revision, a transaction's events together", async () => {
    await sameOnBoth((url, base, p) =>
      watch(
        url,
        [{ create_request: { key: b64(p), range_end: b64(p.slice(0, -1) + "0"), prev_kv: true } }],
        1,
        async () => {
          await post(url, "/v3/kv/put", { key: b64(`${p}a`), value: b64("1") });
          await post(url, "/v3/kv/put", { key: b64(`${p}a`), value: b64("2") });
          await post(url, "/v3/kv/txn", { success: [{ request_put: { key: b64(`${p}b`), value: b64("3") } }, { request_delete_range: { key: b64(`${p}a`) } }] });
        },
        4,
        base,
      ),
    );
  });

  it("from a past revision: history in one response; a filter, a chosen watch_id, a progress request and a cancel", async () => {
    await sameOnBoth(async (url, base, p) => {
      await post(url, "/v3/kv/put", { key: b64(`${p}h`), value: b64("1") });
      await post(url, "/v3/kv/put", { key: b64(`${p}h`), value: b64("2") });
      await post(url, "/v3/kv/deleterange", { key: b64(`${p}h`) });
      const requests = [
        { create_request: { key: b64(`${p}h`), start_revision: String(base + 1), filters: ["NODELETE"] } },
        { create_request: { key: b64(`${p}i`), watch_id: "7", progress_notify: true } },
        { progress_request: {} },
        { cancel_request: { watch_id: "7" } },
      ];
      return watch(url, requests, 5, async () => {}, 5, base);
    });
  });

  it("progress_notify on a timer: a quiet watcher that asked is sent the current revision each interval; its neighbour is not", async () => {
    await sameOnBoth(async (url, base, p) => {
      await post(url, "/v3/kv/put", { key: b64(`${p}n`), value: b64("1") });
      const requests = [
        { create_request: { key: b64(`${p}n`), watch_id: "3", progress_notify: true } },
        { create_request: { key: b64(`${p}n`), watch_id: "4" } },
      ];
      // Two creates, then (one interval later, with up to 10% jitter on both) one notification.
      const started = Date.now();
      const lines = await watch(url, requests, 3, async () => {}, 3, base);
      expect(Date.now() - started).toBeGreaterThanOrEqual(WATCH_PROGRESS_NOTIFY_MS * 0.9);
      return lines;
    });
  }, 30_000);

  it("over a WebSocket: each request a message, each response a message", async () => {
    await sameOnBoth((url, base, p) =>
      watchOverWebSocket(
        url,
        [{ create_request: { key: b64(`${p}w`), prev_kv: true } }],
        1,
        async () => {
          await post(url, "/v3/kv/put", { key: b64(`${p}w`), value: b64("1") });
          await post(url, "/v3/kv/put", { key: b64(`${p}w`), value: b64("2") });
        },
        3,
        base,
      ),
    );
  });

  it("from a compacted revision: created, then canceled with the compaction's revision", async () => {
    await sameOnBoth(async (url, base, p) => {
      for (const v of ["1", "2", "3"]) await post(url, "/v3/kv/put", { key: b64(`${p}c`), value: b64(v) });
      await post(url, "/v3/kv/compaction", { revision: String(base + 2) });
      return watch(url, [{ create_request: { key: b64(`${p}c`), start_revision: String(base + 1) } }], 2, async () => {}, 2, base);
    });
  });
});
