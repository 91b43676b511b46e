// PUT on /v2/keys: set, create, update, compare-and-swap, directories, TTLs,
// refresh, noValueOnSuccess and etcd's documented quirks.
import { describe } from "vitest";
import { GET, PUT, sequence, sleep } from "./harness/compare";

// TTLs here are long (3600 s) so no key expires while the suite runs (an
// expiry would consume an index in the middle of some later sequence).
describe("PUT /v2/keys", () => {
  sequence("put-set-create-replace", [
    PUT("/v2/keys{p}/k", { value: "one" }, { note: "create: 201, no prevNode" }),
    PUT("/v2/keys{p}/k", { value: "two" }, { note: "replace: 200 with prevNode, new createdIndex" }),
    GET("/v2/keys{p}/k"),
    PUT("/v2/keys{p}/k", {}, { note: "value missing: empty string" }),
    GET("/v2/keys{p}/k"),
    PUT("/v2/keys{p}/k", "value=", { note: "explicit empty value" }),
    PUT("/v2/keys{p}/a/b/c", { value: "deep" }, { note: "implicit parents" }),
    GET("/v2/keys{p}/a?recursive=true"),
    PUT("/v2/keys{p}/k?value=fromquery", undefined, { note: "value in the query string" }),
    PUT("/v2/keys{p}/k?value=query", { value: "body" }, { note: "body beats query" }),
    PUT("/v2/keys{p}/k", "value=a+b%20c%2Bd", { note: "+ is a space in forms" }),
    PUT("/v2/keys", { value: "x" }, { note: "set on root: 107" }),
    PUT("/v2/keys/", { value: "x", prevExist: "false" }, { note: "create on root: 107" }),
    PUT("/v2/keys/?prevExist=true", { value: "x" }, { note: "update on root: 107" }),
    PUT("/v2/keys/?prevValue=x", { value: "x" }, { note: "CAS on root: 107" }),
  ]);

  sequence("put-dirs", [
    PUT("/v2/keys{p}/d", { dir: "true" }),
    PUT("/v2/keys{p}/d", { dir: "true" }, { note: "set on an existing dir, even with dir=true: 102" }),
    PUT("/v2/keys{p}/d", { value: "v" }, { note: "set value on a dir: 102" }),
    PUT("/v2/keys{p}/d?prevExist=false", { dir: "true" }, { note: "create existing dir: 105" }),
    PUT("/v2/keys{p}/d?prevExist=true", { value: "v" }, { note: "update dir with a value: 102" }),
    PUT("/v2/keys{p}/d?prevValue=x", { value: "v" }, { note: "CAS on a dir: 102" }),
    PUT("/v2/keys{p}/d", { dir: "true", value: "ignored", prevExist: "false" }, { note: "105 before value considered" }),
    PUT("/v2/keys{p}/f", { value: "file" }),
    PUT("/v2/keys{p}/f", { dir: "true" }, { note: "dir=true on a file replaces it with a dir" }),
    GET("/v2/keys{p}/f"),
    PUT("/v2/keys{p}/g", { value: "file" }),
    PUT("/v2/keys{p}/g?dir=true&prevExist=true", undefined, { note: "GH518 quirk: updates the file to an empty value" }),
    GET("/v2/keys{p}/g"),
    PUT("/v2/keys{p}/d2", { dir: "true", value: "ignored" }, { note: "value ignored with dir=true" }),
    PUT("/v2/keys{p}/d2?prevExist=true", { dir: "true", ttl: "3600" }, { note: "dir TTL via update", ttl: "exact" }),
    GET("/v2/keys{p}/d2", { note: "stored dir keeps its old modifiedIndex" }),
    PUT("/v2/keys{p}/d2?prevExist=true", { dir: "true", ttl: "" }, { note: "clear dir TTL" }),
    GET("/v2/keys{p}/d2"),
  ]);

  sequence("put-ttl", [
    PUT("/v2/keys{p}/t", { value: "v", ttl: "3600" }, { ttl: "exact", note: "expiration + ttl fields" }),
    GET("/v2/keys{p}/t"),
    PUT("/v2/keys{p}/t?prevExist=true", { value: "v2", ttl: "" }, { note: "ttl= empty removes the TTL" }),
    GET("/v2/keys{p}/t"),
    PUT("/v2/keys{p}/t", { value: "v3", ttl: "3600" }, { ttl: "exact" }),
    PUT("/v2/keys{p}/t", { value: "v4" }, { note: "a write without ttl clears it" }),
    PUT("/v2/keys{p}/t", { value: "v5", ttl: "0" }, { note: "ttl=0 expires now (removed at the next sweep)" }),
    // The expiry takes an index; let it happen on both targets before going on.
    sleep(1500),
    GET("/v2/keys{p}/t", { note: "expired" }),
    PUT("/v2/keys{p}/u", { value: "u", ttl: "3600" }, { ttl: "exact" }),
    PUT("/v2/keys{p}/u?ttl=1800", { value: "u2" }, { ttl: "exact", note: "ttl from the query" }),
    PUT("/v2/keys{p}/dd?dir=true&ttl=3600", undefined, { ttl: "exact", note: "dir with ttl" }),
    GET("/v2/keys{p}?sorted=true", { note: "children show ttl/expiration; t expired by ttl=0 maybe gone" }),
  ]);

  sequence("put-refresh", [
    PUT("/v2/keys{p}/r", { value: "keep", ttl: "3600" }, { ttl: "exact" }),
    PUT("/v2/keys{p}/r", { ttl: "3000", refresh: "true", prevExist: "true" }, { ttl: "exact", note: "documented refresh: action update, value kept" }),
    GET("/v2/keys{p}/r"),
    PUT("/v2/keys{p}/r", { ttl: "2000", refresh: "true" }, { ttl: "exact", note: "refresh without prevExist: action set, new createdIndex" }),
    GET("/v2/keys{p}/r"),
    PUT("/v2/keys{p}/r?prevValue=keep", { ttl: "1000", refresh: "true" }, { ttl: "exact", note: "refresh + CAS keeps the value" }),
    PUT("/v2/keys{p}/r", { ttl: "100", refresh: "true", value: "x" }, { note: "211" }),
    PUT("/v2/keys{p}/r", { refresh: "true", prevExist: "true" }, { note: "212 no ttl" }),
    PUT("/v2/keys{p}/r", { refresh: "true", ttl: "" }, { note: "212 empty ttl" }),
    PUT("/v2/keys{p}/r", { refresh: "true", value: "", ttl: "100" }, { note: "empty value is fine", ttl: "exact" }),
    PUT("/v2/keys{p}/missing", { ttl: "100", refresh: "true" }, { note: "refresh of missing key: 100" }),
    PUT("/v2/keys{p}/missing", { ttl: "100", refresh: "true", prevExist: "true" }),
    PUT("/v2/keys{p}/rd?dir=true", undefined),
    PUT("/v2/keys{p}/rd", { ttl: "100", refresh: "true" }, { note: "dir refresh without prevExist: 102" }),
    PUT("/v2/keys{p}/rd", { ttl: "100", refresh: "true", prevExist: "true" }, { ttl: "exact", note: "dir refresh with prevExist" }),
    PUT("/v2/keys{p}/r", { ttl: "100", refresh: "maybe" }, { note: "209 refresh not a bool" }),
  ]);

  sequence("put-prevexist", [
    PUT("/v2/keys{p}/c?prevExist=false", { value: "one" }, { note: "create: 201 action create" }),
    PUT("/v2/keys{p}/c?prevExist=false", { value: "two" }, { note: "105" }),
    PUT("/v2/keys{p}/c?prevExist=true", { value: "three" }, { note: "update: 200 action update" }),
    PUT("/v2/keys{p}/nope?prevExist=true", { value: "x" }, { note: "update missing: 100" }),
    PUT("/v2/keys{p}/nope/deeper?prevExist=true", { value: "x" }, { note: "cause = first missing" }),
    PUT("/v2/keys{p}/c?prevExist=false&prevValue=zzz&prevIndex=999999", { value: "x" }, { note: "prevExist=false ignores compare: 105" }),
    PUT("/v2/keys{p}/c2?prevExist=false&prevValue=zzz", { value: "x" }, { note: "prevExist=false ignores compare: creates" }),
    PUT("/v2/keys{p}/c?prevExist=0", { value: "x" }, { note: "0 is false" }),
    PUT("/v2/keys{p}/c?prevExist=T", { value: "four" }, { note: "T is true" }),
    PUT("/v2/keys{p}/c?prevExist=maybe", { value: "x" }, { note: "209 without quotes" }),
    PUT("/v2/keys{p}/c?prevExist=", { value: "x" }, { note: "209 empty" }),
    PUT("/v2/keys{p}/c?prevExist=true&prevIndex=0", { value: "five" }, { note: "prevIndex=0 means not given: update" }),
  ]);

  sequence("put-cas", [
    PUT("/v2/keys{p}/x", { value: "one" }),
    PUT("/v2/keys{p}/x?prevValue=one", { value: "two" }, { note: "CAS by value" }),
    PUT("/v2/keys{p}/x?prevValue=one", { value: "three" }, { note: "101 value" }),
    PUT("/v2/keys{p}/x?prevIndex={idx:2}", { value: "three" }, { note: "CAS by index" }),
    PUT("/v2/keys{p}/x?prevIndex=999999", { value: "four" }, { note: "101 index" }),
    PUT("/v2/keys{p}/x?prevIndex={idx:1}", { value: "four" }, { note: "101 stale index" }),
    PUT("/v2/keys{p}/x?prevValue=bad&prevIndex=999999", { value: "four" }, { note: "101 both" }),
    PUT("/v2/keys{p}/x?prevValue=three&prevIndex={idx:3}", { value: "four" }, { note: "both match" }),
    PUT("/v2/keys{p}/x?prevValue=four&prevIndex=999999&prevExist=true", { value: "five" }, { note: "prevExist=true + compare = CAS" }),
    PUT("/v2/keys{p}/x?prevValue=four&prevExist=true", { value: "five" }),
    PUT("/v2/keys{p}/x?prevIndex=18446744073709551615", { value: "z" }, { note: "libkv MaxUint64 forced failure" }),
    PUT("/v2/keys{p}/x?prevIndex=18446744073709551616", { value: "z" }, { note: "overflow: 203" }),
    PUT("/v2/keys{p}/missing?prevValue=a", { value: "b" }, { note: "CAS missing: 100" }),
    PUT("/v2/keys{p}/x", { value: "y", prevValue: "five" }, { note: "prevValue in the form body" }),
    PUT("/v2/keys{p}/x", { value: "y", prevIndex: "{idx:1}" }, { note: "prevIndex in the form body, stale" }),
    PUT("/v2/keys{p}/x?prevValue=y", { value: "w", ttl: "3600" }, { ttl: "exact", note: "CAS sets a TTL" }),
    PUT("/v2/keys{p}/x?prevValue=w", { value: "v" }, { note: "CAS without ttl clears it" }),
    PUT("/v2/keys{p}/x?prevValue=%3Cv%3E", { value: "v" }, { note: "cause with html chars" }),
    GET("/v2/keys{p}/x"),
  ]);

  sequence("put-novalueonsuccess", [
    PUT("/v2/keys{p}/n?noValueOnSuccess=true", { value: "one" }, { note: "201 {\"action\":\"set\"}" }),
    PUT("/v2/keys{p}/n?noValueOnSuccess=true", { value: "two" }),
    PUT("/v2/keys{p}/n?noValueOnSuccess=true&prevValue=two", { value: "three" }),
    PUT("/v2/keys{p}/n?noValueOnSuccess=true&prevExist=true", { value: "four" }),
    PUT("/v2/keys{p}/m?noValueOnSuccess=true&prevExist=false", { value: "one" }),
    PUT("/v2/keys{p}/n?noValueOnSuccess=true&prevValue=nope", { value: "x" }, { note: "errors unaffected" }),
    PUT("/v2/keys{p}/n", { value: "five", noValueOnSuccess: "true" }, { note: "in the form body" }),
    PUT("/v2/keys{p}/n?noValueOnSuccess=false", { value: "six" }),
    PUT("/v2/keys{p}/n?noValueOnSuccess=yes", { value: "x" }, { note: "209" }),
    GET("/v2/keys{p}/n?noValueOnSuccess=true", { note: "ignored on GET" }),
  ]);
});
