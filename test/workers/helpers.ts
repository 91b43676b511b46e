/** Drives the real Worker (router + Replica Durable Object + SQLite) over HTTP. */
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { clusterId } from "../../src/server/identity.ts";

export const ORIGIN = "http://127.0.0.1";
export const CID = clusterId("default");
export const FORM = { "Content-Type": "application/x-www-form-urlencoded" };
export const CORS = {
  "access-control-allow-headers": "accept, content-type, authorization",
  "access-control-allow-methods": "POST, GET, OPTIONS, PUT, DELETE",
  "access-control-allow-origin": "*",
};

export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return (exports as unknown as { default: Fetcher }).default.fetch(path.startsWith("http") ? path : ORIGIN + path, init);
}

/** A form-encoded write (the body is a form, as etcdctl and python-etcd send it). */
export function write(method: "PUT" | "POST", path: string, form = ""): Promise<Response> {
  return call(path, { method, body: form, headers: FORM });
}

export function headersOf(res: Response): Record<string, string> {
  return Object.fromEntries([...res.headers]);
}

/** The store's current index and the raft position, from a GET of the root. */
export async function position(): Promise<{ index: number; raft: number; term: number }> {
  const r = await call("/v2/keys/");
  await r.text();
  return {
    index: Number(r.headers.get("x-etcd-index")),
    raft: Number(r.headers.get("x-raft-index")),
    term: Number(r.headers.get("x-raft-term")),
  };
}

/**
 * Headers of a successful /v2/keys answer. The Raft position is only checked
 * to be at least `raft` (failed writes and leader no-ops take Raft indexes
 * too, as in etcd) and a positive term; the Raft tests check it exactly.
 */
export function okHeaders(index: number, raft: number): Record<string, unknown> {
  return {
    ...CORS,
    "content-type": "application/json",
    "x-etcd-cluster-id": CID,
    "x-etcd-index": String(index),
    "x-raft-index": expect.toSatisfy((v: string) => Number(v) >= raft, `a Raft index of at least ${raft}`),
    "x-raft-term": expect.stringMatching(/^[1-9]\d*$/),
  };
}

/** Headers of a /v2/keys error: no X-Raft-* headers. */
export function errorHeaders(index: number): Record<string, string> {
  return { ...CORS, "content-type": "application/json", "x-etcd-cluster-id": CID, "x-etcd-index": String(index) };
}

export async function storeStats(): Promise<Record<string, number>> {
  return (await call("/v2/stats/store")).json();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
