// etcdctl 3.4 in v2 mode managing and using v2 auth (user, role and auth
// commands, --username), against etcd and against our server, with one
// expectation for both: the exact output and exit code of every command.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { oursClusters } from "./harness/clusters";
import { targets } from "./harness/compare";
import { send } from "./harness/http";
import { kill, pause, run, start } from "./harness/run";
import { prepareAuth, resetAuth, ROOT } from "./harness/v2-auth";

const t = targets();
const ENV = { ETCDCTL_API: "2" };
const ours = oursClusters().map((c) => [`ours [${c.label}]`, t.ours + c.root] as const);
const REFUSED = { code: 4, stdout: "", stderr: "Error:  110: The request requires user authentication (Insufficient credentials) [0]\n" };

beforeAll(prepareAuth);
afterAll(resetAuth);

describe.each([["etcd", t.etcd] as const, ...ours])("etcdctl v2 auth against %s", (_label, url) => {
  const p = `/ctl-auth-${Math.random().toString(36).slice(2, 8)}`;
  const ctl = (...args: string[]) => run("etcdctl", ["--endpoints", url, ...args], ENV);
  const as = (credentials: string, ...args: string[]) => ctl("--username", credentials, ...args);
  const ok = (stdout: string) => ({ code: 0, stdout, stderr: "" });

  it("user, role and auth commands; --username on keys and watches", async () => {
    expect(await ctl("user", "add", ROOT)).toEqual(ok("User root created\n"));
    expect(await ctl("user", "add", "carol:cpw")).toEqual(ok("User carol created\n"));
    expect(await ctl("role", "add", "rr")).toEqual(ok("Role rr created\n"));
    expect(await ctl("role", "grant", "--read", "--path", `${p}/*`, "rr")).toEqual(ok("Role rr updated\n"));
    expect(await ctl("role", "get", "rr")).toEqual(ok(`Role: rr\nKV Read:\n\t${p}/*\nKV Write:\n`));
    expect(await ctl("user", "grant", "--roles", "rr", "carol")).toEqual(ok("User carol updated\n"));
    expect(await ctl("user", "get", "carol")).toEqual(ok("User: carol\nRoles:  rr\n"));
    expect(await ctl("user", "get", "root")).toEqual(ok("User: root\nRoles:  root\n"));
    expect(await ctl("role", "list")).toEqual(ok("root\nrr\n"));
    expect(await ctl("user", "list")).toEqual(ok("carol\nroot\n"));
    expect(await ctl("user", "grant", "--roles", "rr", "carol")).toEqual({ code: 1, stdout: "", stderr: "auth: Granting duplicate role rr for user carol\n" });
    expect(await ctl("set", `${p}/x`, "1")).toEqual(ok("1\n"));

    expect(await ctl("auth", "enable")).toEqual(ok("Authentication Enabled\n"));
    expect(await ctl("get", `${p}/x`), "the guest role may do everything at first").toEqual(ok("1\n"));
    expect(await as(ROOT, "role", "revoke", "--rw", "--path", "/*", "guest")).toEqual(ok("Role guest updated\n"));
    expect(await ctl("get", `${p}/x`)).toEqual(REFUSED);
    expect(await ctl("role", "list")).toEqual({ code: 1, stdout: "", stderr: "unexpected status code 401\n" });
    expect(await as("carol:cpw", "get", `${p}/x`)).toEqual(ok("1\n"));
    expect(await as("carol:cpw", "set", `${p}/x`, "2")).toEqual(REFUSED);
    expect(await as("carol:wrong", "get", `${p}/x`)).toEqual(REFUSED);

    // etcdctl reads the new password from its terminal, or here from stdin.
    const passwd = await run("sh", ["-c", `echo newpw | etcdctl --endpoints '${url}' --username '${ROOT}' user passwd carol`], ENV);
    expect([passwd.code, passwd.stdout]).toEqual([0, "New password: \nPassword updated\n"]);
    expect(await as("carol:cpw", "get", `${p}/x`)).toEqual(REFUSED);
    expect(await as("carol:newpw", "get", `${p}/x`)).toEqual(ok("1\n"));

    // Other tests' watchers may be open on the same server: wait for one more than there were.
    const before = await watchers(url);
    const w = start("etcdctl", ["--endpoints", url, "--username", "carol:newpw", "watch", `${p}/x`], ENV);
    try {
      await watchersAtLeast(url, before + 1);
      expect(await as(ROOT, "set", `${p}/x`, "watched")).toEqual(ok("watched\n"));
      const r = await Promise.race([w.done, pause(10_000).then(() => null)]);
      expect(r).toEqual(ok("watched\n"));
    } finally {
      kill(w.child);
    }

    expect(await as(ROOT, "auth", "disable")).toEqual(ok("Authentication Disabled\n"));
    expect(await ctl("user", "remove", "carol")).toEqual(ok("User carol removed\n"));
    expect(await ctl("role", "remove", "rr")).toEqual(ok("Role rr removed\n"));
    expect(await ctl("role", "remove", "guest")).toEqual(ok("Role guest removed\n"));
    expect(await ctl("user", "remove", "root")).toEqual(ok("User root removed\n"));
    expect(await ctl("user", "get", "carol")).toEqual({ code: 1, stdout: "", stderr: "auth: User carol does not exist.\n" });
    await ctl("rm", "--recursive", p);
  });
});

/** Waits until the member that serves the cluster holds at least `n` watchers (the watch is registered). */
/** The v2 watchers the member answering /v2/stats/store holds. */
async function watchers(url: string): Promise<number> {
  const u = new URL(url);
  const stats = await send(u.origin, { method: "GET", path: `${u.pathname.replace(/\/$/, "")}/v2/stats/store` });
  return (JSON.parse(stats.body) as { watchers: number }).watchers;
}

async function watchersAtLeast(url: string, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if ((await watchers(url)) >= n) return;
    if (Date.now() > deadline) throw new Error(`no watcher registered on ${url} within 10 s`);
    await pause(50);
  }
}
