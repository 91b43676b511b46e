/**
 * `npm run grpc-proxy`: the gRPC front for a Worker elsewhere (a deployed
 * one, or `npm start` on another machine), as `etcd grpc-proxy` fronts an
 * etcd cluster.
 *
 *   npm run grpc-proxy -- --endpoint https://NAME.ACCOUNT.workers.dev
 *       [--listen 127.0.0.1:2379] [--cluster NAME | --discovery]
 *       [--cert FILE --key FILE] [--advertise-client-url URL]
 *
 * --discovery serves the Worker's v3 discovery registry instead of a
 * cluster, for `etcd --discovery-token T --discovery-endpoints HOST:PORT`.
 *
 * Members report --advertise-client-url (default: the --listen address) as
 * their client URL, so clients that sync endpoints stay on this front.
 */
import * as fs from "node:fs";
import { frontServer, listen } from "./front.ts";

const USAGE = "usage: npm run grpc-proxy -- --endpoint URL [--listen HOST:PORT] [--cluster NAME | --discovery] [--cert FILE --key FILE] [--advertise-client-url URL]";

const VALUED = ["--endpoint", "--listen", "--cluster", "--cert", "--key", "--advertise-client-url"];

function parse(argv: string[]): Record<string, string> {
  const flags: Record<string, string> = {};
  let i = 0;
  while (i < argv.length) {
    const flag = argv[i++];
    if (flag === "--discovery") {
      flags.discovery = "true";
      continue;
    }
    if (!VALUED.includes(flag)) fail(`unknown option ${flag}`);
    const value = argv[i++];
    if (value === undefined) fail(`${flag} needs a value`);
    flags[flag.slice(2)] = value;
  }
  return flags;
}

function fail(problem: string): never {
  console.error(`grpc-proxy: ${problem}\n${USAGE}`);
  process.exit(2);
}

const flags = parse(process.argv.slice(2));
if (!flags.endpoint) fail("--endpoint is required");
try {
  const url = new URL(flags.endpoint);
  if (url.protocol !== "http:" && url.protocol !== "https:") fail(`--endpoint must be an http or https URL, not ${flags.endpoint}`);
} catch {
  fail(`--endpoint must be an http or https URL, not ${flags.endpoint}`);
}
if (Boolean(flags.cert) !== Boolean(flags.key)) fail("--cert and --key go together");
if (flags.cluster && flags.discovery) fail("--cluster and --discovery exclude each other");
const tls = flags.cert ? { cert: fs.readFileSync(flags.cert), key: fs.readFileSync(flags.key) } : undefined;
const address = flags.listen ?? "127.0.0.1:2379";

const scheme = tls ? "https" : "http";
const advertiseClientURL = flags["advertise-client-url"] ?? `${scheme}://${address}`;
const serves = flags.discovery ? { discovery: true as const } : flags.cluster ? { cluster: flags.cluster } : "default";
const server = frontServer({ endpoint: flags.endpoint, serves, advertiseClientURL });
try {
  const port = await listen(server, address, tls);
  console.log(`grpc-proxy: serving etcd's gRPC API on ${scheme}://${address.replace(/:\d+$/, `:${port}`)} for ${flags.endpoint}${flags.cluster ? ` (cluster ${flags.cluster})` : flags.discovery ? " (v3 discovery)" : ""}`);
} catch (err) {
  fail(`cannot listen on ${address}: ${(err as Error).message}`);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => server.tryShutdown(() => process.exit(0)));
