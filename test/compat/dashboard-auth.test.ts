// The dashboard with etcd auth on, in a real headless Chromium, against a
// server of its own (as test/compat/dashboard.test.ts starts one): v2 and v3
// auth enabled, a root user and a user "reader" whose role may read the keys
// under app/ only (v3: the range [app/, app0); v2: /app and /app/*), the
// guest role stripped of its v2 permissions. The page asks for credentials
// (a request was refused) while the members table keeps working without
// any; a wrong password is told on the form; signed in as reader, it lists
// the keys under app/, and shows "permission denied" in place for every key,
// for secret/, for a watch on secret/ and for the v2 directory /secret,
// while a watch on app/ shows a put; when the cluster drops every token (root
// disables and enables auth, as etcd does) the page signs in again once by
// itself; signing out asks again and shows nothing the user saw.
//
// Every wait is for a condition on the page (polled: Playwright's waitFor,
// vitest's expect.poll), never a fixed sleep.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium } from "./harness/browser";
import { send } from "./harness/http";
import { startOurs, type Server } from "./harness/processes";

const ROOT = { name: "root", password: "root-pw" };
const READER = { name: "reader", password: "reader-pw" };
const b64 = (s: string) => Buffer.from(s).toString("base64");
const basic = (u: { name: string; password: string }) => `Basic ${Buffer.from(`${u.name}:${u.password}`).toString("base64")}`;

/** Polls `read` until its value passes the assertion that follows. */
const until = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 30_000, interval: 100 });

