// The dashboard (/_dashboard) in a real headless Chromium, against a server
// of its own started as `npm start` serves it (DASHBOARD and DEBUG_FAULTS on,
// fresh state): it shows three members and exactly one leader; a v3 key
// created and then changed through the page, each behind its confirmation,
// shows in the key browser, in the key's history and in the live feed (a
// canceled delete changes nothing); a v2 key created through the page shows
// in the v2 tree; a discovery token shows its size and registrations; after
// the leader is crashed through the fault API, the page shows that member
// restarted and another one leading in a later term, and the feed carries
// on. Ends with the screenshot the README shows. With auth on (sign-in,
// permission denied in place): dashboard-auth.test.ts.
//
// Every wait is for a condition on the page (polled: Playwright's waitFor,
// vitest's expect.poll), never a fixed sleep.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium } from "./harness/browser";
import { send } from "./harness/http";
import { repoRoot, startOurs, type Server } from "./harness/processes";

// The README's picture is only rewritten when asked (UPDATE_SCREENSHOT=1):
// ports and times differ at every run, and a test run should not leave the
// work tree changed.
const SCREENSHOT =
  process.env.UPDATE_SCREENSHOT === "1" ? path.join(repoRoot, "docs", "dashboard.png") : path.join(os.tmpdir(), `dashboard-${process.pid}.png`);
const KEY = "dashboard/greeting";
const b64 = (s: string) => Buffer.from(s).toString("base64");

/** A member as the members table shows it. */
interface MemberRow {
  id: string;
  term: number;
  startTime: number;
  leader: boolean;
  activity: string;
}

/** Polls `read` until its value passes the assertion that follows (30 s: a first election, or a restart and a new one). */
const until = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 30_000, interval: 100 });

