// The v3 Cluster and Maintenance calls against real etcd: the same status
// codes, headers and JSON shape (field names, their order and their JSON
// types) for status, hash and the member list, exact answers for alarm and
// defragment and for refused member changes. Values differ by nature (our
// clusters have three members, sizes and indexes are our own).
import { describe, expect, it } from "vitest";
import { targets } from "./harness/compare";
import { send } from "./harness/http";

const t = targets();

/** A JSON value with every leaf replaced by its type, keys in their order. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? [] : [shape(value[0])];
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]));
  return typeof value;
}

async function post(url: string, path: string, body: string) {
  const r = await send(url, { method: "POST", path: `/v3/${path}`, body, contentType: "application/json" }, 15_000);
  return { status: r.status, contentType: r.headers["content-type"], body: r.body };
}

describe("v3 cluster and maintenance calls", () => {
  it.each([["maintenance/status"], ["maintenance/hash"], ["cluster/member/list"]])("%s has etcd's shape", async (path) => {
    const [etcd, ours] = await Promise.all([post(t.etcd, path, "{}"), post(t.ours, path, "{}")]);
    expect({ ...ours, body: shape(JSON.parse(ours.body)) }).toEqual({ ...etcd, body: shape(JSON.parse(etcd.body)) });
  });

  it.each([
    ["maintenance/alarm", "{}"],
    ["maintenance/defragment", "{}"],
    ["cluster/member/remove", '{"ID":"1"}'],
    ["cluster/member/update", '{"ID":"1","peerURLs":["http://10.9.9.9:2380"]}'],
    ["cluster/member/promote", '{"ID":"1"}'],
    // Found by the fuzz run (seed 1): these added a member instead of being refused.
    ["cluster/member/add", "{}"],
    ["cluster/member/add", '{"peerURLs":[]}'],
    ["cluster/member/add", '{"peerURLs":["not a url"]}'],
    ["cluster/member/add", '{"peerURLs":["ftp://10.9.9.9:2380"]}'],
    ["cluster/member/add", '{"peerURLs":["http://10.9.9.9:2380/path"]}'],
    ["cluster/member/add", '{"peerURLs":["http://10.9.9.9"]}'],
  ])("%s %s answers as etcd does", async (path, body) => {
    const [etcd, ours] = await Promise.all([post(t.etcd, path, body), post(t.ours, path, body)]);
    expect(ours).toEqual(etcd);
  });
});
