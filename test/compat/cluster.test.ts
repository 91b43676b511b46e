// Non-key endpoints: /version, /health, /v2/machines, /v2/members,
// /v2/stats/*. Where a value cannot be equal BY DESIGN between two distinct
// clusters (ids, names, peer URLs, times, raft counters) only the shape is
// compared: field names, their order and JSON types. The server's own client
// URL is normalised to <self> on each side, so it IS compared: clients such
// as etcdctl sync their endpoint list from it.
import { describe } from "vitest";
//
// Deliberate difference: etcd's test instance is one member; our cluster is
// three replicas. /v2/members lists all three and /v2/stats/leader has two
// followers; harness/replicated.ts checks OUR list exactly (the configured
// members, one of them the leader) and compares the per-member shape with
// etcd's.
import { DELETE, GET, HEAD, POST, PUT, REQ, sequence, shapeOnly, statsDelta, statsMark, watch, awaitWatch, type Shape } from "./harness/compare";
import { leaderMember, leaderStats, membersList } from "./harness/replicated";

/**
 * /v2/stats/self: ours ends with `quiescent`, a deliberate addition (etcd
 * has no quiet state; see README "Quiescence"), dropped before the shapes
 * are compared.
 */
const selfStats: Shape = (node, t) => {
  if (t.label === "ours" && node.t === "obj") {
    const last = node.entries.at(-1);
    if (last?.key !== "quiescent" || last.value.t !== "lit") throw new Error("ours: /v2/stats/self must end with \"quiescent\": true|false");
    node.entries.pop();
  }
  shapeOnly("state")(node, t);
};

describe("cluster endpoints", () => {
  sequence("version-health", [
    // etcdserver is the binary version (ours may differ): shape; etcdcluster exact.
    GET("/version", { shape: shapeOnly("etcdcluster") }),
    GET("/health", { note: "exact: {\"health\":\"true\"} without newline, sniffed text/plain" }),
    GET("/health?serializable=true"),
    HEAD("/health", { note: "405 (GET only)" }),
  ]);

  sequence("members", [
    GET("/v2/machines", { note: "<self>, no newline" }),
    GET("/v2/members", { shape: membersList, note: "ours: exactly the 3 configured members" }),
    GET("/v2/members/", { shape: membersList }),
    GET("/v2/members/leader", { shape: leaderMember, note: "ours: one of the configured members" }),
    GET("/v2/members/nope", { note: "404 {\"message\":\"Not found\"}" }),
    REQ("POST", "/v2/members", { body: "{}", contentType: "text/plain", note: "415" }),
    REQ("POST", "/v2/members", { body: "{bad", contentType: "application/json", note: "400 bad json" }),
    REQ("POST", "/v2/members", { body: '{"peerURLs":[]}', contentType: "application/json" }),
    REQ("POST", "/v2/members", { body: '{"peerURLs":["ftp://x:1"]}', contentType: "application/json" }),
    REQ("POST", "/v2/members", { body: '{"peerURLs":["http://x"]}', contentType: "application/json" }),
    REQ("POST", "/v2/members", { body: '{"peerURLs":["http://x:1/path"]}', contentType: "application/json" }),
    REQ("DELETE", "/v2/members", { note: "405 without Allow" }),
    REQ("DELETE", "/v2/members/zz", { note: "404 non-hex id" }),
    REQ("DELETE", "/v2/members/1234", { note: "404 unknown member" }),
    REQ("PUT", "/v2/members/1234", { body: '{"peerURLs":["http://127.0.0.1:1"]}', contentType: "application/json" }),
  ]);

  sequence("stats", [
    // Values are per-process counters and clocks; the state is exact (a
    // single member is its own leader; our Worker asks the leader).
    GET("/v2/stats/self", { shape: selfStats, note: "ours adds quiescent" }),
    GET("/v2/stats/leader", { shape: leaderStats, note: "ours: the 2 other members as followers" }),
    GET("/v2/stats/store", { shape: shapeOnly() }),
  ]);

  // Counter deltas across a known sequence, including etcd's quirks: every
  // /v2/keys request adds one getsFail (the internal "is auth enabled?" read
  // of the missing /2/enabled), a 104 on a write counts an extra setsFail,
  // and some failures count as successes (root CAS/update/delete 107,
  // update-with-value on a dir, CAD on a dir, CAD compare failure).
  sequence("stats-deltas", [
    statsMark(),
    PUT("/v2/keys{p}/a", { value: "1" }),
    PUT("/v2/keys{p}/a", { value: "2" }),
    GET("/v2/keys{p}/a"),
    GET("/v2/keys{p}/missing"),
    HEAD("/v2/keys{p}/a"),
    GET("/v2/keys{p}/a?quorum=true"),
    PUT("/v2/keys{p}/b?prevExist=false", { value: "1" }),
    PUT("/v2/keys{p}/b?prevExist=false", { value: "1" }),
    PUT("/v2/keys{p}/b?prevExist=true", { value: "2" }),
    PUT("/v2/keys{p}/nob?prevExist=true", { value: "2" }),
    PUT("/v2/keys{p}/b?prevValue=2", { value: "3" }),
    PUT("/v2/keys{p}/b?prevValue=x", { value: "4" }),
    DELETE("/v2/keys{p}/b?prevValue=x"),
    DELETE("/v2/keys{p}/b?prevValue=3"),
    DELETE("/v2/keys{p}/a"),
    DELETE("/v2/keys{p}/a"),
    POST("/v2/keys{p}/q", { value: "j" }),
    PUT("/v2/keys{p}/f", { value: "file" }),
    PUT("/v2/keys{p}/f/under", { value: "x" }, { note: "104: setsFail twice" }),
    PUT("/v2/keys{p}/f/under?prevExist=false", { value: "x" }, { note: "104 on create" }),
    PUT("/v2/keys/?prevValue=x", { value: "x" }, { note: "107 CAS counted as success" }),
    PUT("/v2/keys/?prevExist=true", { value: "x" }),
    DELETE("/v2/keys/"),
    PUT("/v2/keys{p}/d", { dir: "true" }),
    PUT("/v2/keys{p}/d?prevExist=true", { value: "x" }, { note: "update with value on dir" }),
    DELETE("/v2/keys{p}/d?prevValue=x", { note: "CAD on dir" }),
    GET("/v2/keys{p}/a?recursive=maybe", { note: "parse error: not counted" }),
    GET("/v2/members", { shape: membersList }),
    GET("/health"),
    watch("sw", "/v2/keys{p}/watched?wait=true"),
    statsDelta("watchers = 1 while a watch waits"),
    PUT("/v2/keys{p}/watched", { value: "w" }),
    awaitWatch("sw"),
    statsDelta("deltas"),
  ]);
});
