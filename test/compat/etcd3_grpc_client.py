"""python-etcd3 0.12 (Debian python3-etcd3, a gRPC client over grpcio) run
against a server's gRPC endpoint; prints what it saw as one JSON object,
with revisions relative to the revision it read first, so that the
expectations do not depend on the server.

usage: etcd3_grpc_client.py HOST PORT PREFIX

Every wait has a deadline (the client's own timeout, or an explicit one), so
a server that never answers makes this fail, not hang.
"""
import json
import os
import queue
import sys
import threading
import time

import grpc
import tenacity

import etcd3
import etcd3.exceptions
import etcd3.locks


class _Tenacity:
    """Lock.acquire() of python-etcd3 0.12 passes tenacity a wait function of
    the old signature (attempt number, delay since the first attempt), which
    the tenacity Debian ships (8.x) calls with one retry-state argument, so a
    contended acquire() raises TypeError (kragniz/python-etcd3#2149). This
    adapts that one call; the library's recipe is otherwise run unchanged."""

    def __getattr__(self, name):
        return getattr(tenacity, name)

    @staticmethod
    def retry(wait, **kw):
        return tenacity.retry(wait=lambda rs: wait(rs.attempt_number, rs.seconds_since_start), **kw)


etcd3.locks.tenacity = _Tenacity()

host, port, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
TIMEOUT = 10  # seconds, for each call of the client
c = etcd3.client(host=host, port=port, timeout=TIMEOUT)
k = lambda name: prefix + name
base = c.get_response(k("fake")).header.revision


def rel(rev):
    return rev - base if rev else 0


def meta(m):
    return {
        "key": m.key.decode(),
        "create": rel(m.create_revision),
        "mod": rel(m.mod_revision),
        "version": m.version,
        "lease": m.lease_id != 0,
    }


def kv(v, m):
    return [v.decode(), meta(m)]


def pkv(x):
    """A protobuf KeyValue (prev_kv, a txn's range result)."""
    return {"key": x.key.decode(), "value": x.value.decode(), "create": rel(x.create_revision), "mod": rel(x.mod_revision), "version": x.version}


def error(f):
    """What a failing call raised: the client's own exception class, or the
    gRPC status code and text it passes through unchanged."""
    try:
        f()
        return "no error"
    except grpc.RpcError as e:
        return {"code": e.code().name, "details": e.details()}
    except etcd3.exceptions.Etcd3Exception as e:
        return {"type": type(e).__name__}


def wait_for(what, cond, timeout=10):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for " + what)
        time.sleep(0.02)


out = {}

# ---------------------------------------------------------------- KV
r = c.put(k("a"), "1")
out["put_rev"] = rel(r.header.revision)
out["put_has_prev"] = r.HasField("prev_kv")
out["put_prev_kv"] = pkv(c.put(k("a"), "2", prev_kv=True).prev_kv)
v, m = c.get(k("a"))
out["get"] = kv(v, m)
out["get_header_rev"] = rel(m.response_header.revision)
out["get_missing"] = list(c.get(k("missing")))
out["create_new"] = c.put_if_not_exists(k("b"), "2")
out["create_existing"] = c.put_if_not_exists(k("b"), "3")
out["replace_ok"] = c.replace(k("a"), "2", "10")
out["replace_stale"] = c.replace(k("a"), "2", "11")
c.put(k("c"), "3")
out["prefix"] = [kv(v, m) for v, m in c.get_prefix(k(""))]
out["prefix_desc_by_key"] = [m.key.decode() for _, m in c.get_prefix(k(""), sort_order="descend", sort_target="key")]
out["prefix_by_mod_desc"] = [m.key.decode() for _, m in c.get_prefix(k(""), sort_order="descend", sort_target="mod")]
out["prefix_keys_only"] = [[v.decode(), m.key.decode()] for v, m in c.get_prefix(k(""), keys_only=True)]
out["range"] = [m.key.decode() for _, m in c.get_range(k("a"), k("c"))]
# get_all reads the whole keyspace (shared with the other compat files):
# only this run's keys are looked at, in the order the server gave them.
out["get_all_sorted"] = [m.key.decode() for _, m in c.get_all(sort_order="descend", sort_target="key", keys_only=True) if m.key.decode().startswith(prefix)]
out["delete"] = c.delete(k("b"))
out["delete_missing"] = c.delete(k("b"))
d = c.delete(k("c"), prev_kv=True, return_response=True)
out["delete_prev_kv"] = [d.deleted, [pkv(x) for x in d.prev_kvs]]
out["delete_prefix"] = c.delete_prefix(k("")).deleted
out["after"] = list(c.get_prefix(k("")))
out["empty_key"] = error(lambda: c.get(""))

