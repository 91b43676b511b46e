// etcd 3.4's v3 KV API over its JSON gateway (POST /v3/kv/{range,put,
// deleterange,txn,compaction}), compared with real etcd step by step. See
// harness/v3.ts for the DSL and what is normalised:
//   k("/a")  the key {p}/a of this sequence (base64 on the wire)
//   b("x")   other bytes (values), base64 on the wire
//   rev(n)   revision base+n as an int64 string; revNum(n) as a JSON number
// where base is the target's revision when the sequence starts. Answers show
// revisions as "base+n" and keys/values as k(...)/b(...).
import { describe } from "vitest";
import {
  b,
  call,
  cmp,
  compact,
  del,
  k,
  kEnd,
  mask,
  opDel,
  opPut,
  opRange,
  opTxn,
  put,
  range,
  rangePrefix,
  raw,
  rev,
  revNum,
  shaped,
  txn,
  v3sequence,
  type Result,
  type Target,
  type V3Step,
} from "./harness/v3";
import { walkEntries } from "./harness/json";

/** A txn with only compares: the answer says which branch was taken ("succeeded" present or not). */
const check = (note: string, ...compare: unknown[]) => txn({ compare }, note);

describe("v3 KV: put", () => {
  v3sequence("v3-put", [
    range("/a", {}, "a miss: header only, no kvs, no count"),
    put("/a", "1", {}, "create: header only"),
    put("/a", "2", { prev_kv: true }, "prev_kv: the old kv"),
    put("/a", "2", { prev_kv: true }, "the same value again still bumps mod_revision and version"),
    range("/a"),
    put("/b", "x", { prev_kv: true }, "prev_kv on a new key: no prev_kv"),
    put("/b", undefined, { prev_kv: true }, "no value: the empty value (omitted in kvs)"),
    range("/b"),
    put("/a", undefined, { ignore_value: true, prev_kv: true }, "ignore_value keeps the value, bumps the version"),
    range("/a"),
    put("/missing", undefined, { ignore_value: true }, "ignore_value on a missing key: 400 key not found"),
    put("/a", "3", { ignore_lease: true }, "ignore_lease on a key without lease"),
    put("/missing", "x", { ignore_lease: true }, "ignore_lease on a missing key: key not found too"),
    put("/a", "4", { ignore_value: true }, "value + ignore_value: value is provided"),
    put("/a", "4", { ignore_lease: true, lease: "5" }, "lease + ignore_lease: lease is provided"),
    put("/a", "4", { lease: "12345" }, "a lease that does not exist: 404 code 5"),
    put("/a", "4", { lease: 12345 }, "the same, lease as a JSON number"),
    put("/a", "4", { lease: "0" }, "lease 0 = no lease"),
    call("/v3/kv/put", { key: "", value: b("x") }, "empty key: key is not provided"),
    call("/v3/kv/put", { value: b("x") }, "no key at all"),
    put("/a", "5", { prev_kv: false }, "after the errors: the revision did not move"),
    put("/nul\u0000é", "\u0000bin\u00ff", {}, "NUL and non-ASCII in key and value"),
    range("/nul\u0000é"),
    put("", "the prefix itself", { prev_kv: true }),
    rangePrefix("", {}, "everything the sequence wrote"),
  ]);
});

