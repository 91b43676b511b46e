/** Go-compatible form parsing, /v2/keys validation (§2.2-§2.4), dispatch (§2.5) and Go JSON escaping (§1.2). */
import { describe, expect, it } from "vitest";
import { mediaType, parseForm, parseQuery, unescape, type Params } from "../../src/v2/form.ts";
import { keysOperation } from "../../src/v2/operation.ts";
import { MAX_KEY_DEPTH, parseKeysRequest, type KeysMethod } from "../../src/v2/request.ts";
import { goJSON, goJSONLine } from "../../src/go/json.ts";
import { errorOf } from "./helpers.ts";

const FORM = "application/x-www-form-urlencoded";
const obj = (p: Params) => Object.fromEntries(p);

describe("parseQuery / unescape (Go url.ParseQuery)", () => {
  it("decodes +, percent escapes and UTF-8; keeps every value in order; skips empty segments", () => {
    expect(parseQuery("a=1+2&b=%41%2b&a=x&&c&d=&%C3%A9=%E2%82%AC")).toEqual({
      params: new Map([
        ["a", ["1 2", "x"]],
        ["b", ["A+"]],
        ["c", [""]],
        ["d", [""]],
        ["é", ["€"]],
      ]),
      error: null,
    });
  });

  it("reports the first bad escape with Go's quoting, and keeps parsing the rest", () => {
    expect(parseQuery("a=%zz&b=2")).toEqual({ params: new Map([["b", ["2"]]]), error: 'invalid URL escape "%zz"' });
    expect(parseQuery("a=1&b=%4").error).toBe('invalid URL escape "%4"');
    expect(parseQuery("a=%").error).toBe('invalid URL escape "%"');
    expect(parseQuery("%g1=v").error).toBe('invalid URL escape "%g1"');
    expect(parseQuery("a=%zz&b=%yy").error).toBe('invalid URL escape "%zz"');
  });

  it("rejects ; as a separator (Go ≥ 1.17)", () => {
    expect(parseQuery("a=1;b=2&c=3")).toEqual({
      params: new Map([["c", ["3"]]]),
      error: "invalid semicolon separator in query",
    });
  });

  it("path unescaping keeps + and decodes %2F", () => {
    expect(unescape("/a+b%20c%2Fd", false)).toBe("/a+b c/d");
    expect(unescape("a+b", true)).toBe("a b");
    expect(() => unescape("/a%zz", false)).toThrow('invalid URL escape "%zz"');
  });
});

describe("parseForm (Go Request.ParseForm)", () => {
  it("puts body values before query values, so the body wins", () => {
    const r = parseForm("PUT", FORM, "value=body+text&ttl=5", "value=query&recursive=true");
    expect(r.error).toBe(null);
    expect(obj(r.params)).toEqual({ value: ["body text", "query"], ttl: ["5"], recursive: ["true"] });
    expect(obj(parseForm("POST", `${FORM}; charset=utf-8`, "value=b", "").params)).toEqual({ value: ["b"] });
    expect(obj(parseForm("PUT", "Application/X-WWW-Form-URLEncoded", "value=b", "").params)).toEqual({ value: ["b"] });
  });

  it("ignores bodies of other media types, of a missing Content-Type, and of GET/HEAD/DELETE", () => {
    for (const ct of ["application/json", "multipart/form-data; boundary=x", "text/plain", null]) {
      expect(parseForm("PUT", ct, "value=b", "value=q")).toEqual({ params: new Map([["value", ["q"]]]), error: null });
    }
    for (const m of ["GET", "HEAD", "DELETE"]) {
      expect(obj(parseForm(m, FORM, "value=b", "prevValue=q").params)).toEqual({ prevValue: ["q"] });
    }
  });

  it("reports a malformed Content-Type with the mime error text", () => {
    expect(parseForm("PUT", "foo", "value=b", "").error).toBe("mime: expected slash after first token");
    expect(parseForm("PUT", "text/", "value=b", "").error).toBe("mime: expected token after slash");
    expect(parseForm("PUT", `${FORM}; charset`, "value=b", "").error).toBe("mime: invalid media parameter");
    expect(parseForm("PUT", "; charset=utf-8", "value=b", "").error).toBe("mime: no media type");
    expect(mediaType(" Text/Plain ; charset=\"utf-8\"")).toEqual({ type: "text/plain", error: null });
  });

  it("reports escape errors from the body before those of the query", () => {
    expect(parseForm("PUT", FORM, "value=%zz", "a=%yy").error).toBe('invalid URL escape "%zz"');
    expect(parseForm("PUT", FORM, "value=ok", "a=%yy").error).toBe('invalid URL escape "%yy"');
    expect(parseForm("PUT", FORM, "a=1;b=2", "").error).toBe("invalid semicolon separator in query");
  });

  it("refuses a form body over 10 MiB", () => {
    expect(parseForm("PUT", FORM, "v=" + "x".repeat(10 << 20), "").error).toBe("http: POST too large");
    expect(parseForm("PUT", FORM, "v=" + "x".repeat((10 << 20) - 2), "").error).toBe(null);
  });
});

