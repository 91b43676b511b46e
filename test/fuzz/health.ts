// What the run watches besides the answers: each member's replica start
// time (a crash restarts a replica, and its start time moves), and the
// memory of the workerd processes over the run.
import { rssBytes } from "./server.ts";

/** member id -> when its replica last started, from the dashboard's members view. */
export async function memberStarts(base: string, clusterPrefix: string): Promise<Map<string, number>> {
  const res = await fetch(`${base}${clusterPrefix}/_dashboard/api/cluster`, { signal: AbortSignal.timeout(15_000) });
  if (res.status !== 200) throw new Error(`GET ${clusterPrefix}/_dashboard/api/cluster: ${res.status}`);
  const view = (await res.json()) as { members: Array<{ id: string; up: boolean; startTime?: number }> };
  const out = new Map<string, number>();
  for (const m of view.members) out.set(m.id, m.up ? (m.startTime ?? -1) : -1);
  return out;
}

/** The members whose start time changed (or that are down, or new) between two readings. */
export function restarted(before: Map<string, number>, after: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [id, t] of after) {
    const was = before.get(id);
    if (t === -1) out.push(`${id}: down`);
    else if (was === undefined) out.push(`${id}: a member that was not there before`);
    else if (was !== t) out.push(`${id}: started at ${new Date(was).toISOString()}, now at ${new Date(t).toISOString()}`);
  }
  for (const id of before.keys()) if (!after.has(id)) out.push(`${id}: gone`);
  return out;
}

export interface MemorySample {
  atMs: number;
  bytes: number;
}

/** Samples the summed RSS of some processes once a second. */
export class MemorySampler {
  readonly samples: MemorySample[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly started = Date.now();

  constructor(pids: () => number[]) {
    const sample = () => {
      const list = pids();
      if (list.length > 0) this.samples.push({ atMs: Date.now() - this.started, bytes: list.reduce((s, p) => s + rssBytes(p), 0) });
    };
    sample();
    this.timer = setInterval(sample, 1000);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Peak over the samples whose time is in [from, to) of the run, as fractions. */
  peak(from = 0, to = 1): number {
    const end = this.samples.at(-1)?.atMs ?? 0;
    const chosen = this.samples.filter((s) => s.atMs >= from * end && s.atMs < to * end + (to === 1 ? 1 : 0));
    return chosen.reduce((m, s) => Math.max(m, s.bytes), 0);
  }
}