describe("v3 KV: range", () => {
  v3sequence("v3-range", [
    put("/a", "1"),
    put("/b/1", "2"),
    put("/b/2", "3"),
    put("/c", "4"),
    put("0", "5", {}, "{p}0: the end of the prefix range of {p}/"),
    range("/b/1", {}, "single key"),
    range("/b", {}, "a prefix of existing keys is not itself a key: miss"),
    rangePrefix("/", {}, "prefix: 4 keys, {p}0 excluded"),
    rangePrefix("/b/", {}, "prefix /b/"),
    range("/b/1", { range_end: b("\u0000") }, 'range_end "\\0": every key >= key, to the end of the keyspace'),
    range("/a", { range_end: k("/c") }, "[a, c)"),
    range("/c", { range_end: k("/a") }, "range_end before key: nothing"),
    range("/a", { range_end: k("/a") }, "range_end == key: nothing"),
    rangePrefix("/", { limit: 2 }, "limit 2: more, and count is the total before the limit"),
    rangePrefix("/", { limit: "4" }, "limit = count: no more"),
    rangePrefix("/", { limit: 10 }),
    rangePrefix("/", { limit: "-1" }, "negative limit"),
    rangePrefix("/", { keys_only: true }, "keys_only: no values"),
    rangePrefix("/", { count_only: true }, "count_only: only the count"),
    rangePrefix("/", { count_only: true, limit: 1 }, "count_only with limit"),
    rangePrefix("/", { count_only: true, keys_only: true }),
    range("/nothing/", { range_end: kEnd("/nothing/"), count_only: true }, "count_only over an empty range: no count"),
    range("/b/1", { serializable: true }, "serializable"),
    rangePrefix("/", { serializable: true, limit: 1 }),
    shaped(
      call("/v3/kv/range", { key: b("\u0000"), range_end: b("\u0000"), min_create_revision: rev(1), keys_only: true }, '"\\0".."\\0" = all keys (filtered to this sequence; count masked: it counts every key in the store)'),
      mask("count"),
    ),
    call("/v3/kv/range", { key: "", range_end: b("\u0000") }, 'empty key with range_end "\\0": key is not provided'),
    call("/v3/kv/range", {}, "no key"),
    call("/v3/kv/range", { range_end: k("/z") }, "range_end without key"),
  ]);

  v3sequence("v3-range-revisions", [
    put("/a", "1"),
    put("/a", "2"),
    put("/b", "x"),
    del("/a"),
    put("/a", "3", {}, "recreated: new create_revision, version 1"),
    range("/a", { revision: rev(1) }, "in the past: the first value; header.revision is the current one"),
    range("/a", { revision: rev(2) }),
    range("/a", { revision: rev(4) }, "deleted at that revision: miss"),
    range("/a", { revision: rev(5) }),
    rangePrefix("/", { revision: rev(3) }),
    rangePrefix("/", { revision: rev(3), count_only: true }),
    rangePrefix("/", { revision: revNum(1) }, "revision as a JSON number"),
    range("/a", { revision: "0" }, "revision 0 = current"),
    range("/a", { revision: "-5" }, "negative revision = current"),
    range("/a", { revision: rev(6) }, "the next revision: future revision error"),
    range("/a", { revision: rev(1000) }),
  ]);

  // Values chosen so that no two keys tie on any target and each target
  // orders them differently:
  //   KEY a b c d   VERSION b(1) c(2) a(3) d(4)   CREATE c a d b   MOD b c d a   VALUE d(e) c(m) a(q) b(x)
  const sortSetup: V3Step[] = [
    put("/s/c", "c1"),
    put("/s/a", "a1"),
    put("/s/d", "d1"),
    put("/s/b", "x"),
    put("/s/d", "d2"),
    put("/s/a", "a2"),
    put("/s/d", "d3"),
    put("/s/c", "m"),
    put("/s/d", "e"),
    put("/s/a", "q"),
  ];
  const targets = ["KEY", "VERSION", "CREATE", "MOD", "VALUE"];
  v3sequence("v3-range-sort", [
    ...sortSetup,
    ...targets.flatMap((t) => [
      rangePrefix("/s/", { sort_target: t, sort_order: "ASCEND" }, `${t} ascending`),
      rangePrefix("/s/", { sort_target: t, sort_order: "DESCEND" }, `${t} descending`),
    ]),
    rangePrefix("/s/", { sort_target: "VERSION" }, "a target without an order sorts ascending"),
    rangePrefix("/s/", { sort_target: "KEY", sort_order: "NONE" }, "NONE: key order"),
    rangePrefix("/s/", { sort_order: "DESCEND" }, "order without a target: by key"),
    rangePrefix("/s/", { sort_target: 3, sort_order: 2 }, "enums as numbers: MOD, DESCEND"),
    rangePrefix("/s/", { sort_target: "MOD", sort_order: "DESCEND", limit: 2 }, "sorted, then the limit: more + total count"),
    rangePrefix("/s/", { sort_target: "CREATE", sort_order: "ASCEND", limit: 1 }, "the lock recipe's first creator"),
    rangePrefix("/s/", { sort_target: "CREATE", sort_order: "DESCEND", limit: 1, max_create_revision: rev(3) }, "the lock recipe's waitDeletes"),
    rangePrefix("/s/", { sort_target: "VALUE", sort_order: "DESCEND", keys_only: true }),
    rangePrefix("/s/", { sort_target: "VALUE", sort_order: "ASCEND", count_only: true }),
    rangePrefix("/s/", { sort_target: "MOD", sort_order: 7 }, "an order number that is neither ASCEND nor DESCEND: unsorted (key order)"),
    rangePrefix("/s/", { sort_order: "BOGUS" }, "unknown enum name"),
    rangePrefix("/s/", { sort_order: "descend" }, "enum names are case-sensitive"),
    rangePrefix("/s/", { sort_target: "BOGUS" }),
  ]);

  v3sequence("v3-range-filters", [
    put("/a", "1"),
    put("/b", "1"),
    put("/c", "1"),
    put("/a", "2"),
    put("/b", "2"),
    // create: a 1, b 2, c 3; mod: a 4, b 5, c 3
    rangePrefix("/", { min_mod_revision: rev(4) }, "min_mod: a, b; count is taken before the filters"),
    rangePrefix("/", { max_mod_revision: rev(3) }, "max_mod: c"),
    rangePrefix("/", { min_create_revision: rev(2) }, "min_create: b, c"),
    rangePrefix("/", { max_create_revision: rev(1) }, "max_create: a"),
    rangePrefix("/", { min_create_revision: rev(2), max_mod_revision: rev(4) }, "both: c"),
    rangePrefix("/", { min_mod_revision: rev(4), limit: 1 }, "filter then limit: more"),
    rangePrefix("/", { min_mod_revision: rev(100) }, "filters leaving nothing: count still 3"),
    rangePrefix("/", { min_mod_revision: revNum(5), max_mod_revision: revNum(5) }, "as JSON numbers"),
    rangePrefix("/", { revision: rev(3), min_mod_revision: rev(2) }, "at a past revision"),
    rangePrefix("/", { min_mod_revision: rev(4), count_only: true }, "count_only ignores the filters"),
    rangePrefix("/", { min_mod_revision: rev(4), keys_only: true }),
    rangePrefix("/", { max_mod_revision: "-1" }, "negative filter"),
  ]);
});

