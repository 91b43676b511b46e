/**
 * etcd 3.4's gateway for the Cluster and Maintenance services: the member
 * list and changes (the same membership as /v2/members, through Raft),
 * status (with the raised alarms among its errors, as etcd lists them),
 * hash, and defragment, which has nothing to do here (SQLite gives back the
 * pages of deleted rows at once) and answers `{}` as etcd does. Alarms are
 * served with the KV calls (v3-routes.ts), since they go through Raft.
 */
import { goJSON } from "../go/json.ts";
import type { MemberChange } from "../server/api.ts";
import { clusterId } from "../server/identity.ts";
import type { Member } from "../server/members.ts";
import { GrpcCode, V3Error } from "../v3/errors.ts";
import { idToDecimal } from "../v3/gateway-json.ts";
import { alarmStatusText } from "../v3/alarms.ts";
import type { ClusterApi } from "./cluster-client.ts";
import { validPeerURLs } from "./members-routes.ts";
import { ETCD_SERVER_VERSION } from "../server/version.ts";

/** What a cluster or maintenance path answers, as the JSON text of its response. */
type Handler = (body: Record<string, unknown>, api: ClusterApi, cluster: string, clientURL: string) => Promise<string>;

export const CLUSTER_PATHS: Record<string, Handler> = {
  "maintenance/status": async (_b, api, cluster) => {
    const s = await api.v3Status(false);
    const header = { cluster_id: idToDecimal(clusterId(cluster)), member_id: idToDecimal(s.memberId), revision: `${s.revision}`, raft_term: `${s.raftTerm}` };
    return goJSON({
      header,
      version: ETCD_SERVER_VERSION,
      dbSize: `${s.dbSize}`,
      ...(s.leader ? { leader: idToDecimal(s.leader) } : {}),
      raftIndex: `${s.raftIndex}`,
      raftTerm: `${s.raftTerm}`,
      raftAppliedIndex: `${s.raftAppliedIndex}`,
      ...(s.alarms.length ? { errors: s.alarms.map(alarmStatusText) } : {}),
      dbSizeInUse: `${s.dbSize}`,
    });
  },
  "maintenance/hash": async (_b, api, cluster) => {
    const s = await api.v3Status(true);
    const header = { cluster_id: idToDecimal(clusterId(cluster)), member_id: idToDecimal(s.memberId), revision: `${s.revision}`, raft_term: `${s.raftTerm}` };
    return goJSON({ header, hash: s.hash });
  },
  "maintenance/defragment": async () => "{}",
  "cluster/member/list": async (_b, api, cluster, url) => membersAnswer(api, cluster, url),
  "cluster/member/add": async (b, api, cluster, url) => {
    const peerURLs = stringList(b.peerURLs);
    // etcd 3.4 checks the URLs of a member to add (not of an update) before anything else.
    if (!validPeerURLs(peerURLs)) throw new V3Error(GrpcCode.InvalidArgument, "etcdserver: given member URLs are invalid");
    const change = await api.addMember(peerURLs);
    throwIfRefused(change);
    const added = change.ok && change.member ? change.member : undefined;
    const learner = b.isLearner === true;
    const member = { ID: added ? idToDecimal(added.id) : "0", peerURLs, ...(learner ? { isLearner: true } : {}) };
    return membersAnswer(api, cluster, url, { member });
  },
  "cluster/member/remove": async (b, api, cluster, url) => {
    throwIfRefused(await api.removeMember(memberIdOf(b)));
    return membersAnswer(api, cluster, url);
  },
  "cluster/member/update": async (b, api, cluster, url) => {
    throwIfRefused(await api.updateMember(memberIdOf(b), stringList(b.peerURLs)));
    return membersAnswer(api, cluster, url);
  },
  "cluster/member/promote": async (b, api) => {
    // Members added here are promoted by the leader as soon as they have
    // caught up, so there is never a learner left to promote by hand.
    const id = memberIdOf(b);
    const status = await api.status();
    if (!status.members.some((m) => m.id === id)) throw memberNotFound();
    throw new V3Error(GrpcCode.FailedPrecondition, "etcdserver: can only promote a learner member");
  },
};

/** The member list with the header etcd gives cluster calls (no revision), plus `extra` first. */
async function membersAnswer(api: ClusterApi, cluster: string, clientURL: string, extra: Record<string, unknown> = {}): Promise<string> {
  const s = await api.status();
  const header = { cluster_id: idToDecimal(clusterId(cluster)), member_id: idToDecimal(s.id), raft_term: `${s.raft.term}` };
  const members = s.members.map((m: Member) => ({ ID: idToDecimal(m.id), name: m.name, peerURLs: m.peerURLs, clientURLs: [clientURL] }));
  return goJSON({ header, ...extra, members });
}

/** etcd's errors for a refused members change, from the answers the v2 members API gives. */
function throwIfRefused(change: MemberChange): void {
  if (change.ok) return;
  if (change.status === 404 || change.status === 410) throw memberNotFound();
  if (change.status === 409) throw new V3Error(GrpcCode.FailedPrecondition, "etcdserver: Peer URLs already exists");
  throw new V3Error(GrpcCode.Unavailable, change.message);
}

const memberNotFound = () => new V3Error(GrpcCode.NotFound, "etcdserver: member not found");

/** A member's ID as the request gives it (a decimal uint64, as a string or a number), as our hex id. */
function memberIdOf(body: Record<string, unknown>): string {
  const raw = body.ID;
  const text = typeof raw === "number" ? String(raw) : typeof raw === "string" ? raw : "0";
  if (!/^\d+$/.test(text)) throw new V3Error(GrpcCode.InvalidArgument, `json: cannot unmarshal ${JSON.stringify(raw)} into Go value of type uint64`);
  return BigInt(text).toString(16);
}

function stringList(raw: unknown): string[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw) || raw.some((x) => typeof x !== "string")) {
    throw new V3Error(GrpcCode.InvalidArgument, "json: cannot unmarshal value into Go value of type []string");
  }
  return raw as string[];
}
