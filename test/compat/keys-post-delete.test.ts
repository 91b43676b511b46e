// POST (in-order keys) and DELETE (including compare-and-delete).
import { describe } from "vitest";
import { DELETE, GET, POST, PUT, sequence } from "./harness/compare";

describe("POST /v2/keys", () => {
  sequence("post-in-order", [
    POST("/v2/keys{p}/q", { value: "Job1" }, { note: "missing parent is created; 20-digit name" }),
    POST("/v2/keys{p}/q", { value: "Job2" }),
    PUT("/v2/keys{p}/other", { value: "x" }, { note: "counter is shared" }),
    POST("/v2/keys{p}/q", { value: "Job3" }),
    GET("/v2/keys{p}/q?sorted=true"),
    GET("/v2/keys{p}/q/{pad:2}", { note: "read an in-order key by name" }),
    POST("/v2/keys{p}/q", { dir: "true" }, { note: "in-order dir" }),
    POST("/v2/keys{p}/q", { value: "t", ttl: "3600" }, { ttl: "exact", note: "in-order with ttl" }),
    POST("/v2/keys{p}/q", {}, { note: "no value: empty string" }),
    POST("/v2/keys{p}/q?prevExist=false&prevValue=x&prevIndex=1", { value: "ignored compare" }),
    POST("/v2/keys{p}/q?prevExist=maybe", { value: "x" }, { note: "still validated: 209" }),
    POST("/v2/keys{p}/q/{pad:1}", { value: "under a file" }, { note: "104" }),
    POST("/v2/keys{p}/q?noValueOnSuccess=true", { value: "quiet" }),
    GET("/v2/keys{p}/q?recursive=true&sorted=true"),
    POST("/v2/keys", { value: "at root" }, { note: "POST to the root is allowed" }),
    GET("/v2/keys/{pad:10}"),
    DELETE("/v2/keys/{pad:10}", { note: "clean the root" }),
  ]);
});

describe("DELETE /v2/keys", () => {
  sequence("delete-basic", [
    PUT("/v2/keys{p}/f", { value: "v", ttl: "3600" }),
    DELETE("/v2/keys{p}/f", { note: "prevNode keeps value and ttl" }),
    GET("/v2/keys{p}/f"),
    DELETE("/v2/keys{p}/f", { note: "100" }),
    PUT("/v2/keys{p}/g", { value: "v" }),
    DELETE("/v2/keys{p}/g?dir=true&recursive=true", { note: "file deleted whatever dir/recursive say" }),
    PUT("/v2/keys{p}/d/a", { value: "1" }),
    PUT("/v2/keys{p}/d/b/c", { value: "2" }),
    DELETE("/v2/keys{p}/d", { note: "dir without dir=true: 102" }),
    DELETE("/v2/keys{p}/d?dir=true", { note: "non-empty: 108" }),
    DELETE("/v2/keys{p}/d?recursive=true", { note: "prevNode without children" }),
    GET("/v2/keys{p}/d"),
    PUT("/v2/keys{p}/e", { dir: "true" }),
    DELETE("/v2/keys{p}/e?dir=true", { note: "empty dir" }),
    DELETE("/v2/keys{p}/missing/deeper", { note: "cause = first missing" }),
    DELETE("/v2/keys/", { note: "root: 107" }),
    DELETE("/v2/keys?recursive=true", { note: "root: 107" }),
    DELETE("/v2/keys{p}/x", { note: "params in a DELETE body are ignored", body: "recursive=true", contentType: "application/x-www-form-urlencoded" }),
    PUT("/v2/keys{p}/y/z", { value: "1" }),
    DELETE("/v2/keys{p}/y", { note: "recursive in the body is ignored: 102", body: "recursive=true", contentType: "application/x-www-form-urlencoded" }),
    DELETE("/v2/keys{p}/y?recursive=t"),
  ]);

  sequence("delete-compare", [
    PUT("/v2/keys{p}/c", { value: "one" }),
    DELETE("/v2/keys{p}/c?prevValue=two", { note: "101 value" }),
    DELETE("/v2/keys{p}/c?prevIndex=999999", { note: "101 index" }),
    DELETE("/v2/keys{p}/c?prevValue=two&prevIndex=999999", { note: "101 both" }),
    DELETE("/v2/keys{p}/c?prevIndex={idx:1}", { note: "CAD by index" }),
    PUT("/v2/keys{p}/c", { value: "one" }),
    DELETE("/v2/keys{p}/c?prevValue=one", { note: "CAD by value" }),
    DELETE("/v2/keys{p}/c?prevValue=one", { note: "missing: 100" }),
    PUT("/v2/keys{p}/dir/x", { value: "1" }),
    DELETE("/v2/keys{p}/dir?prevValue=x", { note: "CAD on a dir: 102" }),
    DELETE("/v2/keys{p}/dir?prevIndex={idx:3}&recursive=true", { note: "CAD ignores recursive: 102" }),
    DELETE("/v2/keys/?prevValue=x", { note: "root CAD quirk: 102 without cause" }),
    DELETE("/v2/keys?prevIndex=1", { note: "root CAD quirk" }),
    DELETE("/v2/keys{p}/dir/x?prevValue=", { note: "201 empty prevValue" }),
    DELETE("/v2/keys{p}/dir/x?prevIndex=0", { note: "prevIndex=0 = plain delete" }),
  ]);
});
