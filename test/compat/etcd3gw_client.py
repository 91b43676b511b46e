"""OpenStack's etcd3gw (Debian python3-etcd3gw), a client of etcd's v3 JSON
gateway, run against a server; prints what it saw as one JSON object, with
revisions relative to the revision it read first, so that the expectations
do not depend on the server.

usage: etcd3gw_client.py HOST PORT API_PATH PREFIX
"""
import json
import sys
import threading
import time

from etcd3gw.client import Etcd3Client

host, port, api_path, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
c = Etcd3Client(host=host, port=port, api_path=api_path)
k = lambda name: prefix + name
base = int(c.post(c.get_url("/kv/range"), json={"key": "ZmFrZQ=="})["header"]["revision"])


def meta(m):
    return {
        "key": m["key"].decode(),
        "create": int(m["create_revision"]) - base,
        "mod": int(m["mod_revision"]) - base,
        "version": int(m["version"]),
    }


out = {}
out["put"] = c.put(k("a"), "1")
out["get"] = [v.decode() for v in c.get(k("a"))]
out["get_missing"] = c.get(k("missing"))
out["create_new"] = c.create(k("b"), "2")
out["create_existing"] = c.create(k("b"), "3")
out["replace_ok"] = c.replace(k("a"), "1", "10")
out["replace_stale"] = c.replace(k("a"), "1", "11")
out["prefix"] = [[v.decode(), meta(m)] for v, m in c.get_prefix(k(""))]
out["get_all_sorted"] = [m["key"].decode() for _, m in c.get_prefix(k(""), sort_order="descend", sort_target="key")]
out["delete"] = c.delete(k("b"))
out["delete_missing"] = c.delete(k("b"))
out["delete_prefix"] = c.delete_prefix(k(""))
out["after"] = c.get_prefix(k(""))

# Leases: a key attached to one, its time to live and keys, a refresh, a revoke.
lease = c.lease(30)
c.put(k("leased"), "v", lease=lease)
out["lease_ttl_in_range"] = 0 < lease.ttl() <= 30
out["lease_keys"] = [key.decode() for key in lease.keys()]
out["lease_refresh"] = lease.refresh()
out["lease_revoke"] = lease.revoke()
out["after_revoke"] = c.get(k("leased"))

# Locks (etcd3gw's own recipe: a txn creating the key with a lease).
first = c.lock(k("lock"), ttl=30)
second = c.lock(k("lock"), ttl=30)
out["lock_first"] = first.acquire()
out["lock_second_while_held"] = second.acquire()
out["lock_held"] = [first.is_acquired(), second.is_acquired()]
out["lock_release"] = first.release()
out["lock_second_after_release"] = second.acquire()
second.release()

# A watch: the next change of a key, written once the watch is open.
def write_later():
    time.sleep(1.0)
    c.put(k("watched"), "seen")

threading.Thread(target=write_later).start()
event = c.watch_once(k("watched"), timeout=10)
out["watch_event"] = {"key": event["kv"]["key"].decode(), "value": event["kv"]["value"].decode(), "version": event["kv"]["version"]}
print(json.dumps(out, sort_keys=True))
