/**
 * A flood of new wrong passwords does not monopolise a member: each needs
 * a PBKDF2 derivation of tens of milliseconds, and a member starts at most
 * PASSWORD_CHECK_BURST at once and PASSWORD_CHECKS_PER_SECOND after that
 * (src/server/password-budget.ts). The excess is refused at once with
 * "too many requests" (v3: etcd's ResourceExhausted, HTTP 429; v2: 429,
 * error 300), the rest answered as before (a wrong password stays wrong),
 * and the right password works again once the budget refills: a refusal
 * is not remembered as a wrong password.
 */
import { describe, expect, it } from "vitest";
import { PASSWORD_CHECK_BURST, PASSWORD_CHECKS_PER_SECOND } from "../../src/server/password-budget.ts";
import { clusterCall, waitUntil } from "./cluster-helpers.ts";

const FLOOD = 60;
const ROOT_PASSWORD = `root-${crypto.randomUUID()}`;
const JSON_TYPE = { "Content-Type": "application/json" };
const basic = (user: string, password: string) => ({ Authorization: `Basic ${btoa(`${user}:${password}`)}` });

interface Answer {
  status: number;
  body: unknown;
}

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

/**
 * `n` calls made at once; each answer, and how long the whole flood took
 * (the most time the member's budget can have refilled during it).
 */
async function flood(n: number, one: (i: number) => Promise<Response>): Promise<{ answers: Answer[]; seconds: number }> {
  const started = Date.now();
  const answers = await Promise.all(Array.from({ length: n }, (_, i) => one(i).then(answer)));
  return { answers, seconds: (Date.now() - started) / 1000 };
}

/** At least one refused, and no more checks let through than the budget allows over the flood's time. */
function expectBounded(answers: Answer[], seconds: number, refused: (a: Answer) => boolean): void {
  const passed = answers.filter((a) => !refused(a)).length;
  const summary = JSON.stringify({ statuses: answers.map((a) => a.status), seconds });
  expect(answers.length - passed, `some of the flood refused: ${summary}`).toBeGreaterThan(0);
  expect(passed, `checks let through, within the budget: ${summary}`).toBeLessThanOrEqual(PASSWORD_CHECK_BURST + Math.ceil(seconds * PASSWORD_CHECKS_PER_SECOND) + 1);
}

describe("a flood of new wrong passwords", { timeout: 120_000 }, () => {
  it("v3 Authenticate: the excess gets etcd's 'too many requests' (429, code 8), the rest 'authentication failed'; the right password works once the budget refills", async () => {
    const cluster = "password-flood-v3";
    const v3 = async (path: string, body: unknown, headers: Record<string, string> = {}) =>
      clusterCall(cluster, `/v3/${path}`, { method: "POST", body: JSON.stringify(body), headers }, 60_000);
    const ok = async (path: string, body: unknown) => expect((await answer(await v3(path, body))).status, path).toBe(200);
    await ok("auth/user/add", { name: "root", password: ROOT_PASSWORD });
    await ok("auth/user/grant", { user: "root", role: "root" });
    await ok("auth/enable", {});

    const tooMany = { status: 429, body: { error: "etcdserver: too many requests", message: "etcdserver: too many requests", code: 8 } };
    const failed = { status: 400, body: { error: "etcdserver: authentication failed, invalid user ID or password", message: "etcdserver: authentication failed, invalid user ID or password", code: 3 } };
    const { answers, seconds } = await flood(FLOOD, (i) => v3("auth/authenticate", { name: "root", password: `wrong-${i}-${crypto.randomUUID()}` }));
    for (const a of answers) expect([tooMany, failed]).toContainEqual(a);
    expectBounded(answers, seconds, (a) => a.status === 429);

    // The budget refills: the right password is checked (and may be refused again until then).
    const token = await waitUntil(
      async () => {
        const a = await answer(await v3("auth/authenticate", { name: "root", password: ROOT_PASSWORD }));
        if (a.status === 429) return undefined;
        expect(a.status, JSON.stringify(a.body)).toBe(200);
        return (a.body as { token: string }).token;
      },
      30_000,
      "the right password is accepted",
    );
    expect(token).toMatch(/^[A-Za-z]{16}\.\d+$/);
    expect((await answer(await v3("kv/put", { key: btoa("k"), value: btoa("v") }, { Authorization: token }))).status).toBe(200);
  });

  it("v2 basic auth: keys, watches, the auth API and members changes answer the excess 429 with error 300; the rest 401; the right password works once the budget refills", async () => {
    const cluster = "password-flood-v2";
    const call = async (path: string, init: RequestInit = {}) => answer(await clusterCall(cluster, path, init, 60_000));
    expect((await call("/v2/auth/users/root", { method: "PUT", body: JSON.stringify({ user: "root", password: ROOT_PASSWORD }), headers: JSON_TYPE })).status).toBe(201);
    expect((await call("/v2/auth/enable", { method: "PUT" })).status).toBe(200);
    const root = basic("root", ROOT_PASSWORD);
    expect((await call("/v2/keys/k", { method: "PUT", body: "value=v", headers: { ...root, "Content-Type": "application/x-www-form-urlencoded" } })).status).toBe(201);

    const tooMany = { status: 429, body: { errorCode: 300, message: "Raft Internal Error", cause: "etcdserver: too many requests", index: 0 } };
    // Each kind of request that checks basic auth, in turn, each with a password of its own.
    const kinds: { name: string; request: (headers: Record<string, string>) => Promise<Answer>; wrong: (a: Answer) => boolean }[] = [
      { name: "keys GET", request: (h) => call("/v2/keys/k", { headers: h }), wrong: (a) => a.status === 401 && (a.body as { errorCode?: number }).errorCode === 110 },
      { name: "keys watch", request: (h) => call("/v2/keys/k?wait=true", { headers: h }), wrong: (a) => a.status === 401 && (a.body as { errorCode?: number }).errorCode === 110 },
      { name: "auth API", request: (h) => call("/v2/auth/users", { headers: h }), wrong: (a) => a.status === 401 && (a.body as { message?: string }).message === "Insufficient credentials" },
      {
        name: "members change",
        request: (h) => call("/v2/members/0123456789abcdef", { method: "DELETE", headers: h }),
        wrong: (a) => a.status === 401 && (a.body as { message?: string }).message === "Insufficient credentials",
      },
    ];
    const { answers, seconds } = await flood(2 * FLOOD, (i) => {
      const kind = kinds[i % kinds.length];
      return kind.request(basic("root", `wrong-${i}-${crypto.randomUUID()}`)).then((a) => {
        const expected = a.status === 429 ? tooMany : a;
        expect(a, `${kind.name} ${i}: 429 or refused as a wrong password`).toEqual(expected);
        if (a.status !== 429) expect(kind.wrong(a), `${kind.name} ${i}: ${JSON.stringify(a)}`).toBe(true);
        return new Response(JSON.stringify(a.body), { status: a.status });
      });
    });
    expectBounded(answers, seconds, (a) => a.status === 429);
    for (const [k, kind] of kinds.entries()) {
      const ofKind = answers.filter((_, i) => i % kinds.length === k);
      expect(ofKind.some((a) => a.status === 429), `some ${kind.name} refused: ${ofKind.map((a) => a.status)}`).toBe(true);
    }

    const read = await waitUntil(
      async () => {
        const a = await call("/v2/keys/k", { headers: root });
        if (a.status === 429) return undefined;
        expect(a.status, JSON.stringify(a.body)).toBe(200);
        return a.body as { node: { value: string } };
      },
      30_000,
      "the right password is accepted",
    );
    expect(read.node.value).toBe("v");
  });
});
