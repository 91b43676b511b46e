/**
 * The live event feed: a v3 watch over the gateway's streaming POST, or v2
 * long polls, on a prefix, with the signed-in user's credentials (served as
 * feed.js). A watch refused for who asks ends with the refusal in place.
 */
export const source = String.raw`
import { refusalOf, refusalText, v2, v3Stream } from "./http.js";
import { needed, renewToken, user, v3Authorization } from "./auth.js";
import { clip, clockTime, el, prefixRangeEnd, showBytes, textToBase64 } from "./format.js";

const $ = (id) => document.getElementById(id);
const MAX_ROWS = 200;
/** Waits before reconnecting after a stream broke (a member restarting, say), growing while it keeps failing. */
const RETRY_MS = [250, 1000, 2000, 5000];
/** etcd's v2 error 401: the index waited from has left the 1000-event history. */
const EVENT_INDEX_CLEARED = 401;

/** The watch running now: { stop() }, or null. */
let running = null;

export function setUpFeed() {
  $("feed-form").addEventListener("submit", (e) => {
    e.preventDefault();
    if (running) stopFeed();
    else startFeed($("feed-api").value, $("feed-prefix").value);
  });
}

function startFeed(api, prefix) {
  const feed = {};
  // A refusal ends this feed, unless another one has started since.
  const refuse = (text) => running === feed && ended(text, true);
  feed.stop = (api === "v2" ? waitV2(prefix, refuse) : watchV3(prefix, refuse)).stop;
  running = feed;
  $("feed-toggle").textContent = "stop";
  $("feed-api").disabled = $("feed-prefix").disabled = true;
}

function stopFeed() {
  running.stop();
  ended("not watching", false);
}

/** The feed has ended (stopped, or refused: then why, as an error). */
function ended(text, isError) {
  running = null;
  $("feed-toggle").textContent = "watch";
  $("feed-api").disabled = $("feed-prefix").disabled = false;
  status(text, false, isError);
}

/**
 * Forgets the events shown and opens the running feed again, with the
 * credentials of whoever is signed in now (what may be seen has changed).
 */
export function restartFeed() {
  $("feed").tBodies[0].replaceChildren();
  if (!running) return status("not watching", false);
  running.stop();
  startFeed($("feed-api").value, $("feed-prefix").value);
}

/**
 * One watch on one stream (the gateway's chunked POST, with the user's
 * token). When the stream breaks, it is opened again from the revision
 * after the last event shown, so nothing is missed or shown twice (history
 * is kept until compacted). A watch refused for who asks is shown as such
 * and not tried again, but for one new token when the old one timed out.
 */
function watchV3(prefix, refuse) {
  let stopped = false;
  /** Ends the stream open now. */
  let ending = null;
  let failures = 0;
  /** The revision to resume from (0: from now). */
  let next = 0;
  let renewed = false;
  const what = prefix ? "keys starting with \"" + prefix + "\"" : "every key";
  const create = () => {
    const c = prefix ? { key: textToBase64(prefix), range_end: prefixRangeEnd(prefix) } : { key: "AA==", range_end: "AA==" };
    if (next) c.start_revision = String(next);
    c.prev_kv = true;
    return { create_request: c };
  };
  /** Reads one stream until it ends; "refused" when it was refused for good. */
  const stream = async () => {
    const end = (ending = new AbortController());
    let refused = false;
    const onMessage = async (message) => {
      if (message.error) return status("watch failed: " + message.error.message, false);
      const r = message.result || {};
      const refusal = r.canceled && r.created ? refusalOf(r.cancel_reason || "") : "";
      if (refusal) {
        let again = false;
        if (refusal === "sign-in" && !renewed && user()) {
          renewed = true;
          again = await renewToken(v3Authorization());
        }
        if (!again) {
          if (refusal === "sign-in") needed();
          refused = true;
          refuse("watch refused: " + refusalText(refusal, what));
        }
        return end.abort();
      }
      if (r.created) {
        failures = 0;
        renewed = false;
        if (!next) next = Number(r.header.revision) + 1;
        status("watching " + what + " from revision " + next, true);
      }
      for (const event of r.events || []) {
        const deleted = event.type === "DELETE";
        const value = deleted ? (event.prev_kv ? showBytes(event.prev_kv.value).text : "") : showBytes(event.kv.value).text;
        add(deleted ? "DELETE" : "PUT", showBytes(event.kv.key).text, value, event.kv.mod_revision);
        next = Number(event.kv.mod_revision) + 1;
      }
      if (r.canceled) {
        // Compacted past the revision asked for: carry on from the oldest one kept.
        if (r.compact_revision) next = Number(r.compact_revision);
        status("watch canceled" + (r.cancel_reason ? ": " + r.cancel_reason : "") + "; starting again", false);
        end.abort();
      }
    };
    try {
      await v3Stream("watch", create(), onMessage, end.signal);
    } catch (err) {
      // Ended here (above, or stopped) is no failure.
      if (!end.signal.aborted) throw err;
    }
    return refused ? "refused" : "ended";
  };
  const loop = async () => {
    while (!stopped) {
      try {
        if ((await stream()) === "refused") return;
      } catch (err) {
        if (stopped) return;
        if (err.refusal) return refuse("watch refused: " + refusalText(err.refusal, what));
      }
      if (stopped) return;
      status("stream closed; reconnecting from revision " + (next || "now") + "…", false);
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)]));
    }
  };
  void loop();
  return {
    stop() {
      stopped = true;
      if (ending) ending.abort();
    },
  };
}

/** v2 long polls (wait=true, recursive) on a directory, each from the index after the last event; a refusal ends them. */
function waitV2(prefix, refuse) {
  const key = "/" + prefix.replace(/^\/+|\/+$/g, "");
  const controller = new AbortController();
  let stopped = false;
  const loop = async () => {
    let next = 0;
    let failures = 0;
    while (!stopped) {
      try {
        if (!next) {
          // The index now (a missing key answers with it too): events after it are new.
          const now = await v2("GET", key, null, null, { signal: controller.signal });
          if (now.refusal) return refuse("waiting refused: " + refusalText(now.refusal, key));
          next = now.index + 1;
          status("watching v2 " + key + " from index " + next, true);
        }
        const r = await v2("GET", key, { wait: "true", recursive: "true", waitIndex: String(next) }, null, { signal: controller.signal });
        if (r.refusal) return refuse("waiting refused: " + refusalText(r.refusal, key));
        if (r.status === 200) {
          const node = r.body.node;
          add(r.body.action, node.key, node.value !== undefined ? node.value : "", node.modifiedIndex);
          next = node.modifiedIndex + 1;
          failures = 0;
        } else if (r.body.errorCode === EVENT_INDEX_CLEARED) {
          next = 0;
          add("(missed)", key, "more than 1000 changes since the last event: events in between are not shown", r.index);
        } else {
          throw new Error((r.body.message || "error") + (r.body.cause ? " (" + r.body.cause + ")" : ""));
        }
      } catch (err) {
        if (stopped) return;
        status("waiting failed: " + err.message + "; trying again", false);
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)]));
      }
    }
  };
  void loop();
  return {
    stop() {
      stopped = true;
      controller.abort();
    },
  };
}

function add(kind, key, value, revision) {
  const body = $("feed").tBodies[0];
  body.prepend(
    el(
      "tr",
      { class: "event-" + kind.toLowerCase(), dataset: { key: key } },
      el("td", {}, clockTime(Date.now())),
      el("td", {}, kind),
      el("td", { class: "mono" }, clip(key, 48)),
      el("td", { class: "mono" }, clip(value, 60)),
      el("td", {}, revision),
    ),
  );
  while (body.rows.length > MAX_ROWS) body.deleteRow(-1);
}

function status(text, live, isError) {
  const s = $("feed-status");
  s.textContent = text;
  s.classList.toggle("live", live);
  s.classList.toggle("error", !!isError);
}
`;
