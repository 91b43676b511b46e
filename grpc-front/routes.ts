/**
 * Where each gRPC method of etcd 3.4 goes on the Worker: the path of its JSON
 * gateway endpoint (the same paths etcd's own gateway serves), and how the
 * method streams. The gRPC messages and the gateway's JSON are one mapping
 * (proto field names, 64-bit integers as decimal strings, bytes as base64),
 * so a request crosses unchanged; only the transport differs:
 * - unary: one POST, one JSON answer;
 * - bidi (Watch, LeaseKeepAlive): one WebSocket per gRPC stream, each message
 *   one request or response, so a stream of many watches costs one socket;
 * - server streaming (Election Observe): one POST whose answer is a stream
 *   of `{"result":…}` lines.
 */
export type Route = { kind: "unary" | "bidi" | "serverStream"; path: string } | { kind: "unimplemented"; why: string };

const unary = (path: string): Route => ({ kind: "unary", path });
const missing = (why: string): Route => ({ kind: "unimplemented", why });

/** Method routes by service (its full protobuf name) and method name. */
export const ROUTES: Record<string, Record<string, Route>> = {
  "etcdserverpb.KV": {
    Range: unary("kv/range"),
    Put: unary("kv/put"),
    DeleteRange: unary("kv/deleterange"),
    Txn: unary("kv/txn"),
    Compact: unary("kv/compaction"),
  },
  "etcdserverpb.Watch": {
    Watch: { kind: "bidi", path: "watch" },
  },
  "etcdserverpb.Lease": {
    LeaseGrant: unary("lease/grant"),
    LeaseRevoke: unary("lease/revoke"),
    LeaseKeepAlive: { kind: "bidi", path: "lease/keepalive" },
    LeaseTimeToLive: unary("lease/timetolive"),
    LeaseLeases: unary("lease/leases"),
  },
  "etcdserverpb.Cluster": {
    MemberAdd: unary("cluster/member/add"),
    MemberRemove: unary("cluster/member/remove"),
    MemberUpdate: unary("cluster/member/update"),
    MemberList: unary("cluster/member/list"),
    MemberPromote: unary("cluster/member/promote"),
  },
  "etcdserverpb.Maintenance": {
    Alarm: unary("maintenance/alarm"),
    Status: unary("maintenance/status"),
    Defragment: unary("maintenance/defragment"),
    Hash: unary("maintenance/hash"),
    HashKV: missing("HashKV is not served yet"),
    Snapshot: missing("snapshots are not served yet"),
    MoveLeader: missing("moving the leader is not served yet"),
  },
  "etcdserverpb.Auth": {
    AuthEnable: unary("auth/enable"),
    AuthDisable: unary("auth/disable"),
    Authenticate: unary("auth/authenticate"),
    UserAdd: unary("auth/user/add"),
    UserGet: unary("auth/user/get"),
    UserList: unary("auth/user/list"),
    UserDelete: unary("auth/user/delete"),
    UserChangePassword: unary("auth/user/changepw"),
    UserGrantRole: unary("auth/user/grant"),
    UserRevokeRole: unary("auth/user/revoke"),
    RoleAdd: unary("auth/role/add"),
    RoleGet: unary("auth/role/get"),
    RoleList: unary("auth/role/list"),
    RoleDelete: unary("auth/role/delete"),
    RoleGrantPermission: unary("auth/role/grant"),
    RoleRevokePermission: unary("auth/role/revoke"),
  },
  "v3lockpb.Lock": {
    Lock: unary("lock/lock"),
    Unlock: unary("lock/unlock"),
  },
  "v3electionpb.Election": {
    Campaign: unary("election/campaign"),
    Proclaim: unary("election/proclaim"),
    Leader: unary("election/leader"),
    Observe: { kind: "serverStream", path: "election/observe" },
    Resign: unary("election/resign"),
  },
};