describe.skipIf(inject("compatOursKind") !== "worker")("the dashboard in a browser", () => {
  let server: Server;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    [server, browser] = await Promise.all([startOurs(), launchChromium()]);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("pageerror", (err) => pageErrors.push(err.message));
    // A first election, a restart and a new election all fit well within this.
    page.setDefaultTimeout(30_000);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** Answers the page's confirmation with `button`, after checking what it asks. */
  async function answer(question: RegExp, button: "#confirm-yes" | "#confirm-no" = "#confirm-yes"): Promise<void> {
    await page.locator("#confirm-dialog").waitFor({ state: "visible" });
    expect(await page.locator("#confirm-message").textContent()).toMatch(question);
    await page.click(button);
  }

  const members = () =>
    page.locator("#members tbody tr").evaluateAll((rows) =>
      rows.map((row): MemberRow => ({
        id: row.getAttribute("data-member-id") ?? "",
        term: Number(row.getAttribute("data-term")),
        startTime: Number(row.getAttribute("data-start-time")),
        leader: (row.getAttribute("class") ?? "").split(" ").includes("leader"),
        activity: row.getAttribute("data-activity") ?? "",
      })),
    );
  const leaders = async () => (await members()).filter((m) => m.leader);
  const count = (selector: string) => () => page.locator(selector).count();

  it("shows three members and exactly one leader", async () => {
    await page.goto(`${server.url}/_dashboard`);
    await until(members).toHaveLength(3);
    await until(leaders).toHaveLength(1);
    expect(await page.locator("#members tbody tr.leader .badge").textContent()).toBe("leader");
    expect(await page.locator("#members-summary").textContent()).toMatch(/^leader member-\d · term \d+ · 3 of 3 up$/);
  });

  it("creates and changes a v3 key behind a confirmation, and shows it in the key browser, its history and the live feed", async () => {
    await page.fill("#feed-prefix", "dashboard/");
    await page.click("#feed-toggle");
    await until(() => page.locator("#feed-status").textContent()).toMatch(/^watching keys starting with "dashboard\/" from revision \d+$/);

    await page.fill("#v3-key", KEY);
    await page.fill("#v3-value", "hello");
    await page.click("#v3-save");
    await answer(/^Create v3 key "dashboard\/greeting" to the value "hello"\?$/);
    await page.locator(`#v3-keys tr[data-key="${KEY}"]`).waitFor();
    await page.locator(`#feed tr[data-key="${KEY}"]`).waitFor();
    expect(await page.locator("#v3-message").textContent()).toMatch(/^created at revision \d+$/);

    await page.fill("#v3-value", "hello again");
    await page.click("#v3-save");
    await answer(/^Change v3 key "dashboard\/greeting" \(version 1\) to the value "hello again"\?$/);
    await until(count("#v3-history li")).toBe(2);
    await until(count(`#feed tr[data-key="${KEY}"]`)).toBe(2);
    expect(await page.locator("#v3-history").innerText()).toMatch(/v2 \(now\): hello again\n.*v1: hello$/);
    expect(await page.locator("#feed tbody tr").first().innerText()).toMatch(/PUT\s+dashboard\/greeting\s+hello again/);

    // Canceling the confirmation changes nothing.
    await page.click("#v3-delete");
    await answer(/^Delete v3 key "dashboard\/greeting" \(version 2\)\?$/, "#confirm-no");
    await until(() => page.locator("#v3-message").textContent()).toBe("nothing changed");
    const still = JSON.parse((await send(server.url, { method: "POST", path: "/v3/kv/range", body: JSON.stringify({ key: b64(KEY) }), contentType: "application/json" }, 10_000)).body);
    expect(still.kvs?.[0]?.value).toBe(b64("hello again"));
  });

  it("creates a v2 key behind a confirmation and shows it in the v2 tree", async () => {
    await page.click("#tab-v2");
    await page.fill("#v2-key", "/dashboard/note");
    await page.fill("#v2-value", "from the v2 tree");
    await page.click("#v2-save");
    await answer(/^Create v2 key "\/dashboard\/note" to the value "from the v2 tree"\?$/);
    await page.locator('#v2-keys tr[data-key="/dashboard/note"]').waitFor();
    expect(await page.locator("#v2-dir").inputValue()).toBe("/dashboard");
    await page.click("#tab-v3");
  });

  it("looks up a discovery token: its size and who has registered", async () => {
    const created = await send(server.url, { method: "GET", path: "/new?size=3" }, 30_000);
    expect(created.status, created.body).toBe(200);
    const url = created.body.trim();
    const token = url.slice(url.lastIndexOf("/") + 1);
    const register = { method: "PUT", path: `/${token}/6e3bd23ae5f1eae0`, body: `value=${encodeURIComponent("infra0=http://10.0.1.10:2380")}`, contentType: "application/x-www-form-urlencoded" };
    const registered = await send(server.url, register, 15_000);
    expect(registered.status, registered.body).toBe(201);

    await page.fill("#discovery-token", url);
    await page.click("#discovery-form button");
    await until(() => page.locator("#discovery-summary").textContent()).toMatch(/^size 3: 1 registered, waiting for 2 more; expires /);
    expect(await page.locator("#discovery-members li").allInnerTexts()).toEqual([expect.stringMatching(/^6e3bd23ae5f1eae0\s+infra0=http:\/\/10\.0\.1\.10:2380\s+\(index \d+\)$/)]);
  });

  // (A write wakes the cluster for about a second, less than the page's
  // polling interval, so the page may never show it awake: the workers
  // tests check waking.)
  it("shows every member quiescent once the cluster is idle", async () => {
    await until(members).toSatisfy((rows: MemberRow[]) => rows.length === 3 && rows.every((m) => m.activity === "quiescent"));
  });

  it("shows the crashed leader restarted and a leader elected in a later term; the live feed carries on", async () => {
    // A quiet cluster's leader that restarts comes back leading in the same
    // term (README, "Quiescence"), so the crash comes right after a write,
    // while the cluster is awake and a restart means an election.
    const wake = await send(server.url, { method: "POST", path: "/v3/kv/put", body: JSON.stringify({ key: b64("dashboard/wake"), value: b64("2") }), contentType: "application/json" }, 15_000);
    expect(wake.status, wake.body).toBe(200);
    const [before] = await leaders();
    const crash = await send(server.url, { method: "POST", path: `/_debug/members/${before.id}/crash` }, 10_000);
    expect(crash.status, crash.body).toBe(200);

    // A new election: one leader, in a later term (the restarted member may win it too).
    await until(leaders).toSatisfy(([leader, ...more]: MemberRow[]) => leader !== undefined && more.length === 0 && leader.term > before.term);
    await until(members).toSatisfy((rows: MemberRow[]) => rows.some((m) => m.id === before.id && m.startTime > before.startTime));
    const [after] = await leaders();
    await until(() => page.locator("#members-summary").textContent()).toContain(`term ${after.term} · 3 of 3 up`);

    // The watch was served by the member that crashed: the feed reopens it from the next revision.
    const put = await send(server.url, { method: "POST", path: "/v3/kv/put", body: JSON.stringify({ key: b64("dashboard/after-crash"), value: b64("still here") }), contentType: "application/json" }, 15_000);
    expect(put.status, put.body).toBe(200);
    await page.locator('#feed tr[data-key="dashboard/after-crash"]').waitFor();
    expect(await page.locator(`#feed tr[data-key="${KEY}"]`).count()).toBe(2);
  });

  it("ran without a script error, and saves the screenshot the README shows", async () => {
    expect(pageErrors).toEqual([]);
    // Two samples at least, so that both charts draw a line.
    await until(() => page.locator("#latency-chart polyline").getAttribute("points")).toContain(" ");
    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(fs.statSync(SCREENSHOT).size).toBeLessThan(400_000);
  });
});
