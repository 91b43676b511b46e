/**
 * Which store operation a /v2/keys request is (etcd's v2 server and
 * applier): reads stay reads; every write becomes a Command stamped with the
 * proposer's clock.
 */
import type { Command } from "./command.ts";
import type { KeysRequest } from "./request.ts";

export type KeysOperation =
  | { kind: "read"; quorum: boolean }
  | { kind: "watch" }
  | { kind: "write"; command: Command };

export function keysOperation(req: KeysRequest, now: number): KeysOperation {
  const { path, value, dir, ttl, prevValue, prevIndex } = req;
  const refresh = req.refresh === true;
  const compare = prevIndex !== "0" || prevValue !== "";
  switch (req.method) {
    case "GET":
      // quorum wins over wait: etcd turns the request into a quorum read first.
      if (req.quorum) return { kind: "read", quorum: true };
      return req.wait ? { kind: "watch" } : { kind: "read", quorum: false };
    case "HEAD":
      return { kind: "read", quorum: false };
    case "POST":
      return write({ op: "create", path, value, dir, ttl, unique: true, now });
    case "PUT":
      if (req.prevExist === true) {
        return compare
          ? write({ op: "compareAndSwap", path, value, prevValue, prevIndex, ttl, refresh, now })
          : write({ op: "update", path, value, ttl, refresh, now });
      }
      if (req.prevExist === false) return write({ op: "create", path, value, dir, ttl, unique: false, now });
      if (compare) return write({ op: "compareAndSwap", path, value, prevValue, prevIndex, ttl, refresh, now });
      return write({ op: "set", path, value, dir, ttl, refresh, now });
    case "DELETE":
      return compare
        ? write({ op: "compareAndDelete", path, prevValue, prevIndex, now })
        : write({ op: "delete", path, dir, recursive: req.recursive, now });
  }
}

function write(command: Command): KeysOperation {
  return { kind: "write", command };
}
