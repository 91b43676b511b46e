/** The page's entry module: sets up the panels and polls the cluster (served as main.js). */
export const source = String.raw`
import { ApiError, dashboardApi } from "./http.js";
import { showMembers } from "./members.js";
import { resetLatencyProbe, sampleLatency, sampleThroughput } from "./throughput.js";
import { refreshV3Keys, setUpV3Keys } from "./keys-v3.js";
import { openPath, refreshV2Keys, setUpV2Keys } from "./keys-v2.js";
import { restartFeed, setUpFeed } from "./feed.js";
import { setUpDiscovery } from "./discovery.js";
import { on } from "./auth.js";
import { setUpSignIn } from "./signin.js";

/** How often the members table and the charts are refreshed. */
const POLL_MS = 2000;
const $ = (id) => document.getElementById(id);
let timer = 0;
let polling = false;

async function poll() {
  if (polling) return;
  polling = true;
  clearTimeout(timer);
  try {
    const view = await dashboardApi("cluster");
    showMembers(view);
    sampleThroughput(view);
    await sampleLatency();
    setStatus("updated " + new Date(view.at).toLocaleTimeString([], { hour12: false }), false);
  } catch (err) {
    setStatus("cannot reach the cluster: " + (err instanceof ApiError ? err.message : String(err)), true);
  } finally {
    polling = false;
  }
  // Nobody looks at a hidden tab: stop asking the members until it shows again.
  if (!document.hidden) timer = setTimeout(poll, POLL_MS);
}

function setStatus(text, isError) {
  const s = $("poll-status");
  s.textContent = text;
  s.classList.toggle("error", isError);
}

function showTab(which) {
  for (const api of ["v3", "v2"]) {
    $(api + "-pane").hidden = api !== which;
    $("tab-" + api).setAttribute("aria-selected", String(api === which));
  }
}

$("tab-v3").addEventListener("click", () => showTab("v3"));
$("tab-v2").addEventListener("click", () => {
  showTab("v2");
  void openPath($("v2-dir").value || "/");
});
$("cluster-switch").addEventListener("submit", (e) => {
  e.preventDefault();
  const name = $("cluster-input").value.trim();
  location.href = (name && name !== "default" ? "/clusters/" + encodeURIComponent(name) : "") + "/_dashboard";
});
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) void poll();
});

// Signed in or out: every panel that reads keys reads them again as the new user.
on("change", () => {
  resetLatencyProbe();
  refreshV3Keys();
  refreshV2Keys(!$("v2-pane").hidden);
  restartFeed();
});

setUpSignIn();
setUpV3Keys();
setUpV2Keys();
setUpFeed();
setUpDiscovery();
void poll();
`;
