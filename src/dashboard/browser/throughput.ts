/** Writes per second and read latency, sampled by the page (served as throughput.js). */
export const source = String.raw`
import { v3 } from "./http.js";
import { Sparkline } from "./charts.js";

const rate = new Sparkline(document.getElementById("rate-chart"), document.getElementById("rate-now"), "/s");
const latency = new Sparkline(document.getElementById("latency-chart"), document.getElementById("latency-now"), "ms");
let previous = null;

/**
 * Entries applied per second since the previous view: every write is one
 * Raft entry, so this is the cluster's write rate (plus elections and
 * membership changes, which are rare). The highest applied index of any
 * member stands for the cluster, so a member that restarts and replays its
 * log does not show as a burst.
 */
export function sampleThroughput(view) {
  const applied = Math.max(0, ...view.members.filter((m) => m.up).map((m) => m.appliedIndex));
  if (previous && view.at > previous.at) rate.add(view.at, Math.max(0, applied - previous.applied) / ((view.at - previous.at) / 1000));
  previous = { at: view.at, applied: applied };
}

/**
 * The time this browser waits for a read. Serializable, so that it is
 * answered by one member from what it holds: a linearizable read would make
 * the leader confirm its leadership with the others every two seconds, and
 * keep a cluster that has nothing to do from ever going quiet.
 */
export async function sampleLatency() {
  const started = performance.now();
  await v3("kv/range", { key: "AA==", serializable: true, count_only: true });
  latency.add(Date.now(), performance.now() - started);
}
`;
