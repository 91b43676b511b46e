// Starts both targets once for the whole compat run and hands their URLs to
// the test files through vitest's provide/inject.
//
//   COMPAT_TARGET unset (default): "ours" = our Worker as `npm start` serves it.
//   COMPAT_TARGET=etcd:            "ours" = a second, independent etcd. Every
//                                  test must then pass: this validates the
//                                  harness and its normalisation.
import type { TestProject } from "vitest/node";
import { NAMED_CLUSTER } from "./clusters";
import { send } from "./http";
import { stopAllServers } from "../../../support/processes.ts";
import { startEtcd, startOurs, type Server } from "./processes";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const mode = process.env.COMPAT_TARGET === "etcd" ? "etcd" : "worker";
  let etcd: Server | undefined;
  let ours: Server | undefined;
  try {
    [etcd, ours] = await Promise.all([startEtcd(), mode === "etcd" ? startEtcd() : startOurs()]);
    if (mode === "worker") {
      // Our clusters start at store index 0, and a freshly created one holds
      // its first election on first use. One write to a hidden key in each
      // (the named one is created by it) gets both past that, so that no
      // sequence starts at index 0, which the offsets treat as "no index".
      for (const root of ["", NAMED_CLUSTER.root]) {
        const r = await send(ours.url, { method: "PUT", path: `${root}/v2/keys/_compat-warmup`, body: "value=1", contentType: "application/x-www-form-urlencoded" }, 60_000);
        if (r.status !== 201 && r.status !== 200) throw new Error(`warm-up write on ${root || "/"} answered ${r.status}: ${r.body}`);
      }
    }
  } catch (e) {
    await stopAllServers();
    throw e;
  }
  project.provide("compatEtcdUrl", etcd.url);
  project.provide("compatOursUrl", ours.url);
  project.provide("compatOursKind", ours.kind);
  project.provide("compatEtcdGrpc", etcd.grpc);
  project.provide("compatOursGrpc", ours.grpc);
  return async () => {
    await stopAllServers();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    compatEtcdUrl: string;
    compatOursUrl: string;
    compatOursKind: "etcd" | "worker";
    compatEtcdGrpc: string;
    compatOursGrpc: string;
  }
}
