/** A discovery token's size and who has registered (served as discovery.js). */
export const source = String.raw`
import { v2 } from "./http.js";
import { el } from "./format.js";

const $ = (id) => document.getElementById(id);
/** The discovery service answers at the Worker's root, whichever cluster this page shows. */
const DISCOVERY_ROOT = "";
const KEY_NOT_FOUND = 100;

export function setUpDiscovery() {
  $("discovery-form").addEventListener("submit", (e) => {
    e.preventDefault();
    void lookUp($("discovery-token").value);
  });
}

/** Accepts a bare token or a whole discovery URL, as /new hands them out. */
async function lookUp(input) {
  const token = (/[0-9a-f]{32}/.exec(input.trim().toLowerCase()) || [])[0];
  const summary = $("discovery-summary");
  const list = $("discovery-members");
  list.replaceChildren();
  if (!token) {
    summary.textContent = "a token is 32 hex characters (or paste the URL /new gave)";
    return;
  }
  try {
    const [size, registry] = await Promise.all([
      v2("GET", "/" + token + "/_config/size", null, null, { root: DISCOVERY_ROOT }),
      v2("GET", "/" + token, { sorted: "true" }, null, { root: DISCOVERY_ROOT }),
    ]);
    if (size.status !== 200 || registry.status !== 200) {
      const body = size.status !== 200 ? size.body : registry.body;
      summary.textContent = body.errorCode === KEY_NOT_FOUND ? "no such token (never created, or expired)" : "lookup failed: " + (body.message || "HTTP " + size.status);
      return;
    }
    const wanted = Number(size.body.node.value);
    const members = (registry.body.node.nodes || []).filter((n) => !n.dir);
    const expires = registry.body.node.expiration ? "; expires " + new Date(registry.body.node.expiration).toLocaleString() : "";
    summary.textContent = "size " + wanted + ": " + members.length + " registered" + (members.length >= wanted ? " (complete: the cluster can form)" : ", waiting for " + (wanted - members.length) + " more") + expires;
    list.replaceChildren(
      ...members.map((n) => el("li", { class: "mono" }, n.key.slice(n.key.lastIndexOf("/") + 1) + "  " + (n.value || ""), el("span", { class: "muted" }, "  (index " + n.createdIndex + ")"))),
    );
  } catch (err) {
    summary.textContent = "lookup failed: " + err.message;
  }
}
`;
