// HTTP-level behaviour: methods, CORS, path cleaning, escaping of keys and
// values, very long keys, big bodies, unknown paths.
import { describe } from "vitest";
import { DELETE, GET, HEAD, PUT, REQ, sequence, sidedSequence } from "./harness/compare";

// etcd 3.4 serves HTTP behind cmux, which gives up on a request whose first
// line exceeds ~4 KiB: the connection is reset (see "http-request-line-limit").
// 4000 characters is the "very long key" that still fits.
const LONG = "k".repeat(4000);
const TOO_LONG = "k".repeat(4100);
const ONE_MIB = "z".repeat(1024 * 1024);
const TWO_MIB = "x".repeat(2 * 1024 * 1024);

// Rendered views (see harness/compare.ts) for the sided sequences below,
// which assert each side's exact answer where the two differ on purpose.
const CORS = [
  "access-control-allow-origin: *",
  "access-control-allow-methods: POST, GET, OPTIONS, PUT, DELETE",
  "access-control-allow-headers: accept, content-type, authorization",
];
const jsonBody = (body: string) => `body(json, compact, trailing "\\n"): ${body}`;
/** A /v2/keys answer: status, etcd's headers, X-Etcd-Index as an offset, JSON body. */
const keysView = (status: string, index: string, body: string, raft = true) =>
  [`status ${status}`, "content-type: application/json", ...CORS, "x-etcd-cluster-id: <present>", ...(raft ? ["x-raft-index: <present>", "x-raft-term: <present>"] : []), `x-etcd-index: ${index}`, jsonBody(body)].join("\n");

