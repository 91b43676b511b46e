/**
 * The dashboard's one HTML page: the panels' empty markup, filled in by the
 * browser modules (assets.ts). It carries the cluster it is for, so the same
 * scripts serve /_dashboard and /clusters/<name>/_dashboard.
 */

/** `base`: the path prefix of the cluster's API ("" for the default cluster, "/clusters/<name>" otherwise). */
export function dashboardPage(cluster: string, base: string): string {
  const b = escapeHTML(base);
  const name = escapeHTML(cluster);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${name} · etcd on Workers</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${b}/_dashboard/assets/style.css">
<script type="module" src="${b}/_dashboard/assets/main.js"></script>
</head>
<body data-base="${b}" data-cluster="${name}">
<header>
  <h1>etcd on Workers <span class="cluster">cluster <b id="cluster-name">${name}</b></span></h1>
  <form id="cluster-switch" class="inline">
    <label>other cluster <input id="cluster-input" placeholder="default" pattern="[a-z0-9][a-z0-9\\-]{0,62}" size="14"></label>
    <button>open</button>
  </form>
  <span id="poll-status" class="muted">connecting…</span>
  <span id="session" hidden>signed in as <b id="session-user"></b> <button type="button" id="signout">sign out</button></span>
</header>
<main>
  <section id="signin-panel" hidden>
    <h2>Sign in <span class="muted">auth is enabled on this cluster: the keys and the live feed show what your user may read (the members table needs no user)</span></h2>
    <form id="signin-form" class="inline">
      <label>user <input id="signin-user" autocomplete="username" required size="16"></label>
      <label>password <input id="signin-password" type="password" autocomplete="current-password" size="16"></label>
      <button id="signin-button">sign in</button>
      <span id="signin-message" class="message"></span>
    </form>
    <p class="muted">Kept in this page only: reloading it asks again.</p>
  </section>

  <section id="members-panel">
    <h2>Members <span id="members-summary" class="muted"></span></h2>
    <table id="members">
      <thead><tr><th>id</th><th>name</th><th>role</th><th>term</th><th>commit</th><th>applied</th><th>lag</th><th>state</th><th>Raft activity</th><th>region</th><th>started</th><th>keys</th><th>watchers v2/v3</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>

  <section id="charts-panel">
    <h2>Throughput and latency <span class="muted">last 5 minutes, sampled every 2 s while this page is visible</span></h2>
    <div class="charts">
      <figure><figcaption>writes/s <b id="rate-now"></b> <span class="muted">entries applied per second</span></figcaption><svg id="rate-chart" viewBox="0 0 300 60" preserveAspectRatio="none"></svg></figure>
      <figure><figcaption><span id="latency-label">read latency</span> <b id="latency-now"></b> <span class="muted" id="latency-what">a serializable v3 read from this browser</span></figcaption><svg id="latency-chart" viewBox="0 0 300 60" preserveAspectRatio="none"></svg></figure>
    </div>
  </section>

  <section id="feed-panel">
    <h2>Live events</h2>
    <form id="feed-form" class="inline">
      <select id="feed-api"><option value="v3">v3 watch</option><option value="v2">v2 wait</option></select>
      <label>prefix <input id="feed-prefix" placeholder="(every key)" size="18"></label>
      <button id="feed-toggle">watch</button>
      <span id="feed-status" class="muted">not watching</span>
    </form>
    <div class="scroll"><table id="feed" class="keys"><thead><tr><th>time</th><th>event</th><th>key</th><th>value</th><th>rev/index</th></tr></thead><tbody></tbody></table></div>
  </section>

  <section id="keys-panel">
    <h2>Keys
      <span class="tabs" role="tablist">
        <button type="button" id="tab-v3" role="tab" aria-selected="true">v3 keyspace</button>
        <button type="button" id="tab-v2" role="tab" aria-selected="false">v2 tree</button>
      </span>
    </h2>
    <div id="v3-pane">
      <form id="v3-search" class="inline">
        <label>prefix <input id="v3-prefix" placeholder="(every key)" size="24"></label>
        <button>search</button>
        <span id="v3-count" class="muted"></span>
      </form>
      <div class="split">
        <table id="v3-keys" class="keys"><thead><tr><th>key</th><th>value</th><th>version</th><th>mod rev</th></tr></thead><tbody></tbody></table>
        <div class="detail">
          <form id="v3-editor" class="editor">
            <label>key <input id="v3-key" required></label>
            <label>value <textarea id="v3-value" rows="3"></textarea></label>
            <div class="buttons"><button id="v3-save">put</button> <button type="button" id="v3-delete" disabled>delete</button> <button type="button" id="v3-new">new key</button></div>
            <p id="v3-message" class="message"></p>
          </form>
          <div id="v3-meta" class="muted"></div>
          <h3>history</h3>
          <ol id="v3-history" class="history"></ol>
        </div>
      </div>
    </div>
    <div id="v2-pane" hidden>
      <form id="v2-open" class="inline">
        <label>directory <input id="v2-dir" value="/" size="24"></label>
        <button>open</button> <button type="button" id="v2-up">up</button>
        <span id="v2-count" class="muted"></span>
      </form>
      <div class="split">
        <table id="v2-keys" class="keys"><thead><tr><th>key</th><th>value</th><th>modified</th><th>ttl</th></tr></thead><tbody></tbody></table>
        <div class="detail">
          <form id="v2-editor" class="editor">
            <label>key <input id="v2-key" required placeholder="/dir/key"></label>
            <label>value <textarea id="v2-value" rows="3"></textarea></label>
            <label>ttl (s) <input id="v2-ttl" type="number" min="1" placeholder="none" size="6"></label>
            <div class="buttons"><button id="v2-save">set</button> <button type="button" id="v2-delete" disabled>delete</button> <button type="button" id="v2-new">new key</button></div>
            <p id="v2-message" class="message"></p>
          </form>
          <div id="v2-meta" class="muted"></div>
        </div>
      </div>
    </div>
  </section>

  <section id="discovery-panel">
    <h2>Discovery token</h2>
    <form id="discovery-form" class="inline">
      <label>token or URL <input id="discovery-token" size="40" placeholder="6d321906d4459639dc4ccebacf632439"></label>
      <button>look up</button>
    </form>
    <p id="discovery-summary" class="muted"></p>
    <ol id="discovery-members"></ol>
  </section>
</main>

<dialog id="confirm-dialog">
  <form method="dialog">
    <p id="confirm-message"></p>
    <div class="buttons"><button value="yes" id="confirm-yes">confirm</button> <button value="no" id="confirm-no">cancel</button></div>
  </form>
</dialog>
</body>
</html>
`;
}

function escapeHTML(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
