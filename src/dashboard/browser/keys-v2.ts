/** The v2 key browser: directories, values, set and delete (served as keys-v2.js). */
export const source = String.raw`
import { reason, refusalText, v2 } from "./http.js";
import { confirmChange } from "./confirm.js";
import { clip, el } from "./format.js";

const $ = (id) => document.getElementById(id);
/** etcd's v2 error codes the editor explains in its own words. */
const KEY_NOT_FOUND = 100;
const COMPARE_FAILED = 101;
const NODE_EXISTS = 105;

let currentDir = "/";
/** The node open in the editor, as the server last showed it (null: a new key). */
let selected = null;

export function setUpV2Keys() {
  $("v2-open").addEventListener("submit", (e) => {
    e.preventDefault();
    void openPath($("v2-dir").value || "/");
  });
  $("v2-up").addEventListener("click", () => void openPath(parentOf(currentDir)));
  $("v2-editor").addEventListener("submit", (e) => {
    e.preventDefault();
    void save();
  });
  $("v2-delete").addEventListener("click", () => void remove());
  $("v2-new").addEventListener("click", () => select(null));
}

/**
 * Forgets what was shown, and opens the directory again when "open" (after
 * a sign-in or out: what may be seen has changed).
 */
export function refreshV2Keys(open) {
  select(null);
  $("v2-keys").tBodies[0].replaceChildren();
  $("v2-count").textContent = "";
  if (open) void openPath(currentDir);
}

/**
 * Lists a directory; a key's path opens the key in its directory. One the
 * user may not read shows the refusal in the list.
 */
export async function openPath(path) {
  const r = await v2("GET", path, { sorted: "true" });
  if (r.refusal) {
    currentDir = path;
    $("v2-dir").value = path;
    $("v2-count").textContent = "";
    $("v2-keys").tBodies[0].replaceChildren(el("tr", { class: "refusal" }, el("td", { colspan: 4 }, refusalText(r.refusal, path))));
    select(null);
    return;
  }
  if (r.status !== 200) {
    say(r.body.errorCode === KEY_NOT_FOUND ? path + ": no such key or directory" : "reading " + path + " failed: " + describe(r), true);
    return;
  }
  const node = r.body.node;
  if (!node.dir) {
    await openPath(parentOf(node.key));
    select(node);
    return;
  }
  currentDir = node.key || "/";
  $("v2-dir").value = currentDir;
  const children = node.nodes || [];
  $("v2-count").textContent = children.length + (children.length === 1 ? " entry" : " entries") + " · index " + r.index;
  $("v2-keys").tBodies[0].replaceChildren(...children.map(entryRow));
  // An open directory is what "delete" removes (the root cannot be deleted).
  select(node.key ? node : null);
}

function entryRow(node) {
  const name = node.key.slice(node.key.lastIndexOf("/") + 1) + (node.dir ? "/" : "");
  return el(
    "tr",
    { class: selected && selected.key === node.key ? "selected" : "", dataset: { key: node.key }, onclick: () => (node.dir ? void openPath(node.key) : select(node)) },
    el("td", { class: "mono" }, clip(name, 48)),
    el("td", { class: "mono" }, node.dir ? "(directory)" : clip(node.value || "", 40)),
    el("td", {}, node.modifiedIndex),
    el("td", {}, node.ttl ? node.ttl + "s" : ""),
  );
}

/** Opens a key in the editor, or a directory (the editor then makes a new key in it); null: a new key here. */
function select(node) {
  selected = node;
  const isKey = !!node && !node.dir;
  $("v2-key").value = isKey ? node.key : currentDir === "/" ? "/" : currentDir + "/";
  $("v2-value").value = isKey ? node.value || "" : "";
  $("v2-ttl").value = isKey && node.ttl ? node.ttl : "";
  $("v2-delete").disabled = !node;
  $("v2-delete").textContent = node && node.dir ? "delete directory" : "delete";
  $("v2-meta").textContent = node
    ? (node.dir ? "directory " + node.key + " · " : "") + "created at index " + node.createdIndex + " · modified at " + node.modifiedIndex + (node.expiration ? " · expires " + new Date(node.expiration).toLocaleString() : "")
    : "";
  for (const row of $("v2-keys").tBodies[0].rows) row.classList.toggle("selected", !!node && row.dataset.key === node.key);
  if (!node) say("");
}

/** Sets the key: an opened key only if unchanged since (prevIndex), a new one only if absent (prevExist=false). */
async function save() {
  let key = $("v2-key").value.trim();
  if (!key.startsWith("/")) key = "/" + key;
  const value = $("v2-value").value;
  const ttl = $("v2-ttl").value;
  const editing = selected && !selected.dir && selected.key === key;
  const question = (editing ? "Change v2 key \"" + key + "\"" : "Create v2 key \"" + key + "\"") + " to the value \"" + clip(value, 200) + "\"" + (ttl ? ", expiring in " + ttl + " s" : "") + "?";
  if (!(await confirmChange(question))) return say("nothing changed");
  const query = editing ? { prevIndex: String(selected.modifiedIndex) } : { prevExist: "false" };
  const form = ttl ? { value: value, ttl: ttl } : { value: value };
  const r = await v2("PUT", key, query, form);
  if (r.status !== 200 && r.status !== 201) {
    if (r.body.errorCode === COMPARE_FAILED) return say("not saved: the key changed since it was opened; open it again", true);
    if (r.body.errorCode === NODE_EXISTS) return say("not created: the key exists already; open it to change it", true);
    return say("not saved: " + describe(r), true);
  }
  await openPath(parentOf(key));
  select(r.body.node);
  say((editing ? "changed" : "created") + " at index " + r.body.node.modifiedIndex);
}

async function remove() {
  if (!selected) return;
  const node = selected;
  const question = node.dir ? "Delete v2 directory \"" + node.key + "\" and everything in it?" : "Delete v2 key \"" + node.key + "\"?";
  if (!(await confirmChange(question))) return say("nothing changed");
  const query = node.dir ? { dir: "true", recursive: "true" } : { prevIndex: String(node.modifiedIndex) };
  const r = await v2("DELETE", node.key, query);
  if (r.status !== 200) {
    if (r.body.errorCode === COMPARE_FAILED) return say("not deleted: the key changed since it was opened; open it again", true);
    return say("not deleted: " + describe(r), true);
  }
  await openPath(node.dir ? parentOf(node.key) : currentDir);
  say("deleted at index " + r.body.node.modifiedIndex);
}

function parentOf(path) {
  const trimmed = path.replace(/\/+$/, "");
  const slash = trimmed.lastIndexOf("/");
  return slash <= 0 ? "/" : trimmed.slice(0, slash);
}

/** A v2 error answer in words. */
function describe(r) {
  return reason({ refusal: r.refusal, message: (r.body.message || "error") + (r.body.cause ? " (" + r.body.cause + ")" : "") });
}

function say(text, isError) {
  const p = $("v2-message");
  p.textContent = text;
  p.classList.toggle("error", !!isError);
}
`;
