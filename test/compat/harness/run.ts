// Running client programs (etcdctl, python) with a timeout, capturing output.
import { spawn, type ChildProcess } from "node:child_process";
import { send } from "./http";

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 20_000): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (c) => (stdout += Buffer.from(c).toString("utf8")));
    child.stderr?.on("data", (c) => (stderr += Buffer.from(c).toString("utf8")));
    const timer = setTimeout(() => kill(child), timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + String(e) });
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      // Let the pipes drain.
      setTimeout(() => resolve({ code, stdout, stderr }), 50);
    });
  });
}

/** Starts a long-running client; the caller must kill() it. */
export function start(cmd: string, args: string[], env: Record<string, string | undefined> = {}): { child: ChildProcess; output: () => string; done: Promise<RunResult> } {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c) => (stdout += Buffer.from(c).toString("utf8")));
  child.stderr?.on("data", (c) => (stderr += Buffer.from(c).toString("utf8")));
  const done = new Promise<RunResult>((resolve) => {
    child.on("exit", (code) => setTimeout(() => resolve({ code, stdout, stderr }), 50));
    child.on("error", () => resolve({ code: -1, stdout, stderr }));
  });
  return { child, output: () => stdout, done };
}

export function kill(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // gone
  }
}

/** The store index right now (X-Etcd-Index of a root GET). */
export async function currentIndex(url: string): Promise<number> {
  // A named cluster's URL carries its base path (/clusters/<name>).
  const r = await send(url, { method: "GET", path: `${new URL(url).pathname.replace(/\/$/, "")}/v2/keys/` });
  return Number(r.headers["x-etcd-index"]);
}

export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
