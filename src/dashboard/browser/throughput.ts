/** Writes per second and read latency, sampled by the page (served as throughput.js). */
export const source = String.raw`
import { v3 } from "./http.js";
import { Sparkline } from "./charts.js";

const rate = new Sparkline(document.getElementById("rate-chart"), document.getElementById("rate-now"), "/s");
const latency = new Sparkline(document.getElementById("latency-chart"), document.getElementById("latency-now"), "ms");
let previous = null;
/** What the latency chart times: "read", or "status" when the read is refused. */
let probe = "read";
const label = document.getElementById("latency-label");
const caption = document.getElementById("latency-what");
const READ_WORDS = [label.textContent, caption.textContent];

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
 * keep a cluster that has nothing to do from ever going quiet. With auth on,
 * a user who may not read the key (or nobody) times the member's status
 * instead, which etcd answers to anyone, until the next sign-in or out.
 */
export async function sampleLatency() {
  const started = performance.now();
  try {
    if (probe === "read") await v3("kv/range", { key: "AA==", serializable: true, count_only: true });
    else await v3("maintenance/status", {});
  } catch (err) {
    if (probe !== "read" || !err.refusal) throw err;
    probe = "status";
    latency.clear();
    label.textContent = "status latency";
    caption.textContent = "maintenance status from this browser (reading a key is not permitted)";
    return;
  }
  latency.add(Date.now(), performance.now() - started);
}

/** After a sign-in or out: try the read again. */
export function resetLatencyProbe() {
  if (probe === "read") return;
  probe = "read";
  latency.clear();
  [label.textContent, caption.textContent] = READ_WORDS;
}
`;
