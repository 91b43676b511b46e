// The fault schedule of the tests that run a workload under faults (the
// linearizability and watch tests): on one of our named clusters, every
// 2.5 s, crash the leader, crash a follower, cut one member off, heal, cut the
// leader off into a minority, heal, in a loop, through the fault-injection API.
import { inject } from "vitest";
import { send, type RawResponse } from "./http";

const ORIGIN = () => inject("compatOursUrl");
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

export interface Faults {
  crashes: number;
  partitions: number;
  heals: number;
  errors: string[];
  log: string[];
}

async function debugPost(root: string, path: string, body?: unknown): Promise<RawResponse> {
  return send(
    ORIGIN(),
    body === undefined ? { method: "POST", path: `${root}/_debug${path}` } : { method: "POST", path: `${root}/_debug${path}`, body: JSON.stringify(body), contentType: "application/json" },
    15_000,
  );
}

export async function leaderOf(root: string): Promise<string | undefined> {
  for (let i = 0; i < 10; i++) {
    try {
      const r = await send(ORIGIN(), { method: "GET", path: `${root}/v2/members/leader` }, 8_000);
      if (r.status === 200) return (JSON.parse(r.body) as { id: string }).id;
    } catch {
      // retry
    }
    await pause(500);
  }
  return undefined;
}

export async function nemesis(root: string, deadline: number, ids: string[], faults: Faults): Promise<void> {
  const t0 = now();
  const leaderId = () => leaderOf(root);
  const act = async (what: string, path: string, body: unknown, count: keyof Pick<Faults, "crashes" | "partitions" | "heals">) => {
    try {
      const r = await debugPost(root, path, body);
      if (r.status === 200) {
        faults[count]++;
        faults.log.push(`${((now() - t0) / 1000).toFixed(1)}s ${what}`);
      } else faults.errors.push(`${what}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
    } catch (e) {
      faults.errors.push(`${what}: ${String(e)}`);
    }
  };
  const others = (id: string) => ids.filter((x) => x !== id);
  const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)];
  const plan: Array<() => Promise<void>> = [
    async () => {
      const l = await leaderId();
      if (l) await act(`crash leader ${l}`, `/members/${l}/crash`, undefined, "crashes");
    },
    async () => {
      const l = await leaderId();
      const f = pick(l ? others(l) : ids);
      await act(`crash follower ${f}`, `/members/${f}/crash`, undefined, "crashes");
    },
    async () => {
      const a = pick(ids);
      await act(`partition ${a} | ${others(a).join(",")}`, "/partition", { groups: [[a], others(a)] }, "partitions");
    },
    async () => act("heal", "/heal", undefined, "heals"),
    async () => {
      const l = await leaderId();
      if (l) await act(`partition leader ${l} into a minority | ${others(l).join(",")}`, "/partition", { groups: [[l], others(l)] }, "partitions");
    },
    async () => act("heal", "/heal", undefined, "heals"),
  ];
  for (let i = 0; now() < deadline; i++) {
    await pause(2_500);
    if (now() >= deadline) break;
    await plan[i % plan.length]();
  }
  await act("final heal", "/heal", undefined, "heals");
}