/** parseKeysRequest from a query string, as the error body or the parsed request. */
function parse(method: KeysMethod, query: string, path = "/k") {
  const { params, error } = parseQuery(query);
  expect(error).toBe(null);
  return parseKeysRequest(method, path, params);
}
const err = (method: KeysMethod, query: string) => errorOf(() => parse(method, query));
const e = (errorCode: number, message: string, cause: string) => ({ errorCode, message, cause, index: 0 });

describe("parseKeysRequest: every row of §2.4, in order", () => {
  const IDX = "The given index in POST form is not a number";
  const FIELD = "Invalid field";

  it("203 for a prevIndex or waitIndex that is not a uint64 (prevIndex first)", () => {
    for (const bad of ["", "-1", "+1", "1.5", "abc", " 1", "18446744073709551616"]) {
      expect(err("PUT", `prevIndex=${encodeURIComponent(bad)}`)).toEqual(e(203, IDX, 'invalid value for "prevIndex"'));
      expect(err("GET", `waitIndex=${encodeURIComponent(bad)}`)).toEqual(e(203, IDX, 'invalid value for "waitIndex"'));
    }
    expect(err("GET", "waitIndex=x&prevIndex=y")).toEqual(e(203, IDX, 'invalid value for "prevIndex"'));
    expect(err("GET", "recursive=x&waitIndex=y")).toEqual(e(203, IDX, 'invalid value for "waitIndex"'));
    expect(parse("PUT", "prevIndex=18446744073709551615").prevIndex).toBe("18446744073709551615");
    expect(parse("PUT", "prevIndex=007").prevIndex).toBe("7");
    expect(parse("GET", "waitIndex=0012").waitIndex).toBe(12);
  });

  it("209 for recursive, sorted, wait, dir, quorum, stream in that order, the empty value included", () => {
    const names = ["recursive", "sorted", "wait", "dir", "quorum", "stream"];
    for (let i = 0; i < names.length; i++) {
      const q = names.slice(i).map((n) => `${n}=yes`).join("&");
      expect(err("GET", q)).toEqual(e(209, FIELD, `invalid value for "${names[i]}"`));
    }
    expect(err("GET", "recursive")).toEqual(e(209, FIELD, 'invalid value for "recursive"'));
    expect(err("GET", "recursive=")).toEqual(e(209, FIELD, 'invalid value for "recursive"'));
    // the first value is the one parsed
    expect(parse("GET", "recursive=true&recursive=bogus").recursive).toBe(true);
    expect(err("GET", "recursive=bogus&recursive=true")).toEqual(e(209, FIELD, 'invalid value for "recursive"'));
  });

  it("accepts exactly Go's ParseBool spellings", () => {
    for (const t of ["1", "t", "T", "TRUE", "true", "True"]) expect(parse("GET", `sorted=${t}`).sorted).toBe(true);
    for (const f of ["0", "f", "F", "FALSE", "false", "False"]) expect(parse("GET", `sorted=${f}`).sorted).toBe(false);
    for (const bad of ["tRUE", "yes", "2", "on"]) expect(err("GET", `sorted=${bad}`).errorCode).toBe(209);
  });

  it('209 "wait" only with GET (HEAD included), after the bool checks', () => {
    const cause = '"wait" can only be used with GET requests';
    for (const m of ["HEAD", "PUT", "POST", "DELETE"] as KeysMethod[]) expect(err(m, "wait=true")).toEqual(e(209, FIELD, cause));
    expect(parse("GET", "wait=true").wait).toBe(true);
    expect(parse("PUT", "wait=false").wait).toBe(false);
    expect(err("HEAD", "wait=true&stream=x")).toEqual(e(209, FIELD, 'invalid value for "stream"'));
    expect(err("PUT", "wait=true&prevValue=")).toEqual(e(209, FIELD, cause));
  });

  it("201 for an empty prevValue, for every method", () => {
    for (const m of ["GET", "HEAD", "PUT", "POST", "DELETE"] as KeysMethod[]) {
      expect(err(m, "prevValue=")).toEqual(e(201, "PrevValue is Required in POST form", '"prevValue" cannot be empty'));
    }
    expect(err("PUT", "prevValue&ttl=x").errorCode).toBe(201);
    expect(parse("PUT", "prevValue=a&prevValue=").prevValue).toBe("a");
  });

  it("209 for noValueOnSuccess, after prevValue", () => {
    expect(err("PUT", "noValueOnSuccess=maybe")).toEqual(e(209, FIELD, 'invalid value for "noValueOnSuccess"'));
    expect(err("PUT", "noValueOnSuccess=maybe&prevValue=").errorCode).toBe(201);
    expect(err("PUT", "noValueOnSuccess=maybe&ttl=x").errorCode).toBe(209);
  });

  it("202 for a non-empty ttl that is not a uint; an empty ttl means none", () => {
    for (const bad of ["-1", "5.5", "abc", "1e3"]) {
      expect(err("PUT", `ttl=${bad}`)).toEqual(
        e(202, "The given TTL in POST form is not a number", 'invalid value for "ttl"'),
      );
    }
    expect(parse("PUT", "ttl=").ttl).toBe(null);
    expect(parse("PUT", "").ttl).toBe(null);
    expect(parse("PUT", "ttl=0").ttl).toBe(0);
    expect(parse("PUT", "ttl=30").ttl).toBe(30);
    expect(err("PUT", "ttl=x&prevExist=x").errorCode).toBe(202);
  });

  it("209 for prevExist and refresh, causes without quotes; tri-state", () => {
    expect(err("PUT", "prevExist=maybe")).toEqual(e(209, FIELD, "invalid value for prevExist"));
    expect(err("PUT", "prevExist")).toEqual(e(209, FIELD, "invalid value for prevExist"));
    expect(err("PUT", "refresh=maybe")).toEqual(e(209, FIELD, "invalid value for refresh"));
    expect(err("PUT", "refresh=")).toEqual(e(209, FIELD, "invalid value for refresh"));
    expect(err("PUT", "refresh=x&prevExist=x")).toEqual(e(209, FIELD, "invalid value for prevExist"));
    expect(parse("PUT", "").prevExist).toBe(null);
    expect(parse("PUT", "prevExist=false").prevExist).toBe(false);
    expect(parse("PUT", "prevExist=true").prevExist).toBe(true);
    expect(parse("PUT", "").refresh).toBe(null);
    expect(parse("PUT", "refresh=false&value=x").refresh).toBe(false);
  });

  it("211 for a value on refresh, then 212 for a refresh without a TTL", () => {
    expect(err("PUT", "refresh=true&value=x&ttl=5")).toEqual(
      e(211, "Value provided on refresh", "A value was provided on a refresh"),
    );
    expect(err("PUT", "refresh=true&value=x")).toEqual(
      e(211, "Value provided on refresh", "A value was provided on a refresh"),
    );
    for (const q of ["refresh=true", "refresh=true&ttl=", "refresh=true&value="]) {
      expect(err("PUT", q)).toEqual(e(212, "A TTL must be provided on refresh", "No TTL value set"));
    }
    expect(parse("PUT", "refresh=true&ttl=5&value=").refresh).toBe(true);
  });

  it("parses a full request, the path cleaned", () => {
    expect(
      parseKeysRequest("PUT", "//a/./b/", parseQuery("value=v&dir=true&prevValue=p&prevIndex=3&prevExist=true&recursive=1&sorted=t&quorum=true&stream=false&ttl=9&noValueOnSuccess=true").params),
    ).toEqual({
      method: "PUT", path: "/a/b", value: "v", dir: true, prevValue: "p", prevIndex: "3", prevExist: true,
      wait: false, waitIndex: 0, recursive: true, sorted: true, quorum: true, stream: false, refresh: null,
      ttl: 9, noValueOnSuccess: true,
    });
    expect(parse("GET", "", "").path).toBe("/");
  });
});