describe.skipIf(inject("compatOursKind") !== "worker")("the dashboard with auth on", () => {
  let server: Server;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let authenticates = 0;

  /** A v3 gateway call that must succeed. */
  async function v3(path: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
    const r = await send(server.url, { method: "POST", path: `/v3/${path}`, body: JSON.stringify(body), contentType: "application/json", headers: token ? { Authorization: token } : undefined }, 15_000);
    expect(r.status, `${path}: ${r.body}`).toBe(200);
    return JSON.parse(r.body) as Record<string, unknown>;
  }

  /** A v2 call that must answer `status`. */
  async function v2(method: string, path: string, body: string, contentType: string, status: number, authorization?: string): Promise<void> {
    const r = await send(server.url, { method, path, body, contentType, headers: authorization ? { Authorization: authorization } : undefined }, 15_000);
    expect(r.status, `${method} ${path}: ${r.body}`).toBe(status);
  }
  const v2Key = (key: string, value: string) => v2("PUT", `/v2/keys${key}`, `value=${value}`, "application/x-www-form-urlencoded", 201);
  const v2Auth = (method: string, path: string, body: unknown, status: number, authorization?: string) => v2(method, `/v2/auth${path}`, JSON.stringify(body), "application/json", status, authorization);

  const rootToken = async () => (await v3("auth/authenticate", ROOT)).token as string;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startOurs(), launchChromium()]);

    for (const [key, value] of [["app/one", "1"], ["app/two", "2"], ["secret/x", "hidden"]]) await v3("kv/put", { key: b64(key), value: b64(value) });
    await v3("auth/user/add", ROOT);
    await v3("auth/user/grant", { user: ROOT.name, role: "root" });
    await v3("auth/role/add", { name: "reader" });
    await v3("auth/role/grant", { name: "reader", perm: { permType: "READ", key: b64("app/"), range_end: b64("app0") } });
    await v3("auth/user/add", READER);
    await v3("auth/user/grant", { user: READER.name, role: "reader" });
    await v3("auth/enable", {});

    await v2Key("/app/one", "1");
    await v2Key("/secret/x", "hidden");
    await v2Auth("PUT", `/users/${ROOT.name}`, { user: ROOT.name, password: ROOT.password }, 201);
    await v2Auth("PUT", "/roles/reader", { role: "reader", permissions: { kv: { read: ["/app", "/app/*"], write: [] } } }, 201);
    await v2Auth("PUT", `/users/${READER.name}`, { user: READER.name, password: READER.password, roles: ["reader"] }, 200); // with roles: 200, as etcd answers
    await v2Auth("PUT", "/enable", {}, 200);
    await v2Auth("PUT", "/roles/guest", { role: "guest", revoke: { kv: { read: ["/*"], write: ["/*"] } } }, 200, basic(ROOT));

    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("pageerror", (err) => pageErrors.push(err.message));
    page.on("request", (req) => {
      if (req.url().endsWith("/v3/auth/authenticate")) authenticates++;
    });
    page.setDefaultTimeout(30_000);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  const text = (selector: string) => () => page.locator(selector).textContent();
  const rowKeys = (table: string) => page.locator(`${table} tbody tr[data-key]`).evaluateAll((rows) => rows.map((r) => r.getAttribute("data-key")));
  async function searchV3(prefix: string): Promise<void> {
    await page.fill("#v3-prefix", prefix);
    await page.click("#v3-search button");
  }

  it("asks for credentials when a request is refused, while the members table needs none", async () => {
    await page.goto(`${server.url}/_dashboard`);
    await page.locator("#signin-panel").waitFor({ state: "visible" });
    await until(text("#v3-keys tr.refusal")).toBe("sign in to see every key");
    await until(() => page.locator("#members tbody tr").count()).toBe(3);
    await until(text("#poll-status")).toMatch(/^updated /);
    expect(await page.locator("#session").isHidden()).toBe(true);
  });

  it("tells a wrong password on the form", async () => {
    await page.fill("#signin-user", READER.name);
    await page.fill("#signin-password", "not-the-password");
    await page.click("#signin-button");
    await until(text("#signin-message")).toBe("wrong user name or password");
    expect(await page.locator("#signin-panel").isVisible()).toBe(true);
    expect(await page.locator("#session").isHidden()).toBe(true);
  });

  it("signed in as reader, lists the keys it may read and shows permission denied in place for the others", async () => {
    await page.fill("#signin-password", READER.password);
    await page.click("#signin-button");
    await page.locator("#signin-panel").waitFor({ state: "hidden" });
    expect(await page.locator("#session-user").textContent()).toBe(READER.name);
    await until(text("#v3-keys tr.refusal")).toBe("permission denied: reader may not read every key; search a prefix it may read");

    await searchV3("app/");
    await until(() => rowKeys("#v3-keys")).toEqual(["app/one", "app/two"]);
    await page.click('#v3-keys tr[data-key="app/one"]');
    await until(() => page.locator("#v3-value").inputValue()).toBe("1");

    await searchV3("secret/");
    await until(text("#v3-keys tr.refusal")).toBe('permission denied: reader may not read keys starting with "secret/"');
    expect(await rowKeys("#v3-keys")).toEqual([]);

    // The members table and its polling carry on, as does the latency chart, timing what the reader may ask.
    await until(text("#poll-status")).toMatch(/^updated /);
    expect(await page.locator("#members tbody tr").count()).toBe(3);
    await until(text("#latency-label")).toBe("status latency");
    await until(() => page.locator("#latency-chart polyline").getAttribute("points")).toContain(" ");
  });

  it("watches with the reader's token: a put under app/ shows, a watch on secret/ is refused in place", async () => {
    await page.fill("#feed-prefix", "app/");
    await page.click("#feed-toggle");
    await until(text("#feed-status")).toMatch(/^watching keys starting with "app\/" from revision \d+$/);
    await v3("kv/put", { key: b64("app/three"), value: b64("3") }, await rootToken());
    await page.locator('#feed tr[data-key="app/three"]').waitFor();
    await page.click("#feed-toggle");

    await page.fill("#feed-prefix", "secret/");
    await page.click("#feed-toggle");
    await until(text("#feed-status")).toBe('watch refused: permission denied: reader may not read keys starting with "secret/"');
    expect(await page.locator("#feed-toggle").textContent()).toBe("watch");
  });

  it("browses v2 with the reader's basic auth: /app opens, / and /secret are refused in place", async () => {
    await page.click("#tab-v2");
    await until(text("#v2-keys tr.refusal")).toBe("permission denied: reader may not read /");
    await page.fill("#v2-dir", "/app");
    await page.click("#v2-open button >> text=open");
    await until(() => rowKeys("#v2-keys")).toEqual(["/app/one"]);
    await page.fill("#v2-dir", "/secret");
    await page.click("#v2-open button >> text=open");
    await until(text("#v2-keys tr.refusal")).toBe("permission denied: reader may not read /secret");
    expect(await page.locator("#v2-key").inputValue()).toBe("/secret/");
    await page.click("#tab-v3");
  });

  it("signs in again by itself, once, when the cluster drops its token", async () => {
    // Disabling and enabling v3 auth drops every token, as in etcd.
    const before = authenticates;
    const token = await rootToken();
    await v3("auth/disable", {}, token);
    await v3("auth/enable", {});
    await searchV3("app/");
    await until(() => rowKeys("#v3-keys")).toEqual(["app/one", "app/three", "app/two"]);
    expect(authenticates).toBe(before + 1);
    expect(await page.locator("#session-user").textContent()).toBe(READER.name);
  });

  it("signs out: asks again, and shows nothing the reader saw", async () => {
    await page.click("#signout");
    await page.locator("#signin-panel").waitFor({ state: "visible" });
    expect(await page.locator("#session").isHidden()).toBe(true);
    expect(await page.locator("#signin-password").inputValue()).toBe("");
    await until(text("#v3-keys tr.refusal")).toBe('sign in to see keys starting with "app/"');
    expect(await rowKeys("#v3-keys")).toEqual([]);
    expect(await page.locator("#feed tbody tr").count()).toBe(0);
    expect(await page.locator("#v3-value").inputValue()).toBe("");
    await until(text("#poll-status")).toMatch(/^updated /);
  });

  it("ran without a script error", () => {
    expect(pageErrors).toEqual([]);
  });
});
