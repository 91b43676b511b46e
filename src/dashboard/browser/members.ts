/** The members table (served as members.js). */
export const source = String.raw`
import { age, el } from "./format.js";

const body = document.querySelector("#members tbody");
const summary = document.getElementById("members-summary");

const ROLES = { StateLeader: "leader", StateFollower: "follower", StateCandidate: "candidate", StatePreCandidate: "pre-candidate" };

/** Draws the cluster view of /_dashboard/api/cluster; the leader's row is marked. */
export function showMembers(view) {
  const up = view.members.filter((m) => m.up).length;
  const leader = view.members.find((m) => m.id === view.leader);
  summary.textContent = (leader ? "leader " + leader.name : "no leader") + " · term " + view.term + " · " + up + " of " + view.members.length + " up";
  body.replaceChildren(...view.members.map((m) => row(m, view)));
}

function row(m, view) {
  const isLeader = m.id === view.leader;
  const cells = m.up
    ? [
        ROLES[m.role] || m.role,
        m.term,
        m.commitIndex,
        m.appliedIndex,
        el("span", { class: m.lag > 0 ? "warn" : "" }, m.lag),
        el("span", { class: "up" }, "up"),
        m.quiescent ? "quiescent" : "awake",
        m.location || "near its first request",
        el("span", { title: new Date(m.startTime).toLocaleString() }, age(view.at - m.startTime) + " ago"),
        m.keys,
        m.v2Watchers + "/" + m.v3Watchers,
      ]
    : ["", "", "", "", "", el("span", { class: "down" }, "down"), "", m.location, "", "", ""];
  return el(
    "tr",
    {
      class: (isLeader ? "leader" : "") + (m.up ? "" : " is-down"),
      dataset: { memberId: m.id, term: m.up ? m.term : "", startTime: m.up ? m.startTime : "", activity: m.up ? (m.quiescent ? "quiescent" : "awake") : "" },
    },
    el("td", { class: "mono" }, m.id),
    el("td", {}, m.name, isLeader ? el("span", { class: "badge" }, "leader") : null),
    ...cells.map((c) => el("td", {}, c)),
  );
}
`;