describe("keysOperation: the §2.5 dispatch table", () => {
  const NOW = 1_700_000_000_000;
  const op = (method: KeysMethod, query: string) => keysOperation(parse(method, query, "/p"), NOW);
  const base = { path: "/p", now: NOW };

  it("reads, quorum reads and watches", () => {
    expect(op("GET", "")).toEqual({ kind: "read", quorum: false });
    expect(op("GET", "quorum=true")).toEqual({ kind: "read", quorum: true });
    expect(op("GET", "wait=true")).toEqual({ kind: "watch" });
    expect(op("GET", "wait=true&quorum=true")).toEqual({ kind: "read", quorum: true }); // quorum wins
    expect(op("HEAD", "quorum=true")).toEqual({ kind: "read", quorum: false });
  });

  it("POST is an in-order create; prevExist, prevValue, prevIndex and refresh are ignored", () => {
    expect(op("POST", "value=v&ttl=5&dir=false&prevExist=true&prevValue=x&prevIndex=4&refresh=false")).toEqual({
      kind: "write",
      command: { op: "create", ...base, value: "v", dir: false, ttl: 5, unique: true },
    });
    expect(op("POST", "dir=true")).toEqual({
      kind: "write",
      command: { op: "create", ...base, value: "", dir: true, ttl: null, unique: true },
    });
  });

  it("PUT prevExist=true: update without a compare (dir ignored), CAS with one", () => {
    expect(op("PUT", "prevExist=true&value=v&dir=true&ttl=3")).toEqual({
      kind: "write",
      command: { op: "update", ...base, value: "v", ttl: 3, refresh: false },
    });
    expect(op("PUT", "prevExist=true&refresh=true&ttl=3")).toEqual({
      kind: "write",
      command: { op: "update", ...base, value: "", ttl: 3, refresh: true },
    });
    expect(op("PUT", "prevExist=true&prevIndex=0&value=v")).toMatchObject({ command: { op: "update" } });
    expect(op("PUT", "prevExist=true&prevIndex=7&value=v")).toEqual({
      kind: "write",
      command: { op: "compareAndSwap", ...base, value: "v", prevValue: "", prevIndex: "7", ttl: null, refresh: false },
    });
    expect(op("PUT", "prevExist=true&prevValue=old&value=v")).toEqual({
      kind: "write",
      command: { op: "compareAndSwap", ...base, value: "v", prevValue: "old", prevIndex: "0", ttl: null, refresh: false },
    });
  });

  it("PUT prevExist=false is a plain create; compares are ignored", () => {
    expect(op("PUT", "prevExist=false&prevValue=x&prevIndex=3&value=v&dir=true&ttl=2")).toEqual({
      kind: "write",
      command: { op: "create", ...base, value: "v", dir: true, ttl: 2, unique: false },
    });
  });

  it("PUT without prevExist: CAS with a compare (dir ignored), set otherwise", () => {
    expect(op("PUT", "prevIndex=5&value=v&dir=true")).toEqual({
      kind: "write",
      command: { op: "compareAndSwap", ...base, value: "v", prevValue: "", prevIndex: "5", ttl: null, refresh: false },
    });
    expect(op("PUT", "prevValue=a&prevIndex=5&value=v")).toMatchObject({
      command: { op: "compareAndSwap", prevValue: "a", prevIndex: "5" },
    });
    expect(op("PUT", "value=v&dir=true&ttl=4&prevIndex=0")).toEqual({
      kind: "write",
      command: { op: "set", ...base, value: "v", dir: true, ttl: 4, refresh: false },
    });
    expect(op("PUT", "refresh=true&ttl=4")).toEqual({
      kind: "write",
      command: { op: "set", ...base, value: "", dir: false, ttl: 4, refresh: true },
    });
  });

  it("DELETE: compareAndDelete with a compare (dir/recursive ignored), delete otherwise", () => {
    expect(op("DELETE", "prevValue=a&recursive=true")).toEqual({
      kind: "write",
      command: { op: "compareAndDelete", ...base, prevValue: "a", prevIndex: "0" },
    });
    expect(op("DELETE", "prevIndex=9")).toEqual({
      kind: "write",
      command: { op: "compareAndDelete", ...base, prevValue: "", prevIndex: "9" },
    });
    expect(op("DELETE", "dir=true&recursive=true&prevIndex=0")).toEqual({
      kind: "write",
      command: { op: "delete", ...base, dir: true, recursive: true },
    });
  });
});

