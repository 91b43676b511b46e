// GET and HEAD on /v2/keys: files, directories, listings, hidden keys, errors.
import { describe } from "vitest";
import { GET, HEAD, PUT, sequence } from "./harness/compare";

describe("GET /v2/keys", () => {
  sequence("get-file-and-dir", [
    PUT("/v2/keys{p}/a", { value: "one" }),
    GET("/v2/keys{p}/a"),
    GET("/v2/keys{p}/a?recursive=true", { note: "recursive on a file is ignored" }),
    GET("/v2/keys{p}"),
    GET("/v2/keys{p}/", { note: "trailing slash is the same key" }),
    PUT("/v2/keys{p}/d/x", { value: "1" }),
    PUT("/v2/keys{p}/d/y/z", { value: "2" }),
    PUT("/v2/keys{p}/d/e", { dir: "true" }),
    GET("/v2/keys{p}/d?sorted=true", { note: "non-recursive: child dirs without nodes" }),
    GET("/v2/keys{p}/d?recursive=true&sorted=true"),
    GET("/v2/keys{p}/d/e", { note: "empty dir has no nodes field" }),
    GET("/v2/keys{p}?recursive=true&sorted=true"),
    GET("/v2/keys{p}/d/y?recursive=true"),
  ]);

  sequence("get-sorted-bytewise", [
    PUT("/v2/keys{p}/s/b", { value: "b" }),
    PUT("/v2/keys{p}/s/B", { value: "B" }),
    PUT("/v2/keys{p}/s/a", { value: "a" }),
    PUT("/v2/keys{p}/s/aa", { value: "aa" }),
    PUT("/v2/keys{p}/s/a-", { value: "a-" }),
    PUT("/v2/keys{p}/s/10", { value: "10" }),
    PUT("/v2/keys{p}/s/9", { value: "9" }),
    GET("/v2/keys{p}/s?sorted=true"),
    GET("/v2/keys{p}/s?sorted=1&recursive=t"),
  ]);

  sequence("get-hidden", [
    PUT("/v2/keys{p}/h/visible", { value: "v" }),
    PUT("/v2/keys{p}/h/_hidden", { value: "secret" }),
    PUT("/v2/keys{p}/h/_hdir/inner", { value: "deep" }),
    PUT("/v2/keys{p}/h/sub/_x", { value: "x" }),
    GET("/v2/keys{p}/h?recursive=true&sorted=true", { note: "hidden children omitted at every level" }),
    GET("/v2/keys{p}/h?sorted=true"),
    GET("/v2/keys{p}/h/_hidden", { note: "directly readable" }),
    GET("/v2/keys{p}/h/_hdir?recursive=true"),
    GET("/v2/keys{p}/h/sub", { note: "dir whose only child is hidden: no nodes" }),
  ]);

  sequence("get-errors", [
    GET("/v2/keys{p}/missing"),
    GET("/v2/keys{p}/missing/deeper/still", { note: "cause = first missing component" }),
    PUT("/v2/keys{p}/f", { value: "file" }),
    GET("/v2/keys{p}/f/under", { note: "104 through a file" }),
    GET("/v2/keys{p}/f/under/more"),
    GET("/v2/keys{p}/f/"),
    PUT("/v2/keys{p}/f/x", { value: "y" }, { note: "write through a file: 104" }),
  ]);

  sequence("head", [
    PUT("/v2/keys{p}/hk", { value: "hello" }),
    HEAD("/v2/keys{p}/hk"),
    HEAD("/v2/keys{p}/nope", { note: "404 still has Content-Length > 0" }),
    HEAD("/v2/keys{p}?recursive=true"),
    HEAD("/v2/keys{p}/hk?quorum=true", { note: "quorum ignored on HEAD" }),
    HEAD("/v2/keys{p}/hk?recursive=maybe"),
  ]);
});
