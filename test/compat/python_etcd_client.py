"""Drive an etcd v2 server with python-etcd (Debian python3-etcd) and print
what the client saw, as JSON, for the compat suite to assert on.

Usage: /usr/bin/python3 python_etcd_client.py HOST PORT PREFIX [BASE_PATH]

BASE_PATH is where the cluster's API lives on the server ("" for etcd and our
default cluster, /clusters/<name> for a named cluster of ours): the client's
version_prefix becomes BASE_PATH + "/v2".

Indexes are printed relative to the store index read at the start (`base`),
so the same expectations hold for any server.
"""
import json
import re
import sys
import threading
import time

import etcd


def node(r, base):
    """The fields of an EtcdResult that python-etcd exposes."""
    out = {
        "action": r.action,
        "key": None if r.key is None else re.sub(r"\d{20}", lambda m: "<%+d>" % (int(m.group()) - base), r.key),
        "value": r.value,
        "dir": r.dir,
        "ttl": r.ttl,
        "has_expiration": r.expiration is not None,
        "createdIndex": None if r.createdIndex is None else r.createdIndex - base,
        "modifiedIndex": None if r.modifiedIndex is None else r.modifiedIndex - base,
        "newKey": r.newKey,
    }
    return out


def main():
    host, port, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    base_path = sys.argv[4] if len(sys.argv) > 4 else ""
    client = etcd.Client(host=host, port=port, version_prefix=base_path + "/v2")
    out = {}
    base = client.read("/").etcd_index
    out["base_matches_header"] = base == client.read("/").etcd_index

    out["write"] = node(client.write(prefix + "/a", "one"), base)
    out["overwrite"] = node(client.write(prefix + "/a", "two"), base)
    client.write(prefix + "/d/x", "1")
    client.write(prefix + "/d/y", "2")
    r = client.read(prefix, recursive=True, sorted=True)
    out["read_recursive"] = {
        "dir": r.dir,
        "leaves": [(c.key, c.value) for c in r.leaves],
        "children": sorted(c.key for c in r.children),
    }
    out["read_file"] = node(client.read(prefix + "/a"), base)
    try:
        client.read(prefix + "/missing")
        out["read_missing"] = "no error"
    except etcd.EtcdKeyNotFound as e:
        out["read_missing"] = {"type": type(e).__name__, "payload": {k: v for k, v in e.payload.items() if k != "index"}}

    # watch in a thread, then write
    seen = {}

    def watcher():
        try:
            seen["r"] = client.watch(prefix + "/w", timeout=10)
        except Exception as e:  # noqa: BLE001
            seen["err"] = repr(e)

    th = threading.Thread(target=watcher)
    th.start()
    time.sleep(1.0)
    client.write(prefix + "/w", "watched")
    th.join(15)
    out["watch"] = node(seen["r"], base) if "r" in seen else seen.get("err", "timeout")

    # watch with an index from history
    r = client.watch(prefix + "/a", index=base + 1, timeout=10)
    out["watch_index"] = node(r, base)

    # test_and_set: success, then failure
    out["cas_ok"] = node(client.test_and_set(prefix + "/a", "three", "two"), base)
    try:
        client.test_and_set(prefix + "/a", "four", "wrong")
        out["cas_fail"] = "no error"
    except etcd.EtcdCompareFailed as e:
        out["cas_fail"] = {"type": type(e).__name__, "message": str(e)}
    try:
        client.write(prefix + "/a", "x", prevExist=False)
        out["create_exists"] = "no error"
    except etcd.EtcdAlreadyExist as e:
        out["create_exists"] = {"type": type(e).__name__, "message": str(e)}

    # in-order append
    a1 = client.write(prefix + "/queue", "job1", append=True)
    a2 = client.write(prefix + "/queue", "job2", append=True)
    out["append"] = [node(a1, base), node(a2, base)]
    out["append_name_is_index"] = a1.key.endswith("/%020d" % a1.createdIndex)

    # ttl and refresh
    out["ttl_write"] = node(client.write(prefix + "/t", "tv", ttl=100), base)
    out["refresh"] = node(client.refresh(prefix + "/t", ttl=200), base)
    out["after_refresh"] = node(client.read(prefix + "/t"), base)

    # delete
    out["delete"] = node(client.delete(prefix + "/a"), base)
    try:
        client.delete(prefix + "/d")
        out["delete_dir"] = "no error"
    except etcd.EtcdNotFile as e:
        out["delete_dir"] = {"type": type(e).__name__, "message": str(e)}
    out["delete_recursive"] = node(client.delete(prefix + "/d", recursive=True), base)
    try:
        client.delete(prefix + "/a")
        out["delete_missing"] = "no error"
    except etcd.EtcdKeyNotFound as e:
        out["delete_missing"] = {"type": type(e).__name__, "message": str(e)}

    # cluster information the client reads
    out["machines"] = client.machines
    out["leader_client_urls"] = client.leader["clientURLs"]
    out["version_is_str"] = isinstance(client.version, str) and client.version != ""
    out["cluster_version"] = client.cluster_version
    members = client.members
    out["members"] = [sorted(m.keys()) for m in members.values()]
    # Every member, by id as a number (etcd's order).
    out["member_list"] = [
        [m["id"], m["name"], m["peerURLs"], m["clientURLs"]] for m in sorted(members.values(), key=lambda m: int(m["id"], 16))
    ]
    out["leader_id"] = client.leader["id"]
    out["stats_store_keys"] = list(client.store_stats.keys()) if hasattr(client, "store_stats") else None

    print(json.dumps(out, sort_keys=True, indent=1))


if __name__ == "__main__":
    main()
