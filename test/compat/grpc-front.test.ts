// The gRPC front as its own process (`npm run grpc-proxy`), in front of our
// server: it is stateless, so a client whose front restarts reconnects and
// its watch resumes from the last revision it saw, missing nothing and
// seeing nothing twice (the Node etcd3 client, which nobody here wrote,
// does the resuming, as it would against etcd). Methods not served yet
// answer Unimplemented with a reason; bad options stop the command with one.
import * as fs from "node:fs";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { LOADER_OPTIONS } from "../../grpc-front/protos.ts";
import { Etcd3, GRPCNotImplementedError } from "etcd3";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDir, spawnServer, stopServer, tcpListening, waitUntil, type ServerProcess } from "../../support/processes.ts";
import { NAMED_CLUSTER } from "./harness/clusters";
import { targets } from "./harness/compare";
import { send } from "./harness/http";
import { freePort, repoRoot } from "./harness/processes";
import { run } from "./harness/run";

const t = targets();
const CLI = path.join(repoRoot, "grpc-front", "cli.ts");
const b64 = (s: string) => Buffer.from(s).toString("base64");

async function startFront(port: number, ...more: string[]): Promise<ServerProcess> {
  const dir = makeTempDir("compat-front-");
  const args = [CLI, "--endpoint", t.ours, "--listen", `127.0.0.1:${port}`, ...more];
  const front = spawnServer({ name: `grpc front on ${port}`, cmd: process.execPath, args, cwd: repoRoot, env: { ...process.env }, dir });
  await waitUntil([front], `the front listens on ${port}`, { timeoutMs: 30_000 }, () => tcpListening(port));
  return front;
}

async function putOverHTTP(key: string, value: string): Promise<void> {
  const r = await send(t.ours, { method: "POST", path: "/v3/kv/put", body: JSON.stringify({ key: b64(key), value: b64(value) }), contentType: "application/json" }, 15_000);
  expect(r.status, r.body).toBe(200);
}

describe.skipIf(t.oursKind !== "worker")("the gRPC front as a process of its own", () => {
  const clients: Etcd3[] = [];
  const fronts: ServerProcess[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all(fronts.map(stopServer));
  });

  it("restarts without a watcher missing or repeating an event: the client resumes from the last revision it saw", async () => {
    const port = await freePort();
    fronts.push(await startFront(port));
    const client = new Etcd3({ hosts: `127.0.0.1:${port}` });
    clients.push(client);
    const p = `~front-${Math.random().toString(36).slice(2, 8)}/`;
    const seen: string[] = [];
    const watcher = await client.watch().prefix(p).create();
    watcher.on("put", (kv) => seen.push(`${kv.key.toString()}=${kv.value.toString()}@${kv.mod_revision}`));
    const waitSeen = (n: number, what: string) =>
      waitUntil([], what, { timeoutMs: 30_000 }, async () => {
        await new Promise((r) => setTimeout(r, 50));
        return seen.length >= n;
      });

    for (let i = 0; i < 5; i++) await putOverHTTP(`${p}${i}`, "before");
    await waitSeen(5, "the first 5 events");
    await stopServer(fronts.pop()!);
    // Written while no front runs: the watch must replay them from history.
    for (let i = 5; i < 10; i++) await putOverHTTP(`${p}${i}`, "while-down");
    fronts.push(await startFront(port));
    for (let i = 10; i < 15; i++) await putOverHTTP(`${p}${i}`, "after");
    await waitSeen(15, "all 15 events after the front restarted");

    const values = seen.map((s) => s.replace(/@\d+$/, ""));
    const expected = Array.from({ length: 15 }, (_, i) => `${p}${i}=${i < 5 ? "before" : i < 10 ? "while-down" : "after"}`);
    expect(values).toEqual(expected);
    const revisions = seen.map((s) => Number(s.slice(s.lastIndexOf("@") + 1)));
    for (let i = 1; i < revisions.length; i++) expect(revisions[i]).toBe(revisions[i - 1] + 1);
    await watcher.cancel();
  }, 120_000);

  it("serves a named cluster with --cluster, and answers a hasleader call when the cluster has a leader", async () => {
    const port = await freePort();
    fronts.push(await startFront(port, "--cluster", NAMED_CLUSTER.name));
    const client = new Etcd3({ hosts: `127.0.0.1:${port}` });
    clients.push(client);
    const key = `~front-named-${Math.random().toString(36).slice(2, 8)}`;
    await client.put(key).value("in the named cluster");
    const named = await send(t.ours, { method: "POST", path: `${NAMED_CLUSTER.root}/v3/kv/range`, body: JSON.stringify({ key: b64(key) }), contentType: "application/json" }, 15_000);
    expect(JSON.parse(named.body).kvs?.[0]?.value).toBe(b64("in the named cluster"));
    const inDefault = await send(t.ours, { method: "POST", path: "/v3/kv/range", body: JSON.stringify({ key: b64(key) }), contentType: "application/json" }, 15_000);
    expect(JSON.parse(inDefault.body).kvs).toBeUndefined();
    // kube-apiserver's metadata: served, since the cluster has a leader.
    const metadata = new grpc.Metadata();
    metadata.set("hasleader", "true");
    const definitions = grpc.loadPackageDefinition(protoLoader.loadSync("etcdserverpb/rpc.proto", LOADER_OPTIONS)) as unknown as {
      etcdserverpb: { Maintenance: new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client & Record<string, Function> };
    };
    const maintenance = new definitions.etcdserverpb.Maintenance(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const status = await new Promise<{ leader?: string }>((resolve, reject) =>
      maintenance.Status({}, metadata, (err: Error | null, answer: { leader?: string }) => (err ? reject(err) : resolve(answer))),
    );
    maintenance.close();
    expect(status.leader).toMatch(/^[1-9][0-9]*$/);
  });

  it("answers what it does not serve yet with Unimplemented and a reason", async () => {
    const port = await freePort();
    fronts.push(await startFront(port));
    const client = new Etcd3({ hosts: `127.0.0.1:${port}` });
    clients.push(client);
    const err = await client.maintenance.moveLeader({ targetID: "1" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GRPCNotImplementedError);
    expect((err as Error).message).toContain("etcd-on-workers: moving the leader is not served yet");
  });

  it("refuses bad options with a usage line and exit code 2", async () => {
    const dir = makeTempDir("compat-front-args-");
    try {
      const r = await run(process.execPath, [CLI, "--endpoint", "ftp://example.com"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("grpc-proxy: --endpoint must be an http or https URL, not ftp://example.com");
      expect(r.stderr).toContain("usage: npm run grpc-proxy --");
      const missing = await run(process.execPath, [CLI, "--endpoint", t.ours, "--cert", path.join(dir, "none.crt")]);
      expect([missing.code, missing.stderr.split("\n")[0]]).toEqual([2, "grpc-proxy: --cert and --key go together"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