describe("v3 KV: deleterange", () => {
  v3sequence("v3-deleterange", [
    put("/a", "1"),
    put("/b/1", "2"),
    put("/b/2", "3"),
    put("/c", "4"),
    put("0", "5"),
    put("/d", "6"),
    del("/a", {}, "one key: deleted 1"),
    del("/a", {}, "again: missing key, no deleted, revision not bumped"),
    del("/missing", { prev_kv: true }, "missing key with prev_kv"),
    rangePrefix("/", {}, "the revision did not move"),
    del("/b/", { range_end: kEnd("/b/"), prev_kv: true }, "prefix with prev_kv: deleted 2, prev_kvs"),
    del("/c", { range_end: k("/a") }, "range_end before key: nothing"),
    del("/c", { range_end: b("\u0000"), prev_kv: false }, 'range_end "\\0": /c, /d and {p}0'),
    rangePrefix("", {}, "nothing left"),
    rangePrefix("", { revision: rev(6) }, "but everything at a past revision"),
    call("/v3/kv/deleterange", { key: "" }, "empty key: key is not provided"),
    call("/v3/kv/deleterange", {}),
  ]);
});

describe("v3 KV: txn", () => {
  // {p}/k: value "m", version 2, create base+1, mod base+2, no lease.
  const targetResults: Array<[Target, Result, unknown, string]> = [
    ["VERSION", "EQUAL", "2", "true"],
    ["VERSION", "EQUAL", "1", "false"],
    ["VERSION", "NOT_EQUAL", "1", "true"],
    ["VERSION", "NOT_EQUAL", "2", "false"],
    ["VERSION", "GREATER", "1", "true"],
    ["VERSION", "GREATER", "2", "false"],
    ["VERSION", "LESS", "3", "true"],
    ["VERSION", "LESS", "2", "false"],
    ["VERSION", "EQUAL", 2, "true: operand as a JSON number"],
    ["CREATE", "EQUAL", rev(1), "true"],
    ["CREATE", "NOT_EQUAL", rev(1), "false"],
    ["CREATE", "GREATER", rev(0), "true"],
    ["CREATE", "LESS", rev(1), "false"],
    ["MOD", "EQUAL", rev(2), "true"],
    ["MOD", "EQUAL", rev(1), "false"],
    ["MOD", "NOT_EQUAL", rev(1), "true"],
    ["MOD", "GREATER", rev(2), "false"],
    ["MOD", "LESS", rev(3), "true"],
    ["MOD", "LESS", revNum(2), "false"],
    ["VALUE", "EQUAL", "m", "true"],
    ["VALUE", "EQUAL", "n", "false"],
    ["VALUE", "NOT_EQUAL", "m", "false"],
    ["VALUE", "GREATER", "l", "true"],
    ["VALUE", "GREATER", "mm", "false: bytewise"],
    ["VALUE", "LESS", "n", "true"],
    ["VALUE", "LESS", "m", "false"],
    ["VALUE", "GREATER", undefined, "true: no operand = empty value"],
    ["LEASE", "EQUAL", "0", "true: no lease = lease 0"],
    ["LEASE", "NOT_EQUAL", "0", "false"],
    ["LEASE", "GREATER", "0", "false"],
    ["LEASE", "LESS", "1", "true"],
    ["LEASE", "EQUAL", undefined, "true: no operand = 0"],
  ];
  v3sequence("v3-txn-compare", [
    put("/k", "m"),
    put("/k", "m"),
    ...targetResults.map(([t, r, operand, want]) => check(`${t} ${r}: ${want}`, cmp("/k", t, r, operand))),
    check("all compares must hold", cmp("/k", "VERSION", "EQUAL", "2"), cmp("/k", "VALUE", "EQUAL", "x")),
    check("all hold", cmp("/k", "VERSION", "EQUAL", "2"), cmp("/k", "VALUE", "EQUAL", "m"), cmp("/k", "MOD", "EQUAL", rev(2))),
    check("only the key: VERSION EQUAL 0 -> false on an existing key", { key: k("/k") }),
    check("enums as numbers: VALUE(3) EQUAL(0)", { key: k("/k"), target: 3, result: 0, value: b("m") }),
    check("MOD with a version operand: compares mod_revision against 0", { key: k("/k"), target: "MOD", result: "GREATER", version: "99999" }),
    check("VERSION with a value operand: compares version against 0", { key: k("/k"), target: "VERSION", result: "EQUAL", value: b("m") }),
    check("result number 9 (no such result): always true", { key: k("/k"), target: "VERSION", result: 9, version: "5" }),
    check("target number 9 (no such target): compares as equal", { key: k("/k"), target: 9, result: "EQUAL", version: "5" }),
    check("unknown target", { key: k("/k"), target: "BOGUS", result: "EQUAL" }),
    check("unknown result", { key: k("/k"), target: "VERSION", result: "BOGUS" }),
    check("compare with an empty key: key is not provided", { key: "", target: "VERSION", result: "EQUAL" }),
    check("compare without key", { target: "VERSION", result: "EQUAL" }),
    txn({}, "empty txn: succeeded, no responses, revision not bumped"),
  ]);

  v3sequence("v3-txn-missing-and-ranges", [
    check("missing key, defaults (VERSION EQUAL 0): true", { key: k("/none") }),
    check("missing: CREATE EQUAL 0", cmp("/none", "CREATE", "EQUAL", "0")),
    check("missing: MOD LESS base+1", cmp("/none", "MOD", "LESS", rev(1))),
    check("missing: LEASE EQUAL 0", cmp("/none", "LEASE", "EQUAL", "0")),
    check("missing: VALUE EQUAL empty is always false", cmp("/none", "VALUE", "EQUAL", "")),
    check("missing: VALUE NOT_EQUAL is false too", cmp("/none", "VALUE", "NOT_EQUAL", "x")),
    check("missing: VALUE LESS", cmp("/none", "VALUE", "LESS", "x")),
    put("/r/a", "1"),
    put("/r/b", "1"),
    put("/r/c", "2"),
    check("range [a, c): every value 1: true", cmp("/r/a", "VALUE", "EQUAL", "1", { range_end: k("/r/c") })),
    check("prefix /r/: c is 2: false", cmp("/r/", "VALUE", "EQUAL", "1", { range_end: kEnd("/r/") })),
    check("prefix: every version > 0", cmp("/r/", "VERSION", "GREATER", "0", { range_end: kEnd("/r/") })),
    check("prefix: every mod < base+3: false", cmp("/r/", "MOD", "LESS", rev(3), { range_end: kEnd("/r/") })),
    check("prefix: every create < base+4", cmp("/r/", "CREATE", "LESS", rev(4), { range_end: kEnd("/r/") })),
    check('range_end "\\0": b and c', cmp("/r/b", "VALUE", "GREATER", "0", { range_end: b("\u0000") })),
    check("an empty range compares as a missing key: VERSION EQUAL 0", cmp("/x/", "VERSION", "EQUAL", "0", { range_end: kEnd("/x/") })),
    check("an empty range: VALUE always false", cmp("/x/", "VALUE", "NOT_EQUAL", "1", { range_end: kEnd("/x/") })),
    check("camelCase rangeEnd in a compare (the key {p}/r/ itself does not exist)", cmp("/r/", "VERSION", "GREATER", "0", { rangeEnd: kEnd("/r/") })),
  ]);

  v3sequence("v3-txn-branches", [
    put("/c", "0"),
    txn(
      { compare: [cmp("/a", "CREATE", "EQUAL", "0")], success: [opPut("/a", "1")], failure: [opRange("/a")] },
      "create if missing: success branch, one put",
    ),
    txn(
      { compare: [cmp("/a", "CREATE", "EQUAL", "0")], success: [opPut("/a", "1")], failure: [opRange("/a")] },
      'again: the failure branch, no "succeeded", revision not bumped',
    ),
    txn(
      {
        compare: [cmp("/a", "MOD", "EQUAL", rev(2))],
        success: [
          opRange("/", { range_end: kEnd("/"), keys_only: true }),
          opPut("/a", "2", { prev_kv: true }),
          opPut("/b", "1"),
          opRange("/", { range_end: kEnd("/") }),
          opDel("/c", { prev_kv: true }),
          opRange("/c"),
        ],
      },
      "ops see the earlier writes of the same txn, which share one revision; a range before the first write reports the old revision",
    ),
    rangePrefix("/"),
    txn({ compare: [cmp("/b", "VALUE", "EQUAL", "nope")], success: [opPut("/b", "s")], failure: [opPut("/b", "f", { prev_kv: true }), opRange("/b")] }, "writes in the failure branch"),
    txn({ compare: [cmp("/b", "VALUE", "EQUAL", "nope")], success: [opPut("/b", "s")] }, "false compare, no failure ops: no responses"),
    txn({ success: [opRange("/b"), opRange("/", { range_end: kEnd("/"), count_only: true })] }, "read-only txn: revision not bumped"),
    txn({ success: [opRange("/b", { revision: rev(2) }), opRange("/a", { revision: rev(2) }), opRange("/c", { revision: rev(2) })] }, "ranges at a past revision inside a txn"),
    txn({ success: [opDel("/missing")] }, "a txn whose only write deletes nothing"),
    range("/b", {}, "did that bump the revision?"),
    txn({ success: [opPut("/c", "1"), opDel("/missing", { prev_kv: true })] }),
    txn({ success: [opRange("/b", { revision: rev(100) })] }, "future revision in a range op"),
    txn({ success: [opPut("/missing2", undefined, { ignore_value: true })] }, "ignore_value on a missing key inside the taken branch"),
    txn({ success: [opRange("/b")], failure: [opPut("/missing2", undefined, { ignore_value: true })] }, "the same in the branch not taken"),
    txn({ success: [opPut("/b", "l", { lease: "12345" })] }, "a lease that does not exist"),
    txn({ success: [opPut("/b", "x", { ignore_value: true })] }, "value + ignore_value"),
    txn({ success: [opPut("/b", "x", { lease: "1", ignore_lease: true })] }, "lease + ignore_lease"),
    txn({ success: [{ request_put: { value: b("x") } }] }, "op put without key"),
    txn({ success: [{ request_range: { key: "" } }] }, "op range with an empty key"),
    txn({ success: [{ request_delete_range: {} }] }, "op delete without key"),
    txn({ success: [{}] }, "an empty op"),
    rangePrefix("/", {}, "nothing changed by the failed txns"),
  ]);

  v3sequence("v3-txn-nested", [
    put("/x", "1"),
    txn(
      {
        success: [
          opPut("/a", "1"),
          opTxn({ compare: [cmp("/x", "VALUE", "EQUAL", "1")], success: [opPut("/n", "then"), opRange("/a")], failure: [opPut("/n", "else")] }),
        ],
      },
      'nested txn: response_txn with "header":{}',
    ),
    txn(
      { success: [opTxn({ compare: [cmp("/x", "VALUE", "EQUAL", "2")], success: [opPut("/n", "then")], failure: [opPut("/n", "else"), opRange("/n")] })] },
      "nested failure branch",
    ),
    txn(
      {
        compare: [cmp("/x", "VALUE", "EQUAL", "2")],
        failure: [opTxn({ success: [opTxn({ success: [opRange("/n", { keys_only: true })] })] })],
      },
      "nested twice, in the failure branch",
    ),
    txn(
      { success: [opPut("/y", "1"), opTxn({ compare: [cmp("/y", "VALUE", "EQUAL", "1")], success: [opPut("/z", "saw the write")], failure: [opPut("/z", "did not")] })] },
      "a nested compare is evaluated before any op of the txn runs",
    ),
    range("/z"),
    txn({ success: [opTxn({ compare: [cmp("/x", "VERSION", "GREATER", "5")] })] }, "nested txn with only a failing compare"),
  ]);

  v3sequence("v3-txn-errors", [
    put("/a", "1"),
    put("/d/1", "1"),
    txn({ success: [opPut("/a", "2"), opPut("/a", "3")] }, "the same key put twice: duplicate key"),
    txn({ success: [opPut("/a", "2"), opDel("/a")] }, "put and delete of one key"),
    txn({ success: [opDel("/a"), opPut("/a", "2")] }, "delete, then put"),
    txn({ success: [opPut("/d/2", "2"), opDel("/d/", { range_end: kEnd("/d/") })] }, "a put inside a deleted range"),
    txn({ success: [opDel("/", { range_end: b("\u0000") }), opPut("/zz", "2")] }, 'a put inside a range to "\\0"'),
    txn({ success: [opDel("/d/", { range_end: kEnd("/d/") }), opTxn({ success: [opPut("/d/3", "3")] })] }, "a nested put inside an outer deleted range"),
    txn({ success: [opPut("/a", "2"), opTxn({ success: [opPut("/a", "3")] })] }, "outer put and nested put of one key"),
    txn({ success: [opTxn({ success: [opPut("/a", "2")] }), opTxn({ success: [opPut("/a", "3")] })] }, "two nested txns putting one key"),
    txn({ success: [opTxn({ success: [opPut("/a", "2")], failure: [opPut("/a", "3")] })] }, "then and else of one nested txn: allowed"),
    txn({ success: [opPut("/a", "s")], failure: [opPut("/a", "f")] }, "one key in success and failure: allowed"),
    txn({ success: [opDel("/a"), opDel("/", { range_end: kEnd("/") })] }, "overlapping deletes: allowed"),
    txn({ success: [opRange("/a"), opPut("/a", "r"), opRange("/a")] }, "range and put of one key: allowed"),
    txn({ success: Array.from({ length: 128 }, (_, i) => opPut(`/many/${String(i).padStart(3, "0")}`, String(i))) }, "128 ops: the limit"),
    range("/many/", { range_end: kEnd("/many/"), count_only: true }),
    txn({ success: Array.from({ length: 129 }, () => opRange("/a")) }, "129 ops: too many operations"),
    txn({ failure: Array.from({ length: 129 }, () => opRange("/a")) }, "129 failure ops"),
    txn({ compare: Array.from({ length: 129 }, () => cmp("/a", "VERSION", "GREATER", "0")) }, "129 compares"),
    txn(
      { success: [...Array.from({ length: 99 }, () => opRange("/a")), opTxn({ success: Array.from({ length: 29 }, () => opRange("/a")) })] },
      "nested: 100 outer ops leave room for 28 inner: 29 is too many",
    ),
    shaped(
      txn(
        { success: [...Array.from({ length: 99 }, () => opRange("/a")), opTxn({ success: Array.from({ length: 28 }, () => opRange("/a")) })] },
        "28 inner ops fit (answer trimmed to its shape)",
      ),
      // 99 + 28 identical range answers: keep the first and the last of each list.
      (node) =>
        walkEntries(node, (e) => {
          if (e.key === "responses" && e.value.t === "arr" && e.value.items.length > 2) e.value.items.splice(1, e.value.items.length - 2);
        }),
    ),
  ]);
});

