// Parameter parsing and validation, in etcd's order (reference §2.2-2.4).
import { describe } from "vitest";
import { DELETE, GET, HEAD, POST, PUT, REQ, sequence } from "./harness/compare";

const BOOLS = ["recursive", "sorted", "wait", "dir", "quorum", "stream"];

describe("parameter validation", () => {
  sequence("params-order", [
    PUT("/v2/keys{p}/k", { value: "v" }),
    GET("/v2/keys{p}/k?prevIndex=abc", { note: "203 prevIndex" }),
    GET("/v2/keys{p}/k?prevIndex=", { note: "203 prevIndex empty" }),
    GET("/v2/keys{p}/k?prevIndex=-1"),
    GET("/v2/keys{p}/k?prevIndex=%2B1", { note: "+1: no sign allowed" }),
    GET("/v2/keys{p}/k?prevIndex=%201", { note: "leading space" }),
    GET("/v2/keys{p}/k?waitIndex=x", { note: "203 waitIndex without wait" }),
    GET("/v2/keys{p}/k?prevIndex=x&waitIndex=y", { note: "prevIndex first" }),
    GET("/v2/keys{p}/k?waitIndex=y&recursive=maybe", { note: "203 before 209" }),
    ...BOOLS.map((b) => GET(`/v2/keys{p}/k?${b}=maybe`, { note: `209 ${b}` })),
    ...BOOLS.map((b) => GET(`/v2/keys{p}/k?${b}`, { note: `209 ${b} empty (no '=')` })),
    ...BOOLS.map((b) => GET(`/v2/keys{p}/k?${b}=`, { note: `209 ${b}=` })),
    GET("/v2/keys{p}/k?stream=x&recursive=y", { note: "recursive checked before stream" }),
    GET("/v2/keys{p}/k?quorum=x&dir=y&sorted=z&wait=w", { note: "sorted first among these" }),
    GET("/v2/keys{p}/k?recursive=TRUE&sorted=True&quorum=1&dir=F&stream=FALSE&wait=0", { note: "ParseBool spellings" }),
    GET("/v2/keys{p}/k?recursive=yes"),
    GET("/v2/keys{p}/k?recursive=true&recursive=maybe", { note: "first value wins" }),
    GET("/v2/keys{p}/k?recursive=maybe&recursive=true", { note: "first value wins (bad)" }),
    PUT("/v2/keys{p}/k?wait=true&prevValue=", { value: "x" }, { note: "209 wait before 201" }),
    GET("/v2/keys{p}/k?prevValue=", { note: "201 on GET too" }),
    HEAD("/v2/keys{p}/k?prevValue=", { note: "201 on HEAD" }),
    PUT("/v2/keys{p}/k?prevValue=", { value: "x" }),
    PUT("/v2/keys{p}/k?prevValue=&noValueOnSuccess=x", { value: "x" }, { note: "201 before noValueOnSuccess" }),
    PUT("/v2/keys{p}/k?noValueOnSuccess=x&ttl=abc", { value: "x" }, { note: "209 noValueOnSuccess before 202" }),
    PUT("/v2/keys{p}/k", { value: "x", ttl: "-1" }, { note: "202" }),
    PUT("/v2/keys{p}/k", { value: "x", ttl: "5.5" }, { note: "202" }),
    PUT("/v2/keys{p}/k", { value: "x", ttl: "abc" }, { note: "202" }),
    PUT("/v2/keys{p}/k", { value: "x", ttl: " 5" }, { note: "202 space" }),
    GET("/v2/keys{p}/k?ttl=abc", { note: "202 on GET" }),
    PUT("/v2/keys{p}/k?ttl=abc&prevExist=maybe", { value: "x" }, { note: "202 before prevExist" }),
    PUT("/v2/keys{p}/k?prevExist=maybe&refresh=maybe", { value: "x" }, { note: "prevExist before refresh" }),
    PUT("/v2/keys{p}/k?refresh=maybe", { value: "x" }),
    PUT("/v2/keys{p}/k?refresh=true", { value: "x" }, { note: "211 before 212" }),
    PUT("/v2/keys{p}/k?refresh=true", {}, { note: "212" }),
    DELETE("/v2/keys{p}/k?refresh=true", { note: "212 on DELETE too" }),
    GET("/v2/keys{p}/k?refresh=true&ttl=5", { note: "refresh on GET: plain get" }),
    GET("/v2/keys{p}/k?unknown=1&consistent=true", { note: "unknown params ignored" }),
    GET("/v2/keys{p}/k?Recursive=maybe", { note: "names are case-sensitive" }),
    PUT("/v2/keys{p}/k?prevIndex=0&prevValue=v", { value: "w" }, { note: "prevIndex=0 = not given" }),
  ]);

  sequence("params-escapes", [
    PUT("/v2/keys{p}/k", { value: "v" }),
    GET("/v2/keys{p}/k?recursive=%zz", { note: "210 malformed escape in query" }),
    GET("/v2/keys{p}/k?%zz=1"),
    GET("/v2/keys{p}/k?a=%2", { note: "truncated escape" }),
    PUT("/v2/keys{p}/k", "value=%zz", { note: "210 malformed escape in body" }),
    PUT("/v2/keys{p}/k", "value=ok&x=%g1"),
    GET("/v2/keys{p}/k?a=1;b=2", { note: "210 semicolon" }),
    GET("/v2/keys{p}/k?recursive=true;"),
    // Surprise: a `;` in a form BODY also gives 210, and Go's cause still says "in query".
    PUT("/v2/keys{p}/k", "value=a;b", { note: "semicolon in a form body" }),
    PUT("/v2/keys{p}/k?prevIndex=x", "value=%zz", { note: "210 before 203" }),
    GET("/v2/keys{p}/k?&&recursive=true&&", { note: "empty segments skipped" }),
    GET("/v2/keys{p}/k?=x", { note: "empty name" }),
    PUT("/v2/keys{p}/k", "value=a+b", { note: "+ in a form body" }),
    GET("/v2/keys{p}/k"),
    PUT("/v2/keys{p}/k?value=c+d", undefined, { note: "+ in the query" }),
    GET("/v2/keys{p}/k"),
  ]);

  sequence("params-body-vs-query", [
    PUT("/v2/keys{p}/k?value=query", { value: "body" }, { note: "body beats query" }),
    PUT("/v2/keys{p}/k?value=query", undefined, { body: "value=body", note: "no Content-Type: body ignored" }),
    PUT("/v2/keys{p}/k?value=q2", undefined, { body: "value=body", contentType: "text/plain", note: "text/plain body ignored" }),
    PUT("/v2/keys{p}/k?value=q3", undefined, { body: "value=body", contentType: "application/x-www-form-urlencoded; charset=utf-8", note: "charset param ok" }),
    PUT("/v2/keys{p}/k?value=q4", undefined, { body: "value=body", contentType: "APPLICATION/X-WWW-FORM-URLENCODED", note: "media type case" }),
    PUT("/v2/keys{p}/k?value=q5", undefined, { body: "--b\r\nContent-Disposition: form-data; name=\"value\"\r\n\r\nbody\r\n--b--\r\n", contentType: "multipart/form-data; boundary=b", note: "multipart not parsed" }),
    PUT("/v2/keys{p}/k?value=q6", undefined, { body: "value=body", contentType: "application/x-www-form-urlencoded;;bad", note: "malformed content type" }),
    PUT("/v2/keys{p}/k?value=q7", undefined, { body: "", contentType: "application/x-www-form-urlencoded", note: "empty form body" }),
    PUT("/v2/keys{p}/k?ttl=abc", { value: "x", ttl: "60" }, { note: "good ttl in body beats bad ttl in query", ttl: "exact" }),
    PUT("/v2/keys{p}/k?ttl=60", { value: "x", ttl: "abc" }, { note: "bad ttl in body beats good query" }),
    PUT("/v2/keys{p}/k", { value: "x", recursive: "maybe" }, { note: "bools are read from the body too" }),
    GET("/v2/keys{p}/k?recursive=true", { body: "recursive=maybe", contentType: "application/x-www-form-urlencoded", note: "GET body never read" }),
    DELETE("/v2/keys{p}/k", { body: "prevValue=nope", contentType: "application/x-www-form-urlencoded", note: "DELETE body never read" }),
    REQ("POST", "/v2/keys{p}/q?value=query", { form: { value: "body" }, note: "POST body beats query" }),
    POST("/v2/keys{p}/q?value=query", undefined, { note: "POST value from query" }),
  ]);
});
