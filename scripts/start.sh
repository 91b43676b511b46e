#!/bin/sh
# `npm start`: the default cluster on 127.0.0.1:${PORT:-8787} under Miniflare
# (scripts/serve.ts), with local state kept in .state/, and with the
# fault-injection API and the dashboard (/_dashboard) on. Options after
# `npm start --` go to serve.ts.
#
# Every held-open watch costs the runtime two file descriptors (measured:
# 6,009 sockets with 3,000 watches), so 10,000 watchers need more than the
# usual limit: raise it as far as this user may, and carry on if it cannot.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# Beyond what the descriptors allow (less a reserve for storage, peers and
# the runtime itself), refuse new watches cleanly (error 300, HTTP 503)
# rather than let the runtime run out of descriptors and restart.
nofile=$(ulimit -n)
max_watches=$(( nofile > 2048 ? (nofile - 1024) / 2 : nofile / 4 ))

# Local runs must not wait on Cloudflare's network for Request.cf or metrics.
export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false

exec node scripts/serve.ts --var DEBUG_FAULTS:true --var DASHBOARD:true --var "MAX_WATCHES:$max_watches" "$@"
