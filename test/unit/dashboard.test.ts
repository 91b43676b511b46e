/**
 * The dashboard's routes and files without a cluster: off unless DASHBOARD is
 * "true" (then 404 like any unknown path), the page for each cluster, every
 * script a module that parses and imports only files that are served, and
 * the members view made of the members' answers. The page itself in a
 * browser: test/compat/dashboard.test.ts.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app.ts";
import { ASSETS } from "../../src/dashboard/assets.ts";
import { summarize, type MemberAnswer } from "../../src/dashboard/cluster-view.ts";
import type { Env } from "../../src/env.ts";
import type { ReplicaStatus } from "../../src/server/api.ts";
import type { MemberMetrics } from "../../src/server/metrics.ts";

/** Named clusters are served once they exist: every replica here says it does, and nothing more is asked of it. */
const existingCluster = { getByName: () => ({ created: async () => true }) };
const get = (path: string, vars: Record<string, string>) =>
  app.fetch(new Request(`http://h${path}`), { ...vars, REPLICA: existingCluster } as unknown as Env);

describe("dashboard routes", () => {
  const paths = ["/_dashboard", "/_dashboard/", "/_dashboard/assets/main.js", "/_dashboard/api/cluster", "/clusters/app1/_dashboard"];

  for (const vars of [{}, { DASHBOARD: "false" }] as Record<string, string>[]) {
    it(`answer 404 as any unknown path with ${JSON.stringify(vars)}`, async () => {
      for (const p of paths) {
        const res = await get(p, vars);
        expect([p, res.status, await res.text()]).toEqual([p, 404, "404 page not found\n"]);
      }
    });
  }

  it("serve the page of the default cluster and of a named one, with the cluster's API prefix", async () => {
    const res = await get("/_dashboard", { DASHBOARD: "true" });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("Content-Security-Policy")).toContain("default-src 'self'");
    const page = await res.text();
    expect(page).toContain('<body data-base="" data-cluster="default">');
    expect(page).toContain('<script type="module" src="/_dashboard/assets/main.js">');

    const named = await (await get("/clusters/app1/_dashboard/", { DASHBOARD: "true" })).text();
    expect(named).toContain('<body data-base="/clusters/app1" data-cluster="app1">');
    expect(named).toContain('href="/clusters/app1/_dashboard/assets/style.css"');
  });

  it("serve every file with its type, and 404 for any other", async () => {
    for (const [file, asset] of Object.entries(ASSETS)) {
      const res = await get(`/_dashboard/assets/${file}`, { DASHBOARD: "true" });
      expect([file, res.status, res.headers.get("Content-Type")]).toEqual([file, 200, asset.contentType]);
      expect(await res.text()).toBe(asset.body);
    }
    expect((await get("/_dashboard/assets/nope.js", { DASHBOARD: "true" })).status).toBe(404);
    expect((await get("/_dashboard/nope", { DASHBOARD: "true" })).status).toBe(404);
  });

  it("refuse changes to the page", async () => {
    const res = await app.fetch(new Request("http://h/_dashboard", { method: "POST" }), { DASHBOARD: "true" } as unknown as Env);
    expect(res.status).toBe(405);
  });
});

describe("dashboard scripts", () => {
  const scripts = Object.keys(ASSETS).filter((f) => f.endsWith(".js"));

  it("parse as ES modules", () => {
    // Written out as .mjs files and checked by Node's own parser, the same grammar the browser applies.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashboard-scripts-"));
    try {
      for (const file of scripts) {
        const target = path.join(dir, file.replace(/\.js$/, ".mjs"));
        fs.writeFileSync(target, ASSETS[file].body);
        const check = spawnSync(process.execPath, ["--check", target], { encoding: "utf8" });
        expect([file, check.status, check.stderr]).toEqual([file, 0, ""]);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("import only files that are served", () => {
    for (const file of scripts) {
      for (const [, name] of ASSETS[file].body.matchAll(/^import .* from "\.\/([^"]+)";$/gm)) {
        expect(`${file} imports ${name}: ${name in ASSETS}`).toBe(`${file} imports ${name}: true`);
      }
    }
  });
});

describe("the members view", () => {
  const member = (id: string, name: string) => ({ id, name, peerURLs: [] });
  const up = (id: string, name: string, figures: Partial<MemberMetrics & { quiescent: boolean }>): MemberAnswer => ({
    member: member(id, name),
    status: { state: figures.isLeader ? "StateLeader" : "StateFollower", startTime: 1000 } as ReplicaStatus,
    metrics: { memberId: id, leader: "", isLeader: false, term: 1, commitIndex: 0, appliedIndex: 0, ...figures } as MemberMetrics,
  });

  it("names the leader of the highest term, measures lag from the highest commit index, and keeps a member that did not answer", () => {
    const view = summarize("c", 5000, [
      up("a", "member-0", { isLeader: true, term: 2, commitIndex: 9, appliedIndex: 9 }),
      up("b", "member-1", { isLeader: true, term: 3, commitIndex: 12, appliedIndex: 10, quiescent: true }),
      { member: member("d", "member-2"), down: true },
    ]);
    expect(view.leader).toBe("b");
    expect(view.term).toBe(3);
    expect(view.members.map((m) => [m.id, m.up, m.lag, m.quiescent, m.role])).toEqual([
      ["a", true, 3, false, "StateLeader"],
      ["b", true, 2, true, "StateLeader"],
      ["d", false, undefined, undefined, undefined],
    ]);
  });

  it("has no leader while no member leads", () => {
    const view = summarize("c", 5000, [up("a", "member-0", { term: 4 }), { member: member("b", "member-1"), down: true }]);
    expect([view.leader, view.term]).toEqual(["", 4]);
  });

  it("says where each member was placed, up or down", () => {
    const where: Record<string, string> = { a: "enam", b: "weur" };
    const view = summarize("c", 5000, [up("a", "member-0", { term: 4 }), { member: member("b", "member-1"), down: true }], (id) => where[id] ?? "");
    expect(view.members.map((m) => [m.id, m.location])).toEqual([
      ["a", "enam"],
      ["b", "weur"],
    ]);
  });
});
