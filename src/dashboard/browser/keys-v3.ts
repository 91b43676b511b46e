/** The v3 key browser: prefix search, value, history, put and delete (served as keys-v3.js). */
export const source = String.raw`
import { reason, refusalText, v3 } from "./http.js";
import { confirmChange } from "./confirm.js";
import { clip, el, prefixRangeEnd, showBytes, textToBase64 } from "./format.js";

const $ = (id) => document.getElementById(id);
const LIST_LIMIT = 200;
/** Older versions shown at most, each one read at the revision before the next. */
const HISTORY_DEPTH = 10;
/** etcd's gRPC code OutOfRange: the revision asked for was compacted. */
const OUT_OF_RANGE = 11;

/** The key open in the editor, as the server last showed it (null: a new key). */
let selected = null;

export function setUpV3Keys() {
  $("v3-search").addEventListener("submit", (e) => {
    e.preventDefault();
    void search();
  });
  $("v3-editor").addEventListener("submit", (e) => {
    e.preventDefault();
    void save();
  });
  $("v3-delete").addEventListener("click", () => void remove());
  $("v3-new").addEventListener("click", () => select(null));
  void search();
}

/** Lists the keys again, and forgets the open one (after a sign-in or out: what may be seen has changed). */
export function refreshV3Keys() {
  select(null);
  void search();
}

/** Lists the keys under the prefix; a search the user may not make shows the refusal in the list. */
async function search() {
  const prefix = $("v3-prefix").value;
  const request = prefix ? { key: textToBase64(prefix), range_end: prefixRangeEnd(prefix) } : { key: "AA==", range_end: "AA==" };
  const list = $("v3-keys").tBodies[0];
  try {
    const r = await v3("kv/range", Object.assign(request, { limit: LIST_LIMIT }));
    const kvs = r.kvs || [];
    const total = Number(r.count || 0);
    $("v3-count").textContent = total > kvs.length ? kvs.length + " of " + total + " keys" : total + (total === 1 ? " key" : " keys");
    list.replaceChildren(...kvs.map(keyRow));
  } catch (err) {
    if (!err.refusal) return say("search failed: " + reason(err), true);
    $("v3-count").textContent = "";
    const text = refusalText(err.refusal, prefix ? "keys starting with \"" + prefix + "\"" : "every key") + (err.refusal === "denied" && !prefix ? "; search a prefix it may read" : "");
    list.replaceChildren(el("tr", { class: "refusal" }, el("td", { colspan: 4 }, text)));
  }
}

function keyRow(kv) {
  const key = showBytes(kv.key);
  const value = showBytes(kv.value);
  return el(
    "tr",
    { class: selected && selected.key === kv.key ? "selected" : "", dataset: { key: key.text }, onclick: () => void open(kv.key) },
    el("td", { class: "mono" }, clip(key.text, 48)),
    el("td", { class: "mono" }, clip(value.text, 40)),
    el("td", {}, kv.version),
    el("td", {}, kv.mod_revision),
  );
}

/** Shows a key as the cluster has it now, with its earlier versions. */
async function open(keyB64) {
  try {
    const r = await v3("kv/range", { key: keyB64 });
    const kv = r.kvs && r.kvs[0];
    if (!kv) {
      say("that key is gone (deleted since the list was read)", true);
      select(null);
      return;
    }
    select(kv);
    await showHistory(kv);
  } catch (err) {
    say("reading the key failed: " + reason(err), true);
  }
}

function select(kv) {
  selected = kv;
  const key = kv ? showBytes(kv.key) : { text: "", binary: false };
  const value = kv ? showBytes(kv.value) : { text: "", binary: false };
  $("v3-key").value = key.text;
  $("v3-value").value = value.text;
  $("v3-key").readOnly = key.binary;
  $("v3-save").disabled = key.binary || value.binary;
  $("v3-delete").disabled = !kv;
  $("v3-meta").textContent = kv
    ? "created at revision " + kv.create_revision + " · modified at " + kv.mod_revision + " · version " + kv.version + (kv.lease ? " · lease " + kv.lease : "") + " · " + value.text.length + " characters" + (value.binary ? " (binary: shown escaped, not editable)" : "")
    : "";
  $("v3-history").replaceChildren();
  for (const row of $("v3-keys").tBodies[0].rows) row.classList.toggle("selected", !!kv && row.dataset.key === key.text);
  if (!kv) say("");
}

/**
 * Earlier versions of the key: the value it had just before each change,
 * read at that change's revision minus one, back to the version that
 * created it or to the compacted past.
 */
async function showHistory(kv) {
  const list = $("v3-history");
  const items = [historyItem(kv, "now")];
  let current = kv;
  while (Number(current.version) > 1 && items.length <= HISTORY_DEPTH) {
    let earlier;
    try {
      const r = await v3("kv/range", { key: kv.key, revision: String(Number(current.mod_revision) - 1) });
      earlier = r.kvs && r.kvs[0];
    } catch (err) {
      items.push(el("li", { class: "muted" }, err.body && err.body.code === OUT_OF_RANGE ? "older versions were compacted" : "older versions: " + reason(err)));
      break;
    }
    if (!earlier) break;
    items.push(historyItem(earlier, ""));
    current = earlier;
  }
  if (selected === kv) list.replaceChildren(...items);
}

function historyItem(kv, note) {
  return el("li", {}, el("span", { class: "muted" }, "rev " + kv.mod_revision + ", v" + kv.version + (note ? " (" + note + ")" : "") + ": "), el("span", { class: "mono" }, clip(showBytes(kv.value).text, 80)));
}

/**
 * Puts the editor's value. Opened key: only if nobody changed it since it
 * was read (a transaction comparing its mod revision); new key: only if it
 * does not exist yet. Either way nothing is overwritten unseen.
 */
async function save() {
  const keyText = $("v3-key").value;
  const valueText = $("v3-value").value;
  const key = textToBase64(keyText);
  const editing = selected && selected.key === key;
  const question = (editing ? "Change v3 key \"" + keyText + "\" (version " + selected.version + ")" : "Create v3 key \"" + keyText + "\"") + " to the value \"" + clip(valueText, 200) + "\"?";
  if (!(await confirmChange(question))) return say("nothing changed");
  const compare = editing
    ? { key: key, target: "MOD", result: "EQUAL", mod_revision: selected.mod_revision }
    : { key: key, target: "CREATE", result: "EQUAL", create_revision: "0" };
  try {
    const r = await v3("kv/txn", { compare: [compare], success: [{ request_put: { key: key, value: textToBase64(valueText) } }] });
    if (!r.succeeded) return say(editing ? "not saved: the key changed since it was opened; open it again" : "not created: the key exists already; open it to change it", true);
    say((editing ? "changed" : "created") + " at revision " + r.header.revision);
    await search();
    await open(key);
  } catch (err) {
    say("not saved: " + reason(err), true);
  }
}

async function remove() {
  if (!selected) return;
  const keyText = showBytes(selected.key).text;
  if (!(await confirmChange("Delete v3 key \"" + keyText + "\" (version " + selected.version + ")?"))) return say("nothing changed");
  try {
    const r = await v3("kv/txn", {
      compare: [{ key: selected.key, target: "MOD", result: "EQUAL", mod_revision: selected.mod_revision }],
      success: [{ request_delete_range: { key: selected.key } }],
    });
    if (!r.succeeded) return say("not deleted: the key changed since it was opened; open it again", true);
    select(null);
    say("deleted at revision " + r.header.revision);
    await search();
  } catch (err) {
    say("not deleted: " + reason(err), true);
  }
}

function say(text, isError) {
  const p = $("v3-message");
  p.textContent = text;
  p.classList.toggle("error", !!isError);
}
`;
