// Starts both targets once for the whole compat run and hands their URLs to
// the test files through vitest's provide/inject.
//
//   COMPAT_TARGET unset (default): "ours" = our Worker under `wrangler dev`.
//   COMPAT_TARGET=etcd:            "ours" = a second, independent etcd. Every
//                                  test must then pass: this validates the
//                                  harness and its normalisation.
import type { TestProject } from "vitest/node";
import { startEtcd, startWrangler, stopAll, type Server } from "./processes";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const mode = process.env.COMPAT_TARGET === "etcd" ? "etcd" : "wrangler";
  let etcd: Server | undefined;
  let ours: Server | undefined;
  try {
    [etcd, ours] = await Promise.all([startEtcd(), mode === "etcd" ? startEtcd() : startWrangler()]);
  } catch (e) {
    await stopAll();
    throw e;
  }
  project.provide("compatEtcdUrl", etcd.url);
  project.provide("compatOursUrl", ours.url);
  project.provide("compatOursKind", ours.kind);
  return async () => {
    await stopAll();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    compatEtcdUrl: string;
    compatOursUrl: string;
    compatOursKind: "etcd" | "wrangler";
  }
}