# ------------------------------------------------------- transactions
t = c.transactions
c.put(k("t"), "x")
_, tm = c.get(k("t"))
ok, responses = c.transaction(
    compare=[t.value(k("t")) == "x", t.version(k("t")) == 1, t.mod(k("t")) == tm.mod_revision, t.create(k("t")) > 0],
    success=[t.put(k("t"), "y"), t.get(k("t")), t.delete(k("none"))],
    failure=[t.put(k("t"), "failure")],
)
out["txn_success"] = [ok, [type(x).__name__ if not isinstance(x, list) else [kv(v, m) for v, m in x] for x in responses]]
out["txn_success_put"] = responses[0].WhichOneof("response")
out["txn_success_delete"] = responses[2].response_delete_range.deleted
ok, responses = c.transaction(
    compare=[t.version(k("t")) == 1, t.value(k("t")) != "zzz"],
    success=[t.put(k("t"), "unexpected")],
    failure=[t.get(k("t")), t.put(k("t"), "z", prev_kv=True)],
)
out["txn_failure"] = [ok, [kv(v, m) for v, m in responses[0]], pkv(responses[1].response_put.prev_kv)]
ok, responses = c.transaction(compare=[t.mod(k("t")) < base], success=[], failure=[])
out["txn_empty"] = [ok, len(responses)]
ok, responses = c.transaction(
    compare=[t.create(k("t2")) == 0],
    success=[t.txn(compare=[t.value(k("t")) == "z"], success=[t.put(k("t2"), "nested")], failure=[])],
    failure=[],
)
out["txn_nested"] = [ok, responses[0].response_txn.succeeded, c.get(k("t2"))[0].decode()]
out["txn_duplicate_put"] = error(lambda: c.transaction(compare=[], success=[t.put(k("t"), "1"), t.put(k("t"), "2")], failure=[]))
_, tm = c.get(k("t"))
out["txn_revisions"] = [rel(tm.create_revision), rel(tm.mod_revision), tm.version]
c.delete_prefix(k("t"))

# ------------------------------------------------------------- leases
lease = c.lease(30)
out["lease_grant"] = [lease.ttl, lease.id > 0]
c.put(k("leased"), "v", lease=lease)
info = c.get_lease_info(lease.id)
out["lease_info"] = [0 < info.TTL <= 30, info.grantedTTL, [x.decode() for x in info.keys], info.ID == lease.id]
out["lease_attached"] = c.get(k("leased"))[1].lease_id == lease.id
refreshed = lease.refresh()
out["lease_refresh"] = [[x.TTL, x.ID == lease.id] for x in refreshed]
out["lease_revoke"] = lease.revoke()
out["after_revoke"] = list(c.get(k("leased")))
out["lease_info_after_revoke"] = [c.get_lease_info(lease.id).TTL, list(c.get_lease_info(lease.id).keys)]
out["revoke_again"] = error(lambda: c.revoke_lease(lease.id))
out["put_unknown_lease"] = error(lambda: c.put(k("x"), "v", lease=lease.id))
chosen = 0x1234567 + int.from_bytes(prefix.encode()[-4:], "big")
own = c.lease(20, lease_id=chosen)
out["lease_chosen_id"] = [own.id == chosen, own.ttl]
out["lease_duplicate_id"] = error(lambda: c.lease(20, lease_id=chosen))
own.revoke()

# -------------------------------------------------------------- locks
# python-etcd3's own recipe: a txn creating /locks/<name> with a lease, and
# a watch on the key while it waits.
first = c.lock(k("lock"), ttl=30)
second = c.lock(k("lock"), ttl=30)
out["lock_first"] = first.acquire(timeout=5)
started = time.monotonic()
out["lock_second_while_held"] = second.acquire(timeout=1)
out["lock_second_waited"] = time.monotonic() - started >= 0.9
out["lock_held"] = [first.is_acquired(), second.is_acquired()]
out["lock_value_is_uuid"] = c.get("/locks/" + k("lock"))[0] == first.uuid

# A third contender (its own client) blocks in acquire() until the holder
# releases; its watch on the lock key is what wakes it. It is released only
# once that watch is open, so a server that does not deliver the delete makes
# it time out (False) instead of passing by luck.
c2 = etcd3.client(host=host, port=port, timeout=TIMEOUT)
watching = threading.Event()
orig_add = c2.add_watch_callback


def add_and_signal(*a, **kw):
    watch_id = orig_add(*a, **kw)
    watching.set()
    return watch_id


c2.add_watch_callback = add_and_signal
third = c2.lock(k("lock"), ttl=30)
got = {}


