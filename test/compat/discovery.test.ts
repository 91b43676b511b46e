// Real etcd 3.4 servers bootstrap a cluster through OUR discovery service:
// a token from /new on the Worker as `npm start` serves it, three `etcd
// --discovery <token URL>` processes on 127.0.0.1, and etcdctl (API v3) to
// check that they formed one healthy cluster. A fourth server on the full
// token must not become a member: etcd 3.4 falls back to a v2 proxy by
// default, and exits 1 with --discovery-fallback=exit.
//
// Every etcd runs in its own process group and temp dir; all are killed and
// removed after each test, on failure too, and on process exit.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, inject, it } from "vitest";
import { send } from "./harness/http";
import { freePort } from "./harness/processes";

const ours = inject("compatOursUrl");
const TOKEN_URL = new RegExp(`^${ours.replace(/[.]/g, "\\.")}/([0-9a-f]{32})$`);

interface Member {
  name: string;
  client: string;
  peer: string;
  child: ChildProcess;
  log: string;
  exited: Promise<number | null>;
}

const live: { child: ChildProcess; dir: string }[] = [];

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function cleanup(): void {
  for (const { child, dir } of live.splice(0)) {
    killGroup(child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
process.on("exit", cleanup);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startMember(name: string, discovery: string, extra: string[] = []): Promise<Member> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `compat-discovery-${name}-`));
  const client = `http://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  const log = path.join(dir, "etcd.log");
  const fd = fs.openSync(log, "a");
  const args = [
    "--name", name,
    "--data-dir", path.join(dir, "data"),
    "--listen-client-urls", client,
    "--advertise-client-urls", client,
    "--listen-peer-urls", peer,
    "--initial-advertise-peer-urls", peer,
    "--discovery", discovery,
    ...extra,
  ];
  const child = spawn("etcd", args, { cwd: dir, env: { ...process.env }, detached: true, stdio: ["ignore", fd, fd] });
  fs.closeSync(fd);
  live.push({ child, dir });
  const exited = new Promise<number | null>((resolve) => {
    child.on("exit", (code) => resolve(code));
    child.on("error", () => resolve(-1));
  });
  return { name, client, peer, child, log, exited };
}

function logOf(m: Member): string {
  try {
    return fs.readFileSync(m.log, "utf8");
  } catch {
    return "";
  }
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function etcdctl(endpoints: Member[], ...args: string[]): Promise<RunResult> {
  const all = ["--endpoints", endpoints.map((m) => m.client).join(","), "--dial-timeout=2s", "--command-timeout=3s", ...args];
  return new Promise((resolve) => {
    const child = spawn("etcdctl", all, { env: { ...process.env, ETCDCTL_API: "3" }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (c) => (stdout += Buffer.from(c).toString("utf8")));
    child.stderr?.on("data", (c) => (stderr += Buffer.from(c).toString("utf8")));
    const timer = setTimeout(() => killGroup(child), 15_000);
    child.on("error", (e) => resolve({ code: -1, stdout, stderr: stderr + String(e) }));
    child.on("exit", (code) => {
      clearTimeout(timer);
      setTimeout(() => resolve({ code, stdout, stderr }), 50);
    });
  });
}

/** Polls `check` until it returns a value, or fails with every member's last log lines. */
async function eventually<T>(what: string, members: Member[], timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) {
      const logs = members.map((m) => `--- ${m.name}\n${logOf(m).split("\n").slice(-15).join("\n")}`).join("\n");
      throw new Error(`${what}: not reached within ${timeoutMs} ms\n${logs}`);
    }
    await sleep(300);
  }
}

async function newToken(size: number): Promise<{ url: string; token: string }> {
  const res = await send(ours, { method: "GET", path: `/new?size=${size}` });
  expect(res.status, res.body).toBe(200);
  const m = TOKEN_URL.exec(res.body);
  expect(m, res.body).not.toBeNull();
  return { url: res.body, token: m![1] };
}

/** `member list` lines ("<id>, started, <name>, <peer>, <client>, false") once all are started with their client URLs. */
async function startedMembers(members: Member[]): Promise<string[]> {
  return eventually(`${members.length} started members`, members, 40_000, async () => {
    const r = await etcdctl(members, "member", "list");
    const lines = r.stdout.trim().split("\n").filter((l) => l !== "");
    // A member shows "started" once its name is published; its client URL
    // can follow a moment later. Wait for both.
    const ready = (l: string) => l.includes(", started, ") && (l.split(", ")[4] ?? "") !== "";
    if (r.code !== 0 || lines.length !== members.length || !lines.every(ready)) return undefined;
    return lines.sort((a, b) => a.split(", ")[2].localeCompare(b.split(", ")[2]));
  });
}

function expectedLines(members: Member[], ids: string[]): string[] {
  return members.map((m, i) => `${ids[i]}, started, ${m.name}, ${m.peer}, ${m.client}, false`);
}

async function expectHealthy(members: Member[]): Promise<void> {
  const r = await etcdctl(members, "endpoint", "health");
  expect(r.code, r.stderr).toBe(0);
  // etcdctl 3.4 prints the health lines on stderr, in completion order.
  const lines = (r.stdout + r.stderr).trim().split("\n").sort();
  const expected = members.map((m) => m.client).sort();
  expect(lines.map((l) => l.replace(/ took = .*$/, " took = <t>"))).toEqual(
    expected.map((c) => `${c} is healthy: successfully committed proposal: took = <t>`),
  );
}

/** The registry's member keys (ids) and values, from GET <token URL>. */
async function registered(token: string): Promise<Map<string, string>> {
  const res = await send(ours, { method: "GET", path: `/${token}` });
  expect(res.status, res.body).toBe(200);
  const nodes = (JSON.parse(res.body) as { node: { nodes?: { key: string; value: string }[] } }).node.nodes ?? [];
  const out = new Map<string, string>();
  for (const n of nodes) {
    expect(n.key.startsWith(`/_etcd/registry/${token}/`), n.key).toBe(true);
    out.set(n.key.slice(`/_etcd/registry/${token}/`.length), n.value);
  }
  return out;
}

describe.skipIf(inject("compatOursKind") !== "worker")("etcd 3.4 bootstraps through our discovery service", () => {
  afterEach(cleanup);

  it("three members form one healthy cluster; a fourth becomes a proxy, or exits with fallback=exit", async () => {
    const { url, token } = await newToken(3);
    const members = await Promise.all(["d1", "d2", "d3"].map((n) => startMember(n, url)));

    const lines = await startedMembers(members);
    const ids = lines.map((l) => l.split(", ")[0]);
    expect(lines).toEqual(expectedLines(members, ids));
    await expectHealthy(members);

    // The registry holds exactly the three members, under the ids etcd uses.
    const reg = await registered(token);
    expect([...reg.entries()].sort()).toEqual(members.map((m, i) => [ids[i], `${m.name}=${m.peer}`]).sort());
    for (const m of members) expect(logOf(m)).toContain("found 3 needed peer(s)");

    // A fourth server on the full token: etcd 3.4's default fallback is a v2-only proxy.
    const fourth = await startMember("d4", url);
    await eventually("the fourth server proxying", [fourth], 20_000, async () =>
      logOf(fourth).includes('v2 proxy started listening on client requests on "' + fourth.client + '"') ? true : undefined,
    );
    expect(logOf(fourth)).toContain("discovery cluster full, falling back to proxy");
    expect(fourth.child.exitCode).toBeNull();
    // It forwards client requests to the cluster, which stays at three members.
    const proxied = await send(fourth.client, { method: "GET", path: "/version" }, 5000);
    expect(proxied.status).toBe(200);
    expect(JSON.parse(proxied.body)).toEqual({ etcdserver: "3.4.23", etcdcluster: "3.4.0" });
    expect(await startedMembers(members)).toEqual(lines);
    expect((await registered(token)).size).toBe(3);

    // With --discovery-fallback=exit it refuses to start.
    const fifth = await startMember("d5", url, ["--discovery-fallback", "exit"]);
    const code = await Promise.race([fifth.exited, sleep(20_000).then(() => "still running")]);
    expect(code, logOf(fifth)).toBe(1);
    expect(logOf(fifth)).toContain("discovery: cluster is full");
    expect((await registered(token)).size).toBe(3);
  });

  it("a size-1 token bootstraps a single-member cluster", async () => {
    const { url, token } = await newToken(1);
    const solo = await startMember("solo", url);
    const lines = await startedMembers([solo]);
    const id = lines[0].split(", ")[0];
    expect(lines).toEqual(expectedLines([solo], [id]));
    await expectHealthy([solo]);
    expect([...(await registered(token)).entries()]).toEqual([[id, `solo=${solo.peer}`]]);
  });

  it("an unknown token stops etcd with etcd's key-not-found error", async () => {
    const { token } = await newToken(1);
    const unknown = token.split("").reverse().join("");
    const m = await startMember("lost", `${ours}/${unknown}`);
    const code = await Promise.race([m.exited, sleep(20_000).then(() => "still running")]);
    expect(code, logOf(m)).toBe(1);
    expect(logOf(m)).toContain("100: Key not found");
  });
});