describe("v3 KV: compaction", () => {
  v3sequence("v3-compaction", [
    put("/a", "1"),
    put("/a", "2"),
    put("/a", "3"),
    put("/b", "x"),
    compact(rev(2), {}, "compaction: header with the current revision"),
    range("/a", { revision: rev(1) }, "below the compaction: compacted"),
    range("/a", { revision: rev(2) }, "at the compaction revision: fine"),
    range("/a", { revision: rev(3) }),
    txn({ success: [opRange("/a", { revision: rev(1) })] }, "compacted revision in a txn range"),
    compact(rev(2), {}, "again at the same revision: compacted"),
    compact(rev(1), {}, "below it: compacted"),
    compact(rev(5), {}, "the next revision: future revision"),
    compact(rev(100)),
    compact(revNum(4), { physical: true }, "at the current revision, physical, as a JSON number"),
    range("/a", { revision: rev(3) }),
    rangePrefix("/", { revision: rev(4) }),
    compact("0", {}, "revision 0"),
    compact("-1", {}, "negative revision"),
    call("/v3/kv/compaction", {}, "no revision"),
    put("/a", "4", { prev_kv: true }, "writes go on"),
    range("/a"),
  ]);
});

describe("v3 gateway: malformed input and HTTP", () => {
  v3sequence("v3-malformed", [
    put("/a", "1"),
    raw("POST", "/v3/kv/put", '{"key":"{k:/a}",', { note: "truncated JSON" }),
    raw("POST", "/v3/kv/range", "not json"),
    raw("POST", "/v3/kv/range", "[]", { note: "an array" }),
    raw("POST", "/v3/kv/range", '"str"'),
    raw("POST", "/v3/kv/range", "null"),
    raw("POST", "/v3/kv/range", "", { note: "empty body: an empty request" }),
    raw("POST", "/v3/kv/range", '{"key":"{k:/a}"} trailing', { note: "trailing data after the object is ignored" }),
    raw("POST", "/v3/kv/range", '{"key":"{k:/a}"}{"key":"{k:/b}"}', { note: "so is a second object" }),
    raw("POST", "/v3/kv/range", ' \n {"key":"{k:/a}"}', { note: "leading whitespace" }),
    raw("POST", "/v3/kv/range", '{"key":"{k:/a}","key":"{k:/b}"}', { note: "a repeated field: the last wins" }),
    raw("POST", "/v3/kv/range", '{"key":null}', { note: "null key: key is not provided" }),
    raw("POST", "/v3/kv/put", '{"key":1}', { note: "wrong type for bytes" }),
    raw("POST", "/v3/kv/range", '{"key":"{k:/a}","limit":"abc"}', { note: "wrong type for int64" }),
    raw("POST", "/v3/kv/range", '{"key":"{k:/a}","limit":1.5}'),
    raw("POST", "/v3/kv/range", '{"key":"{k:/a}","limit":1e2}'),
    raw("POST", "/v3/kv/range", '{"key":"{k:/a}","limit":true}'),
    raw("POST", "/v3/kv/range", '{"key":"{k:/a}","limit":""}'),
    raw("POST", "/v3/kv/range", '{"key":"{k:/a}","limit":"0x10"}'),
    raw("POST", "/v3/kv/range", '{"key":"{k:/a}","limit":"1.0"}'),
    raw("POST", "/v3/kv/range", '{"key":"{k:/a}","revision":"9223372036854775807"}', { note: "int64 max: a future revision" }),
    raw("POST", "/v3/kv/range", '{"key":"{k:/a}","revision":"9223372036854775808"}', { note: "int64 overflow" }),
    raw("POST", "/v3/kv/range", '{"key":"{k:/a}","keys_only":"true"}', { note: "wrong type for bool" }),
    raw("POST", "/v3/kv/range", '{"key":"{k:/a}","keys_only":1}'),
    raw("POST", "/v3/kv/range", '{"key":"{k:/a}","limit":null,"keys_only":null}', { note: "null = default" }),
    raw("POST", "/v3/kv/txn", '{"compare":{}}', { note: "object where a list is expected" }),
    raw("POST", "/v3/kv/txn", '{"success":[{"request_put":"x"}]}', { note: "string where a message is expected" }),
    raw("POST", "/v3/kv/range", '{"key":"YStiL2M_"}', { note: "URL-safe base64" }),
    raw("POST", "/v3/kv/range", '{"key":"YStiL2M"}', { note: "unpadded base64" }),
    raw("POST", "/v3/kv/put", '{"key":"{k:/a}","value":"a b"}', { note: "bad base64 in the value" }),
    raw("POST", "/v3/kv/range", '{"key":"{k:/a}","range_end":"%%%"}', { note: "bad base64 in range_end" }),
    raw("POST", "/v3/kv/range", '{"key":"{k:/a}","sort_order":"BOGUS"}', { note: "unknown enum name" }),
    raw("POST", "/v3/kv/range", '{"key":"{k:/a}","bogus":1,"nested":{"x":[1,{"y":null}]}}', { note: "unknown fields are ignored" }),
    raw("POST", "/v3/kv/range", '{"key":"{k:/a}"}', { contentType: "application/x-www-form-urlencoded", note: "the request Content-Type is ignored" }),
    raw("POST", "/v3/kv/range", '{"key":"{k:/a}"}', { noContentType: true }),
    raw("POST", "/v3/kv/range", '{"key":"{k:/a}"}', { contentType: "text/plain" }),
    raw("POST", "/v3/kv/range?key=eA==&limit=1", '{"key":"{k:/a}"}', { note: "a query string is ignored" }),
    raw("POST", "/v3/kv/put", '{"key":"{k:/b}","value":"Mg==","prevKv":true}', { note: "camelCase aliases: prevKv" }),
    raw("POST", "/v3/kv/put", '{"key":"{k:/b}","value":"Mw==","prevKv":true}'),
    raw("POST", "/v3/kv/put", '{"key":"{k:/b}","ignoreValue":true,"ignoreLease":true}', { note: "ignoreValue, ignoreLease" }),
    raw("POST", "/v3/kv/range", '{"key":"{k:/}","rangeEnd":"{k:0}","keysOnly":true,"sortOrder":"DESCEND","sortTarget":"MOD"}', {
      note: "rangeEnd, keysOnly, sortOrder, sortTarget",
    }),
    raw("POST", "/v3/kv/range", '{"key":"{k:/}","rangeEnd":"{k:0}","countOnly":true,"minModRevision":"{rev:2}","maxCreateRevision":"{rev:3}"}'),
    raw("POST", "/v3/kv/range", '{"key":"{k:/}","range_end":"{k:0}","keys_only":false,"keysOnly":true}', { note: "both spellings: camelCase wins" }),
    raw("POST", "/v3/kv/range", '{"key":"{k:/}","range_end":"{k:0}","keysOnly":false,"keys_only":true}', { note: "whatever the order" }),
    raw(
      "POST",
      "/v3/kv/txn",
      '{"compare":[{"key":"{k:/b}","target":"MOD","result":"EQUAL","modRevision":"{rev:4}"}],"success":[{"requestRange":{"key":"{k:/b}"}},{"requestTxn":{"success":[{"requestPut":{"key":"{k:/c}","prevKv":true}},{"requestDeleteRange":{"key":"{k:/a}","prevKv":true}}]}}]}',
      { note: "camelCase in txn: modRevision, requestRange, requestTxn, requestPut, requestDeleteRange" },
    ),
    raw("POST", "/v3/kv/compaction", '{"revision":"{rev:1}","physical":false}'),
  ]);

  v3sequence("v3-http", [
    put("/a", "1"),
    raw("GET", "/v3/kv/range", undefined, { note: "GET: 405 text/plain" }),
    raw("GET", "/v3/kv/range", '{"key":"{k:/a}"}', { note: "GET with a body" }),
    raw("PUT", "/v3/kv/put", '{"key":"{k:/a}","value":"Mg=="}'),
    raw("DELETE", "/v3/kv/deleterange", '{"key":"{k:/a}"}'),
    raw("PATCH", "/v3/kv/txn", "{}"),
    raw("HEAD", "/v3/kv/range", undefined, { note: "HEAD: 405, no body" }),
    raw("OPTIONS", "/v3/kv/range", undefined, { note: "OPTIONS: 200" }),
    raw("OPTIONS", "/v3/kv/nope"),
    raw("POST", "/v3/kv/nope", "{}", { note: "unknown path under /v3: 404" }),
    raw("POST", "/v3/nope", "{}"),
    raw("GET", "/v3/nope"),
    raw("POST", "/v3/kv/range/", '{"key":"{k:/a}"}', { note: "trailing slash" }),
    raw("POST", "/v3/kv/range/x", '{"key":"{k:/a}"}'),
    raw("POST", "/v3/kv/Range", '{"key":"{k:/a}"}', { note: "paths are case-sensitive" }),
    raw("POST", "/v3/", "{}"),
    raw("POST", "/v3alpha/kv/range", '{"key":"{k:/a}"}', { note: "no /v3alpha in 3.4" }),
    raw("POST", "/v3beta/kv/range", '{"key":"{k:/a}"}', { note: "/v3beta is /v3" }),
    raw("POST", "/v3beta/kv/put", '{"key":"{k:/a}","value":"Mg==","prev_kv":true}'),
    raw("POST", "/v3beta/kv/txn", '{"success":[{"request_range":{"key":"{k:/a}"}}]}'),
    raw("POST", "/v3beta/kv/deleterange", '{"key":"{k:/a}","prev_kv":true}'),
    raw("POST", "/v3beta/kv/compaction", '{"revision":"{rev:1}"}'),
    raw("POST", "/v3beta/kv/range", '{"key":"{k:/a}","revision":"{rev:100}"}', { note: "errors on /v3beta" }),
    raw("GET", "/v3beta/kv/range", undefined),
    raw("POST", "/v3beta/kv/nope", "{}"),
  ]);
});

describe("v3 KV on a named cluster", () => {
  v3sequence(
    "v3-named",
    [
      range("/a", {}, "a miss"),
      put("/a", "1"),
      put("/a", "2", { prev_kv: true }),
      txn({ compare: [cmp("/a", "VERSION", "EQUAL", "2")], success: [opPut("/b", "1"), opRange("/", { range_end: kEnd("/") })] }),
      range("/a", { revision: rev(1) }),
      del("/", { range_end: kEnd("/"), prev_kv: true }),
      compact(rev(2)),
      range("/a", { revision: rev(1) }, "compacted"),
      range("/a", { revision: rev(100) }, "future"),
      put("/a", "x", { lease: "12345" }, "404"),
      raw("POST", "/v3beta/kv/range", '{"key":"{k:/b}","revision":"{rev:3}"}'),
      raw("GET", "/v3/kv/range"),
      raw("POST", "/v3/kv/nope", "{}"),
      raw("OPTIONS", "/v3/kv/put"),
      raw("POST", "/v3/kv/put", '{"key":1}'),
    ],
    { cluster: "named" },
  );
});