describe("goJSON (Go encoding/json escaping)", () => {
  it("escapes HTML characters and U+2028/U+2029", () => {
    expect(goJSON({ v: "<a href='x'>&</a>" })).toBe(`{"v":"\\u003ca href='x'\\u003e\\u0026\\u003c/a\\u003e"}`);
    expect(goJSON("\u2028\u2029")).toBe('"\\u2028\\u2029"');
  });

  it("writes \\b and \\f as \\u0008 and \\u000c, other controls as lowercase \\u00xx, \\n \\r \\t short", () => {
    expect(goJSON("\b\f")).toBe('"\\u0008\\u000c"');
    expect(goJSON("\n\r\t\u0001\u001f")).toBe('"\\n\\r\\t\\u0001\\u001f"');
  });

  it("keeps a literal backslash followed by b or f as an escaped backslash", () => {
    expect(goJSON("\\b")).toBe('"\\\\b"');
    expect(goJSON("\\f\\\\b")).toBe('"\\\\f\\\\\\\\b"');
    expect(goJSON("\\\b")).toBe('"\\\\\\u0008"');
  });

  it("leaves / , DEL, quotes and non-ASCII as Go does; keeps insertion order", () => {
    expect(goJSON({ b: 1, a: '/"\u007fé\u{1F600}' })).toBe('{"b":1,"a":"/\\"\u007fé\u{1F600}"}');
  });

  it("goJSONLine adds the encoder's newline", () => {
    expect(goJSONLine({ action: "set" })).toBe('{"action":"set"}\n');
  });
});

