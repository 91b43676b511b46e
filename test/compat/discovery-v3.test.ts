// v3 discovery through the gRPC front (`npm run grpc-proxy -- --discovery`):
// the calls etcd's v3 discovery client makes (etcd 3.6's v3discovery: read
// the size key, read the members, put its own member key, watch the members
// from the next revision), made here with the Node etcd3 client against a
// token from /new. A token's keys are its own: another token's, the size
// key and anything outside the registry are refused; an unknown token
// cannot register.
import * as path from "node:path";
import { Etcd3, EtcdPermissionDeniedError } from "etcd3";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDir, spawnServer, stopServer, tcpListening, waitUntil, type ServerProcess } from "../../support/processes.ts";
import { targets } from "./harness/compare";
import { send } from "./harness/http";
import { freePort, repoRoot } from "./harness/processes";

const t = targets();

describe.skipIf(t.oursKind !== "worker")("v3 discovery through the gRPC front", () => {
  let front: ServerProcess | undefined;
  let client: Etcd3 | undefined;
  afterAll(async () => {
    client?.close();
    if (front) await stopServer(front);
  });

  it("replays etcd's v3 discovery client: size, members, register three, watch them arrive", async () => {
    const port = await freePort();
    const args = [path.join(repoRoot, "grpc-front", "cli.ts"), "--endpoint", t.ours, "--discovery", "--listen", `127.0.0.1:${port}`];
    front = spawnServer({ name: "discovery front", cmd: process.execPath, args, cwd: repoRoot, env: { ...process.env }, dir: makeTempDir("compat-discovery-front-") });
    await waitUntil([front], "the discovery front listens", { timeoutMs: 30_000 }, () => tcpListening(port));
    client = new Etcd3({ hosts: `127.0.0.1:${port}` });

    const created = await send(t.ours, { method: "GET", path: "/new?size=3" }, 30_000);
    expect(created.status).toBe(200);
    const token = created.body.slice(created.body.lastIndexOf("/") + 1);
    const registry = `/_etcd/registry/${token}`;
    const members = `${registry}/members`;

    expect(await client.get(`${registry}/_config/size`).string()).toBe("3");
    const before = await client.getAll().prefix(members).exec();
    expect(before.kvs).toEqual([]);
    const rev = Number(before.header.revision);

    const seen: string[] = [];
    const watcher = await client.watch().prefix(members).startRevision(String(rev + 1)).create();
    watcher.on("put", (kv) => seen.push(`${kv.key.toString()} ${kv.value.toString()}`));
    const ids = ["8e9e05c52164694d", "91bc3c398fb3c146", "fd422379fda50e48"];
    for (const [i, id] of ids.entries()) await client.put(`${members}/${id}`).value(`infra${i}=http://10.0.0.${i + 1}:2380`);
    await waitUntil([], "the watch sees the three registrations", { timeoutMs: 20_000 }, async () => {
      await new Promise((r) => setTimeout(r, 50));
      return seen.length >= 3;
    });
    expect(seen).toEqual(ids.map((id, i) => `${members}/${id} infra${i}=http://10.0.0.${i + 1}:2380`));
    await watcher.cancel();

    const after = await client.getAll().prefix(members).exec();
    expect(after.kvs.map((kv) => kv.key.toString())).toEqual(ids.map((id) => `${members}/${id}`));
    const created3 = after.kvs.map((kv) => Number(kv.create_revision));
    expect(created3).toEqual([rev + 1, rev + 2, rev + 3]);
    // Registered keys are attached to the token's lease, so they expire with it.
    expect(after.kvs.every((kv) => kv.lease !== "0")).toBe(true);

    // A token's caller reaches nothing else.
    const c = client;
    for (const refused of [
      () => c.put(`${registry}/_config/size`).value("1"),
      () => c.getAll().prefix("/_etcd/registry/").strings(),
      () => c.get("/somewhere/else").string(),
    ]) {
      await expect(refused()).rejects.toBeInstanceOf(EtcdPermissionDeniedError);
    }
    const unknown = `/_etcd/registry/${"0".repeat(31)}1/members/8e9e05c52164694d`;
    await expect(client.put(unknown).value("infra9=http://10.0.0.9:2380")).rejects.toThrow("etcdserver: requested lease not found");
  }, 120_000);
});
