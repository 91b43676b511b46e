#!/bin/sh
# `npm start`: the default cluster on 127.0.0.1:${PORT:-8787} under wrangler dev,
# with local state kept in .state/ and the fault-injection API on.
#
# Under wrangler dev each held-open watch costs about four file descriptors
# (client, dev proxy, runtime), so 10,000 watchers need more than the usual
# limit: raise it as far as this user may, and carry on if it cannot.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# Beyond what the descriptors allow, refuse new watches cleanly (error 300,
# HTTP 503) rather than let the runtime run out of descriptors and restart.
max_watches=$(( $(ulimit -n) / 5 ))

# Local runs must not wait on Cloudflare's network for Request.cf or metrics.
export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false

exec wrangler dev --ip 127.0.0.1 --port "${PORT:-8787}" --persist-to .state \
  --var DEBUG_FAULTS:true --var "MAX_WATCHES:$max_watches" "$@"
