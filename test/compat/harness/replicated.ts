// Views of the cluster endpoints that differ BY DESIGN between etcd's test
// instance (one member) and our server (a replicated cluster of
// CLUSTER_SIZE members). On our side each shape first checks OUR answer
// exactly (the configured members, in etcd's order, with their exact ids,
// names, peer URLs and client URL, and exactly one leader among them) and only
// then reduces it to what a one-member etcd answers, so the rest is still
// compared with etcd. When a check fails, the offending value is replaced by a
// marker saying what is wrong (with the raw value), so the step mismatches.
// On etcd's side (and on a second etcd with COMPAT_TARGET=etcd) nothing
// changes: it keeps its exact shape.
import { configuredMembers } from "./clusters";
import { shapeOnly, type Shape, type TargetCtx } from "./compare";
import { field, serialize, sym, type JNode } from "./json";

function isOursReplicated(t: TargetCtx): boolean {
  return t.label === "ours" && t.kind === "worker";
}

/** One member as our server must report it (after normalisation: the client URL is <self>). */
function memberJson(m: { id: string; name: string; peerURLs: string[] }): string {
  return `{"id":${JSON.stringify(m.id)},"name":${JSON.stringify(m.name)},"peerURLs":${JSON.stringify(m.peerURLs)},"clientURLs":["<self>"]}`;
}

function problem(text: string, raw: JNode): JNode {
  return sym(JSON.stringify(`<ours: ${text}; got ${serialize(raw)}>`));
}

function setField(node: JNode, key: string, value: JNode): void {
  if (node.t !== "obj") return;
  const e = node.entries.find((x) => x.key === key);
  if (e) e.value = value;
}

/**
 * GET /v2/members (and /v2/members/): etcd lists its single member; we list
 * exactly the configured members, sorted by id as etcd sorts them. Per-member
 * shape (and the client URL, exactly) is then compared with etcd's.
 */
export const membersList: Shape = (node, t) => {
  if (isOursReplicated(t)) {
    const list = field(node, "members");
    const want = configuredMembers(t.cluster).map(memberJson);
    if (list?.t !== "arr") {
      setField(node, "members", problem("members is not an array", list ?? sym("null")));
    } else {
      const got = list.items.map(serialize);
      if (got.join(",") !== want.join(",")) {
        setField(node, "members", problem(`expected exactly the ${want.length} configured members [${want.join(",")}]`, list));
      } else {
        // Deliberate difference: 3 members here, 1 on etcd. Keep one for the shape comparison.
        list.items = list.items.slice(0, 1);
      }
    }
  }
  shapeOnly("clientURLs")(node, t);
};

/** GET /v2/members/leader: on ours, exactly one of the configured members. */
export const leaderMember: Shape = (node, t) => {
  if (isOursReplicated(t)) {
    const want = configuredMembers(t.cluster).map(memberJson);
    if (!want.includes(serialize(node)) && node.t === "obj") {
      const raw: JNode = { t: "obj", entries: node.entries.slice() };
      node.entries = [{ rawKey: '"problem"', key: "problem", value: problem("the leader is not one of the configured members", raw) }];
    }
  }
  shapeOnly("clientURLs")(node, t);
};

/**
 * etcd's FollowerStats (etcdserver/api/v2stats/leader.go) as shapeOnly()
 * renders it: latency {current, average, standardDeviation, minimum,
 * maximum} and counts {fail, success}. A one-member etcd has no followers, so
 * this is the shape from etcd's source, not from the oracle.
 */
const FOLLOWER_SHAPE =
  '{"latency":{"current":<number>,"average":<number>,"standardDeviation":<number>,"minimum":<number>,"maximum":<number>},"counts":{"fail":<number>,"success":<number>}}';

/**
 * GET /v2/stats/leader: etcd's single member leads nobody ({"leader":id,
 * "followers":{}}); our leader has the other configured members as
 * followers, keyed by id in Go's (sorted) map order, each with etcd's
 * follower shape. Then compared with etcd as followers: {}.
 */
export const leaderStats: Shape = (node, t) => {
  if (isOursReplicated(t)) {
    const ids = configuredMembers(t.cluster).map((m) => m.id);
    const leader = field(node, "leader");
    const followers = field(node, "followers");
    const leaderId = leader?.t === "str" ? leader.value : "";
    const wantIds = ids.filter((id) => id !== leaderId).sort();
    if (!ids.includes(leaderId)) {
      setField(node, "leader", problem("the leader is not one of the configured members", leader ?? sym("null")));
    } else if (followers?.t !== "obj") {
      setField(node, "followers", problem("followers is not an object", followers ?? sym("null")));
    } else {
      const keys = followers.entries.map((e) => e.key);
      const shapes = followers.entries.map((e) => {
        const copy = JSON.parse(JSON.stringify(e.value)) as JNode;
        shapeOnly()(copy, t);
        return serialize(copy);
      });
      if (keys.join(",") !== wantIds.join(",")) {
        setField(node, "followers", problem(`expected followers ${wantIds.join(",")} (the other configured members)`, followers));
      } else if (!shapes.every((s) => s === FOLLOWER_SHAPE)) {
        setField(node, "followers", problem(`expected every follower as ${FOLLOWER_SHAPE}`, followers));
      } else {
        // Deliberate difference: 2 followers here, none on a one-member etcd.
        followers.entries = [];
      }
    }
  }
  shapeOnly()(node, t);
};