def contend():
    t0 = time.monotonic()
    got["acquired"] = third.acquire(timeout=20)
    got["seconds"] = time.monotonic() - t0


th = threading.Thread(target=contend)
th.start()
if not watching.wait(15):
    raise RuntimeError("the third contender never started waiting")
out["lock_release"] = first.release()
th.join(25)
out["lock_waiter_acquired"] = [got.get("acquired"), got.get("seconds", 99) < 15]
out["lock_release_not_holder"] = first.release()
out["lock_waiter_release"] = third.release()
with c.lock(k("ctx"), ttl=30) as held:
    out["lock_context"] = held.is_acquired()
out["lock_context_after"] = c.get("/locks/" + k("ctx"))[0]
for l in (first, second, third):
    if l.lease is not None:
        l.lease.revoke()

# ------------------------------------------------------------ watches
events = queue.Queue()
watch_id = c.add_watch_prefix_callback(k("w/"), events.put, prev_kv=True)
c.put(k("w/1"), "a")
c.put(k("w/1"), "b")
c.put(k("w/2"), "c")
c.delete(k("w/1"))
c.delete_prefix(k("w/"))


def collect(q, n, timeout=10):
    seen = []
    deadline = time.monotonic() + timeout
    while len(seen) < n:
        try:
            r = q.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        if isinstance(r, Exception):
            seen.append({"error": type(r).__name__})
            break
        seen.extend(r.events)
    return seen


def ev(e):
    d = {"type": type(e).__name__, "key": e.key.decode(), "value": e.value.decode(), "mod": rel(e.mod_revision), "version": e.version}
    if e._event.HasField("prev_kv"):
        d["prev"] = [e.prev_value.decode(), e.prev_version]
    return d


seen = collect(events, 5)
out["watch_events"] = [ev(e) if not isinstance(e, dict) else e for e in seen]
w_base = seen[0].mod_revision if seen and not isinstance(seen[0], dict) else 0
c.cancel_watch(watch_id)
# After the cancel, nothing more reaches that callback: a write under its
# prefix, then one a fresh watch sees (events come in revision order on one
# stream, so once the second is seen the first would have been too).
other = queue.Queue()
other_id = c.add_watch_callback(k("other"), other.put)
c.put(k("w/after-cancel"), "x")
c.put(k("other"), "y")
out["watch_other"] = [ev(e) for e in collect(other, 1)]
out["watch_cancelled_quiet"] = events.empty()
c.cancel_watch(other_id)

# History: a watch from an old revision replays what happened since, in order.
replay = queue.Queue()
replay_id = c.add_watch_prefix_callback(k("w/"), replay.put, start_revision=w_base)
out["watch_replay"] = [[type(e).__name__, e.key.decode(), rel(e.mod_revision)] for e in collect(replay, 6)]
c.cancel_watch(replay_id)

# The iterator interface, ended by its cancel().
iterator, cancel = c.watch(k("it"))
threading.Thread(target=lambda: c.put(k("it"), "once")).start()
first_event = next(iterator)
cancel()
out["watch_iterator"] = [type(first_event).__name__, first_event.value.decode(), list(iterator)]
# watch_once: the next change, or WatchTimedOut.
out["watch_once_timeout"] = error(lambda: c.watch_once(k("never"), timeout=0.5))
c.delete_prefix(k(""))

# ------------------------------------------------- members and status
members = list(c.members)
out["members"] = {
    "count": len(members),
    "ids_unique_nonzero": len({m.id for m in members}) == len(members) and all(m.id > 0 for m in members),
    "named": all(m.name for m in members),
    "peer_urls": all(len(m.peer_urls) >= 1 and all(u.startswith("http") for u in m.peer_urls) for m in members),
    # Each member's client URLs, the endpoint used shown as <self>: a client
    # that syncs its endpoints from the member list must land on gRPC again.
    "client_urls": sorted({u.replace("%s:%d" % (host, port), "<self>") for m in members for u in m.client_urls}),
}
s = c.status()
out["status"] = {
    "version": s.version[:4],
    "leader_is_member": s.leader is not None and s.leader.id in {m.id for m in members},
    "db_size_positive": s.db_size > 0,
    "raft_index_positive": s.raft_index > 0,
    "raft_term_positive": s.raft_term > 0,
}
out["alarms"] = list(c.list_alarms())
out["hash_is_int"] = isinstance(c.hash(), int)
print(json.dumps(out, sort_keys=True))
sys.stdout.flush()
# Not close(): closing the channel under the library's watch thread makes
# that thread print a traceback. The process ends here, streams and all.
os._exit(0)
