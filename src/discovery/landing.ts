/**
 * `/`: how to use the discovery service, as plain text with this
 * deployment's own URLs and limits filled in.
 */
import { methodNotAllowed, TEXT_PLAIN } from "../http/go-http.ts";
import type { DiscoveryConfig } from "../env.ts";
import { DEFAULT_SIZE, MAX_SIZE } from "./new-token.ts";

export function landingPage(request: Request, config: DiscoveryConfig): Response {
  if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed(["GET", "HEAD"]);
  const base = config.baseURL ?? new URL(request.url).origin;
  const limit = config.newPerMinute > 0 ? `at most ${config.newPerMinute} new tokens per minute per client address` : "no limit on new tokens";
  const text = `etcd discovery service

Bootstrap a new etcd cluster (etcd 3.4 and earlier, or 3.5 with v2 discovery)
without knowing the members' addresses in advance.

1. Get a token for a cluster of 3 members (size: 1 to ${MAX_SIZE}, default ${DEFAULT_SIZE}):

     curl -s '${base}/new?size=3'
     ${base}/0123456789abcdef0123456789abcdef

2. Start every member with that URL instead of --initial-cluster:

     etcd --name m1 --data-dir /var/lib/etcd/m1 \\
       --listen-peer-urls http://10.0.0.1:2380 --initial-advertise-peer-urls http://10.0.0.1:2380 \\
       --listen-client-urls http://10.0.0.1:2379 --advertise-client-urls http://10.0.0.1:2379 \\
       --discovery ${base}/0123456789abcdef0123456789abcdef

   Each member registers, waits until all of them have, and then the cluster
   forms. A member started after the cluster is full becomes a proxy (or
   exits, with --discovery-fallback=exit).

3. See who has registered:

     curl -s ${base}/0123456789abcdef0123456789abcdef

A token is for one bootstrap: if it fails, get a new token. Tokens and their
registrations are deleted ${age(config.tokenTTLSeconds)} after they are created.
There is ${limit}.

The same server also speaks etcd's v2 API (/v2/keys, /version, /health).
`;
  return new Response(request.method === "HEAD" ? null : text, { headers: { "Content-Type": TEXT_PLAIN } });
}

function age(seconds: number): string {
  const units: [number, string][] = [[86_400, "day"], [3_600, "hour"], [60, "minute"], [1, "second"]];
  const [size, name] = units.find(([s]) => seconds % s === 0)!;
  const n = seconds / size;
  return `${n} ${name}${n === 1 ? "" : "s"}`;
}