describe("HTTP details", () => {
  sequence("http-methods", [
    REQ("PATCH", "/v2/keys{p}/a", { note: "405 with Allow, text/plain" }),
    REQ("PATCH", "/v2/keys", { form: { value: "x" } }),
    REQ("OPTIONS", "/v2/keys{p}/a", { note: "CORS preflight: bare 200" }),
    REQ("OPTIONS", "/v2/members"),
    REQ("OPTIONS", "/nowhere"),
    REQ("PUT", "/version"),
    REQ("POST", "/health"),
    REQ("DELETE", "/v2/machines"),
    HEAD("/v2/machines"),
    REQ("PUT", "/v2/stats/self"),
    REQ("POST", "/v2/stats/store"),
    REQ("HEAD", "/v2/stats/leader"),
    REQ("HEAD", "/v2/members", { note: "405 for HEAD too" }),
    REQ("PATCH", "/v2/members"),
    GET("/nope", { note: "404 page not found" }),
    GET("/v2", { note: "404" }),
    GET("/v2/", { note: "404" }),
    GET("/v2/keysx", { note: "not under /v2/keys" }),
    GET("/v3/nope"),
    GET("/v2/leader", { note: "no /v2/leader in 2.x/3.x" }),
    GET("/version/"),
    REQ("PUT", "/nope"),
  ]);

  sequence("http-paths", [
    PUT("/v2/keys{p}/a/b", { value: "v" }),
    GET("/v2/keys{p}/a//b", { note: "301 with Location" }),
    PUT("/v2/keys{p}//a/c", { value: "v" }, { note: "301 for PUT, no body" }),
    GET("/v2/keys{p}/a//b?recursive=true&sorted=true", { note: "Location keeps the query" }),
    GET("//v2/keys{p}/a/b"),
    GET("/v2/keys{p}/a/b/", { note: "trailing slash: not redirected" }),
    GET("/v2/keys{p}/a%2Fb", { note: "%2F is a real separator" }),
    PUT("/v2/keys{p}/sp%20ace", { value: "space" }),
    GET("/v2/keys{p}/sp%20ace"),
    PUT("/v2/keys{p}/plus+sign", { value: "plus" }, { note: "+ in the path stays +" }),
    GET("/v2/keys{p}/plus+sign"),
    PUT("/v2/keys{p}/%E2%9C%93-%C3%BC", { value: "unicode" }),
    GET("/v2/keys{p}/%E2%9C%93-%C3%BC"),
    PUT("/v2/keys{p}/q%3Fmark", { value: "qm" }),
    PUT("/v2/keys{p}/pct%25", { value: "percent" }),
    PUT("/v2/keys{p}/h%3Ctml%3E%26", { value: "html key" }, { note: "key JSON-escaped like Go" }),
    GET("/v2/keys{p}?sorted=true"),
    GET("/v2/keys{p}/bad%zzescape", { note: "malformed escape in the path" }),
    PUT(`/v2/keys{p}/${LONG}`, { value: "long key" }, { note: "4000-byte key" }),
    GET(`/v2/keys{p}/${LONG}`),
    DELETE(`/v2/keys{p}/${LONG}`),
  ]);

  // Deliberate difference: `/./` and `/../` in a path. etcd (Go's ServeMux)
  // answers 301 to the cleaned path. The Workers runtime normalises dot
  // segments in the URL before the Worker sees the request, so our server
  // cannot tell and serves the normalised key: 200, as for /a/b itself.
  const dotGet = (body: string) => keysView("200", "base+1", body);
  const redirect = (to: string) =>
    ["status 301", "content-type: text/html; charset=utf-8", ...CORS, `location: ${to}`, `body(text): ${JSON.stringify(`<a href="${to}">Moved Permanently</a>.\n\n`)}`].join("\n");
  const got = dotGet('{"action":"get","node":{"key":"{p}/a/b","value":"v","modifiedIndex":base+1,"createdIndex":base+1}}');
  sidedSequence(
    "http-dot-segments",
    [
      PUT("/v2/keys{p}/a/b", { value: "v" }),
      GET("/v2/keys{p}/a/./b", { note: "etcd 301; ours 200 for {p}/a/b" }),
      GET("/v2/keys{p}/a/x/../b", { note: "etcd 301; ours 200 for {p}/a/b" }),
      GET("/v2/keys{p}/a/b", { note: "the same answer as the dot paths on ours" }),
    ],
    {
      etcd: [
        keysView("201", "base+1", '{"action":"set","node":{"key":"{p}/a/b","value":"v","modifiedIndex":base+1,"createdIndex":base+1}}'),
        redirect("/v2/keys{p}/a/b"),
        redirect("/v2/keys{p}/a/b"),
        got,
      ],
      ours: [
        keysView("201", "base+1", '{"action":"set","node":{"key":"{p}/a/b","value":"v","modifiedIndex":base+1,"createdIndex":base+1}}'),
        got,
        got,
        got,
      ],
    },
  );

  // Deliberate difference, recorded as the oracle's behaviour: etcd 3.4
  // resets the connection (no HTTP answer at all) when the request line is
  // longer than about 4096 bytes, because its port multiplexer (cmux) cannot
  // match it. That is a limit of etcd's listener, not of the v2 API: we serve
  // such requests normally, and this asserts our exact answers.
  sidedSequence(
    "http-request-line-limit",
    [
      PUT(`/v2/keys{p}/${TOO_LONG}`, { value: "too long" }, { note: "request line > 4 KiB" }),
      GET(`/v2/keys{p}/${TOO_LONG}`),
    ],
    {
      etcd: ["ERROR: read ECONNRESET", "ERROR: read ECONNRESET"],
      ours: [
        keysView("201", "base+1", `{"action":"set","node":{"key":"{p}/${TOO_LONG}","value":"too long","modifiedIndex":base+1,"createdIndex":base+1}}`),
        keysView("200", "base+1", `{"action":"get","node":{"key":"{p}/${TOO_LONG}","value":"too long","modifiedIndex":base+1,"createdIndex":base+1}}`),
      ],
    },
  );

  sequence("http-values", [
    PUT("/v2/keys{p}/v1", { value: "<b>&amp;</b>" }, { note: "<>& escaped as \\u003c etc." }),
    PUT("/v2/keys{p}/v2", { value: 'quote " backslash \\ slash /' }),
    PUT("/v2/keys{p}/v3", { value: "line1\nline2\r\ttab" }),
    PUT("/v2/keys{p}/v4", { value: "\u0001\u0002\u001f\u007f" }, { note: "control chars: \\u00XX, DEL raw" }),
    PUT("/v2/keys{p}/v5", { value: "\b\f" }, { note: "Go version dependent: \\b/\\f vs \\u0008/\\u000c" }),
    PUT("/v2/keys{p}/v6", { value: "\u2028\u2029" }),
    PUT("/v2/keys{p}/v7", { value: "emoji 😀 ü ✓" }),
    PUT("/v2/keys{p}/v8", "value=%FF%FE", { note: "invalid UTF-8 becomes \\ufffd" }),
    PUT("/v2/keys{p}/v9", "value=%00nul"),
    GET("/v2/keys{p}?recursive=true&sorted=true"),
    PUT("/v2/keys{p}/big", "value=" + "y".repeat(64 * 1024), { note: "64 KiB value" }),
    GET("/v2/keys{p}/big"),
    // A 1 MiB value (under our 1.5 MiB limit, see below) behaves the same on both.
    PUT("/v2/keys{p}/large", `value=${ONE_MIB}`, { note: "1 MiB value" }),
    // (No HEAD here: for a 1 MiB answer Go switches to chunked framing and
    // sends no Content-Length; that is net/http buffering, not an API fact.)
    GET("/v2/keys{p}/large"),
    DELETE("/v2/keys{p}/large"),
  ]);

  // Deliberate difference: a 2 MiB value. etcd 3.4 accepts it: 201 and the
  // value reads back (no v2 size limit; Go's form limit is 10 MiB). A Durable
  // Object storage row holds at most 2 MB, so our server refuses bodies over
  // 1.5 MiB with etcd's answer to a form over Go's limit (210, "http: POST
  // too large") and stores nothing (not even the parent directory: the 404's
  // cause is the prefix itself).
  const hugeNode = `{"key":"{p}/huge","value":"${TWO_MIB}","modifiedIndex":base+1,"createdIndex":base+1}`;
  sidedSequence(
    "http-value-too-large",
    [
      PUT("/v2/keys{p}/huge", `value=${TWO_MIB}`, { note: "2 MiB value" }),
      GET("/v2/keys{p}/huge"),
      DELETE("/v2/keys{p}/huge"),
    ],
    {
      etcd: [
        keysView("201", "base+1", `{"action":"set","node":${hugeNode}}`),
        keysView("200", "base+1", `{"action":"get","node":${hugeNode}}`),
        keysView("200", "base+2", `{"action":"delete","node":{"key":"{p}/huge","modifiedIndex":base+2,"createdIndex":base+1},"prevNode":${hugeNode}}`),
      ],
      ours: [
        keysView("400", "0", '{"errorCode":210,"message":"Invalid POST form","cause":"http: POST too large","index":0}', false),
        keysView("404", "base", '{"errorCode":100,"message":"Key not found","cause":"{p}","index":base}', false),
        keysView("404", "base", '{"errorCode":100,"message":"Key not found","cause":"{p}","index":base}', false),
      ],
    },
  );
});
