// etcdctl 3.4 in v2 mode (ETCDCTL_API=2) against our server, and the same
// assertions against etcd to prove they are right. etcdctl syncs its endpoint
// list from /v2/members before every command (no --no-sync), so every command
// here also checks that the clientURLs a server reports lead back to it.
//
// Our clusters run twice: the default one at the server's root, and a named
// one with --endpoints <origin>/clusters/compat-named (its members report that
// URL, prefix included, as their client URL, so the endpoint sync keeps it).
//
// Deliberate difference: etcd's test instance has one member, ours three.
// `member list` prints the 3 configured members (exact lines, one of them
// isLeader=true) and `cluster-health` checks all 3.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { configuredMembers, oursClusters } from "./harness/clusters";
import { targets } from "./harness/compare";
import { send } from "./harness/http";
import { currentIndex, kill, pause, run, start } from "./harness/run";

const t = targets();
const ENV = { ETCDCTL_API: "2" };
const ours = oursClusters().map((c) => [`ours [${c.label}]`, t.ours + c.root, t.oursKind === "worker" ? c.name : ""] as const);

describe.each([["etcd", t.etcd, ""] as const, ...ours])("etcdctl v2 against %s", (_label, url, cluster) => {
  const p = `/ctl-${Math.random().toString(36).slice(2, 8)}`;
  const ctl = (...args: string[]) => run("etcdctl", ["--endpoints", url, ...args], ENV);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "compat-etcdctl-"));
  afterAll(async () => {
    fs.rmSync(tmp, { recursive: true, force: true });
    // The TTL keys would otherwise expire during a later sequence and shift its indexes.
    await ctl("rm", "--recursive", p);
  });

  it("set, get, mk, mkdir, update, ls, rm, rmdir", async () => {
    expect(await ctl("set", `${p}/a`, "hello")).toEqual({ code: 0, stdout: "hello\n", stderr: "" });
    expect(await ctl("get", `${p}/a`)).toEqual({ code: 0, stdout: "hello\n", stderr: "" });
    let idx = await currentIndex(url);
    expect(await ctl("get", `${p}/nope`)).toEqual({ code: 4, stdout: "", stderr: `Error:  100: Key not found (${p}/nope) [${idx}]\n` });
    expect(await ctl("mk", `${p}/b`, "v")).toEqual({ code: 0, stdout: "v\n", stderr: "" });
    idx = await currentIndex(url);
    expect(await ctl("mk", `${p}/b`, "v")).toEqual({ code: 4, stdout: "", stderr: `Error:  105: Key already exists (${p}/b) [${idx}]\n` });
    expect(await ctl("mkdir", `${p}/d`)).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await ctl("set", `${p}/d/x`, "in-dir")).toEqual({ code: 0, stdout: "in-dir\n", stderr: "" });
    expect(await ctl("ls", "-r", "--sort", p)).toEqual({ code: 0, stdout: `${p}/a\n${p}/b\n${p}/d\n${p}/d/x\n`, stderr: "" });
    expect(await ctl("ls", "--sort", p)).toEqual({ code: 0, stdout: `${p}/a\n${p}/b\n${p}/d\n`, stderr: "" });
    expect(await ctl("update", `${p}/a`, "upd")).toEqual({ code: 0, stdout: "upd\n", stderr: "" });
    idx = await currentIndex(url);
    expect(await ctl("update", `${p}/zz`, "x")).toEqual({ code: 4, stdout: "", stderr: `Error:  100: Key not found (${p}/zz) [${idx}]\n` });
    expect(await ctl("get", p)).toEqual({ code: 1, stdout: "", stderr: `${p}: is a directory\n` });
    expect(await ctl("rm", `${p}/b`)).toEqual({ code: 0, stdout: "PrevNode.Value: v\n", stderr: "" });
    idx = await currentIndex(url);
    expect(await ctl("rmdir", `${p}/d`)).toEqual({ code: 4, stdout: "", stderr: `Error:  108: Directory not empty (${p}/d) [${idx}]\n` });
    expect(await ctl("rm", "--recursive", `${p}/d`)).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await ctl("mkdir", `${p}/e`)).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await ctl("rmdir", `${p}/e`)).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await ctl("set", "--swap-with-value", "upd", `${p}/a`, "swapped")).toEqual({ code: 0, stdout: "swapped\n", stderr: "" });
    idx = await currentIndex(url);
    expect(await ctl("set", "--swap-with-value", "upd", `${p}/a`, "again")).toEqual({
      code: 4,
      stdout: "",
      stderr: `Error:  101: Compare failed ([upd != swapped]) [${idx}]\n`,
    });
  });

  it("set --ttl and -o extended", async () => {
    expect(await ctl("set", "--ttl", "100", `${p}/t`, "tv")).toEqual({ code: 0, stdout: "tv\n", stderr: "" });
    const idx = await currentIndex(url);
    const r = await ctl("-o", "extended", "get", `${p}/t`);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout.replace(/^TTL: (99|100)$/m, "TTL: <99..100>")).toBe(
      `Key: ${p}/t\nCreated-Index: ${idx}\nModified-Index: ${idx}\nTTL: <99..100>\nIndex: ${idx}\n\ntv\n`,
    );
  });

  it("watch (in the background, then set)", async () => {
    const w = start("etcdctl", ["--endpoints", url, "watch", `${p}/w`], ENV);
    await pause(1500);
    expect(await ctl("set", `${p}/w`, "watched")).toEqual({ code: 0, stdout: "watched\n", stderr: "" });
    const timer = setTimeout(() => kill(w.child), 10_000);
    const r = await w.done;
    clearTimeout(timer);
    expect(r).toEqual({ code: 0, stdout: "watched\n", stderr: "" });
  });

  it("watch --after-index replays history", async () => {
    const idx = await currentIndex(url);
    await ctl("set", `${p}/h`, "first");
    await ctl("set", `${p}/h`, "second");
    const r = await run("etcdctl", ["--endpoints", url, "watch", "--after-index", String(idx), `${p}/h`], ENV, 10_000);
    expect(r).toEqual({ code: 0, stdout: "first\n", stderr: "" });
  });

  it("exec-watch runs a command with ETCD_WATCH_* variables", async () => {
    const out = path.join(tmp, "exec-watch.txt");
    const script = path.join(tmp, "on-event.sh");
    fs.writeFileSync(script, `printf '%s|%s|%s\\n' "$ETCD_WATCH_ACTION" "$ETCD_WATCH_KEY" "$ETCD_WATCH_VALUE" >> '${out}'\n`);
    // Surprise in etcdctl 3.4: the documented `exec-watch <key> -- <cmd>`
    // does not work (Go's flag parser eats the "--", and etcdctl then takes
    // the LAST argument as the key). The form that works is `<cmd> <key>`.
    const w = start("etcdctl", ["--endpoints", url, "exec-watch", "sh", script, `${p}/x`], ENV);
    try {
      await pause(1500);
      await ctl("set", `${p}/x`, "exec value");
      const deadline = Date.now() + 10_000;
      while (!(fs.existsSync(out) && fs.readFileSync(out, "utf8").includes("\n")) && Date.now() < deadline) await pause(100);
    } finally {
      kill(w.child);
    }
    expect(fs.readFileSync(out, "utf8")).toBe(`set|${p}/x|exec value\n`);
  });

  it.skipIf(cluster === "")("member list and cluster-health (endpoint sync): our 3 members", async () => {
    const leader = await send(url, { method: "GET", path: `${new URL(url).pathname.replace(/\/$/, "")}/v2/members/leader` });
    expect(leader.status, leader.body).toBe(200);
    const leaderId = (JSON.parse(leader.body) as { id: string }).id;
    const members = configuredMembers(cluster);
    expect(members.map((m) => m.id)).toContain(leaderId);
    expect(await ctl("member", "list")).toEqual({
      code: 0,
      stdout: members.map((m) => `${m.id}: name=${m.name} peerURLs=${m.peerURLs.join(",")} clientURLs=${url} isLeader=${m.id === leaderId}\n`).join(""),
      stderr: "",
    });
    expect(await ctl("cluster-health")).toEqual({
      code: 0,
      stdout: `${members.map((m) => `member ${m.id} is healthy: got healthy result from ${url}\n`).join("")}cluster is healthy\n`,
      stderr: "",
    });
    const dbg = await ctl("--debug", "get", `${p}/a`);
    expect(dbg.code).toBe(0);
    // --debug logs to stderr: one endpoint per member, all of them this URL.
    expect(dbg.stderr).toContain(`start to sync cluster using endpoints(${url})\n`);
    expect(dbg.stderr).toContain(`got endpoints(${members.map(() => url).join(",")}) after sync\n`);
  });

  it.skipIf(cluster !== "")("member list and cluster-health (endpoint sync)", async () => {
    const ml = await ctl("member", "list");
    expect(ml.stderr).toBe("");
    expect(ml.code).toBe(0);
    // Member id, name and peer URL are per cluster; the client URL must be
    // the address we used, and the single member must be the leader.
    expect(ml.stdout).toMatch(new RegExp(`^[0-9a-f]{1,16}: name=\\S* peerURLs=\\S+ clientURLs=${url.replace(/[.]/g, "\\.")} isLeader=true\\n$`));
    const id = ml.stdout.split(":")[0];
    expect(await ctl("cluster-health")).toEqual({
      code: 0,
      stdout: `member ${id} is healthy: got healthy result from ${url}\ncluster is healthy\n`,
      stderr: "",
    });
    const dbg = await ctl("--debug", "get", `${p}/a`);
    expect(dbg.code).toBe(0);
    // --debug logs to stderr.
    expect(dbg.stderr).toContain(`got endpoints(${url}) after sync\n`);
  });
});