describe("bytes that are not UTF-8 (Go keeps them; its JSON writes one \\ufffd each)", () => {
  it("keeps each invalid byte through decoding and writes it as the \\ufffd escape", () => {
    const v = unescape("a%FF%FEb", true);
    expect(v).toBe("a\udcff\udcfeb");
    expect(goJSON({ value: v })).toBe('{"value":"a\\ufffd\\ufffdb"}');
  });

  it("decodes valid multi-byte UTF-8 unchanged, and mixes valid and invalid bytes", () => {
    expect(unescape("%E2%82%AC%20%F0%9F%98%80", false)).toBe("€ 😀");
    expect(goJSON(unescape("%E2%82%AC%C3", false))).toBe('"€\\ufffd"');
    expect(goJSON(unescape("%ED%A0%80", false))).toBe('"\\ufffd\\ufffd\\ufffd"'); // an encoded surrogate is invalid
  });

  it("a valid U+FFFD in the input stays a raw character", () => {
    expect(goJSON(unescape("%EF%BF%BD", false))).toBe('"\ufffd"');
  });
});

describe("key depth", () => {
  it("accepts keys of up to MAX_KEY_DEPTH components and refuses deeper ones with a clear 209", () => {
    expect(parseKeysRequest("PUT", "/a".repeat(MAX_KEY_DEPTH), new Map()).path).toBe("/a".repeat(MAX_KEY_DEPTH));
    expect(errorOf(() => parseKeysRequest("GET", "/a".repeat(MAX_KEY_DEPTH + 1), new Map()))).toEqual({
      errorCode: 209,
      message: "Invalid field",
      cause: `the key has ${MAX_KEY_DEPTH + 1} path components; at most ${MAX_KEY_DEPTH} are supported`,
      index: 0,
    });
  });
});
