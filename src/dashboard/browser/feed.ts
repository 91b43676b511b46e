/** The live event feed: a v3 watch over a WebSocket, or v2 long polls, on a prefix (served as feed.js). */
export const source = String.raw`
import { socketURL, v2 } from "./http.js";
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
  running = api === "v2" ? waitV2(prefix) : watchV3(prefix);
  $("feed-toggle").textContent = "stop";
  $("feed-api").disabled = $("feed-prefix").disabled = true;
}

function stopFeed() {
  running.stop();
  running = null;
  $("feed-toggle").textContent = "watch";
  $("feed-api").disabled = $("feed-prefix").disabled = false;
  status("not watching", false);
}

/**
 * One watch on one WebSocket. When the stream breaks, it is opened again
 * from the revision after the last event shown, so nothing is missed or
 * shown twice (history is kept until compacted).
 */
function watchV3(prefix) {
  let socket = null;
  let timer = 0;
  let stopped = false;
  let failures = 0;
  /** The revision to resume from (0: from now). */
  let next = 0;
  const what = prefix ? "keys starting with \"" + prefix + "\"" : "every key";
  const connect = () => {
    socket = new WebSocket(socketURL("/v3/watch"));
    socket.onopen = () => {
      const create = prefix ? { key: textToBase64(prefix), range_end: prefixRangeEnd(prefix) } : { key: "AA==", range_end: "AA==" };
      if (next) create.start_revision = String(next);
      create.prev_kv = true;
      socket.send(JSON.stringify({ create_request: create }));
    };
    socket.onmessage = (e) => {
      const message = JSON.parse(e.data);
      if (message.error) return status("watch failed: " + message.error.message, false);
      const r = message.result || {};
      if (r.created) {
        failures = 0;
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
        socket.close();
      }
    };
    socket.onclose = () => {
      if (stopped) return;
      status("stream closed; reconnecting from revision " + (next || "now") + "…", false);
      timer = setTimeout(connect, RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)]);
    };
  };
  connect();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      if (socket) socket.close();
    },
  };
}

/** v2 long polls (wait=true, recursive) on a directory, each from the index after the last event. */
function waitV2(prefix) {
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
          next = now.index + 1;
          status("watching v2 " + key + " from index " + next, true);
        }
        const r = await v2("GET", key, { wait: "true", recursive: "true", waitIndex: String(next) }, null, { signal: controller.signal });
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

function status(text, live) {
  const s = $("feed-status");
  s.textContent = text;
  s.classList.toggle("live", live);
}
`;
