// v3 watches under faults: watchers on a prefix of a fresh named cluster
// while writers write and a nemesis crashes and partitions members (see
// harness/nemesis.ts). A watcher whose stream ends resumes from the revision
// after the last it saw, as etcd's clients do. Every watcher must see every
// revision a writer had acknowledged, in order, none twice: ordered, unique,
// reliable and resumable, as etcd's robustness suite checks watches.
import { describe, expect, inject, it } from "vitest";
import { send } from "./harness/http";
import { leaderOf, nemesis, type Faults } from "./harness/nemesis";
import { configuredMembers } from "./harness/clusters";

const ORIGIN = inject("compatOursUrl");
const RUN_MS = Number(process.env.COMPAT_WATCH_FAULTS_MS ?? 15_000);
const WATCHERS = 4;
const WRITERS = 3;
const b64 = (s: string) => Buffer.from(s).toString("base64");
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Watcher {
  /** Every revision it was sent events of, in the order they came. */
  revisions: number[];
  resumes: number;
  stop: AbortController;
  done: Promise<void>;
}

/** A watcher on `prefix` from `start`, resuming after the last revision it saw whenever its stream ends. */
function watcher(root: string, prefix: string, start: number): Watcher {
  const w: Watcher = { revisions: [], resumes: 0, stop: new AbortController(), done: Promise.resolve() };
  const next = () => (w.revisions.length > 0 ? w.revisions[w.revisions.length - 1] + 1 : start);
  const once = async () => {
    const create = { create_request: { key: b64(prefix), range_end: b64(prefix.slice(0, -1) + "0"), start_revision: String(next()) } };
    const res = await fetch(`${ORIGIN}${root}/v3/watch`, { method: "POST", body: `${JSON.stringify(create)}\n`, signal: w.stop.signal });
    if (res.status !== 200 || !res.body) return;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let pending = "";
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) return;
      pending += decoder.decode(chunk.value, { stream: true });
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines.filter((l) => l.trim() !== "")) {
        const result = (JSON.parse(line) as { result?: { events?: { kv: { mod_revision: string } }[] } }).result;
        for (const e of result?.events ?? []) {
          const rev = Number(e.kv.mod_revision);
          if (w.revisions[w.revisions.length - 1] !== rev) w.revisions.push(rev);
        }
      }
    }
  };
  w.done = (async () => {
    while (!w.stop.signal.aborted) {
      await once().catch(() => {});
      if (w.stop.signal.aborted) return;
      w.resumes++;
      await pause(200);
    }
  })();
  return w;
}

async function writer(root: string, prefix: string, id: number, deadline: number, acked: number[]): Promise<void> {
  for (let n = 0; performance.now() < deadline; n++) {
    try {
      const r = await send(ORIGIN, { method: "POST", path: `${root}/v3/kv/put`, body: JSON.stringify({ key: b64(`${prefix}w${id}-${n % 20}`), value: b64(`${n}`) }), contentType: "application/json" }, 8_000);
      if (r.status === 200) acked.push(Number((JSON.parse(r.body) as { header: { revision: string } }).header.revision));
      else await pause(100);
    } catch {
      await pause(100);
    }
  }
}

describe.skipIf(inject("compatOursKind") !== "worker")("v3 watches under faults", () => {
  it(
    "every watcher sees every acknowledged revision, in order, none twice, resuming across crashes and partitions",
    async () => {
      const cluster = `compat-watch-${Math.random().toString(36).slice(2, 8)}`;
      const root = `/clusters/${cluster}`;
      const prefix = "wf/";
      expect(await leaderOf(root), "the new cluster elects a leader").toBeDefined();
      const probe = await send(ORIGIN, { method: "POST", path: `${root}/v3/kv/range`, body: JSON.stringify({ key: b64("probe") }), contentType: "application/json" });
      const base = Number((JSON.parse(probe.body) as { header: { revision: string } }).header.revision);
      const watchers = Array.from({ length: WATCHERS }, () => watcher(root, prefix, base + 1));
      const acked: number[] = [];
      const faults: Faults = { crashes: 0, partitions: 0, heals: 0, errors: [], log: [] };
      const deadline = performance.now() + RUN_MS;
      const ids = configuredMembers(cluster).map((m) => m.id);
      await Promise.all([...Array.from({ length: WRITERS }, (_, i) => writer(root, prefix, i, deadline, acked)), nemesis(root, deadline, ids, faults)]);
      const last = Math.max(...acked);
      // Healed: every watcher catches up, resuming if it must.
      const until = Date.now() + 30_000;
      while (watchers.some((w) => (w.revisions.at(-1) ?? 0) < last) && Date.now() < until) await pause(200);
      for (const w of watchers) w.stop.abort();
      await Promise.all(watchers.map((w) => w.done));
      console.log(
        `watch under faults: ${acked.length} acknowledged writes (revisions ${base + 1}..${last}), ${faults.crashes} crashes, ${faults.partitions} partitions; ` +
          `watchers saw ${watchers.map((w) => w.revisions.length).join(", ")} revisions and resumed ${watchers.map((w) => w.resumes).join(", ")} times`,
      );
      expect(acked.length).toBeGreaterThan(50);
      expect(faults.crashes).toBeGreaterThanOrEqual(1);
      for (const [i, w] of watchers.entries()) {
        const ordered = w.revisions.every((r, k) => k === 0 || r > w.revisions[k - 1]);
        expect(ordered, `watcher ${i}: revisions strictly increasing (ordered, none twice)`).toBe(true);
        const seen = new Set(w.revisions);
        const missed = acked.filter((r) => !seen.has(r));
        expect(missed, `watcher ${i}: acknowledged revisions it never saw`).toEqual([]);
      }
    },
    120_000,
  );
});
