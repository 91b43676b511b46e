/**
 * The JSON of etcd 3.4's gRPC gateway (grpc-gateway 1.x, jsonpb with
 * OrigName:true and EmitDefaults:false), for the KV requests and responses.
 *
 * Decoding follows golang/protobuf's jsonpb. It looks at one field at a time, in
 * the message's proto field order, so the first error in that order is the one
 * reported. Each field's raw JSON text goes to Go's encoding/json, which is why
 * the parsed tree keeps primitives as their source text and the error texts are
 * Go's own. Every decode error is InvalidArgument, as the gateway reports it.
 *
 * Encoding writes proto field names, int64 as decimal strings and bytes as
 * base64, and leaves out every field that holds its zero value.
 */
import { goJSONSyntaxError } from "../go/json-syntax.ts";
import { goJSON } from "../go/json.ts";
import { GrpcCode, V3Error, type V3ErrorBody } from "./errors.ts";
import type {
  Bytes,
  CompactionRequest,
  CompactionResponse,
  Compare,
  CompareResult,
  CompareTarget,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KeyValue,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseOp,
  SortOrder,
  SortTarget,
  TxnRequest,
  TxnResponse,
} from "./types.ts";

// ---------------------------------------------------------------- decoding

export const decodeRangeRequest = (body: string): RangeRequest => rangeRequest(readBody(body));
export const decodePutRequest = (body: string): PutRequest => putRequest(readBody(body));
export const decodeDeleteRangeRequest = (body: string): DeleteRangeRequest => deleteRangeRequest(readBody(body));
export const decodeTxnRequest = (body: string): TxnRequest => txnRequest(readBody(body));
export const decodeCompactionRequest = (body: string): CompactionRequest => compactionRequest(readBody(body));

/** Parsed JSON. Primitives stay their source text (like Go's json.RawMessage): "null", "1.50", "\"Zm9v\"". */
type Json = string | Json[] | Map<string, Json>;

/** A message's JSON field by proto name (and, unless told not to, its lowerCamel name); undefined when absent. */
type Field = (name: string, camelToo?: boolean) => Json | undefined;

const invalid = (message: string) => new V3Error(GrpcCode.InvalidArgument, message);

// Field decoders run in the order of the proto's fields (object literals
// evaluate in source order), so that the first error is etcd's.

function rangeRequest(f: Field): RangeRequest {
  return {
    key: bytes(f("key")),
    rangeEnd: bytes(f("range_end")),
    limit: int64(f("limit")),
    revision: int64(f("revision")),
    sortOrder: enumValue(f("sort_order"), SORT_ORDERS, "etcdserverpb.RangeRequest_SortOrder", "UNKNOWN"),
    sortTarget: enumValue(f("sort_target"), SORT_TARGETS, "etcdserverpb.RangeRequest_SortTarget", "KEY"),
    serializable: bool(f("serializable")),
    keysOnly: bool(f("keys_only")),
    countOnly: bool(f("count_only")),
    minModRevision: int64(f("min_mod_revision")),
    maxModRevision: int64(f("max_mod_revision")),
    minCreateRevision: int64(f("min_create_revision")),
    maxCreateRevision: int64(f("max_create_revision")),
  };
}

function putRequest(f: Field): PutRequest {
  return {
    key: bytes(f("key")),
    value: bytes(f("value")),
    lease: int64(f("lease")),
    prevKv: bool(f("prev_kv")),
    ignoreValue: bool(f("ignore_value")),
    ignoreLease: bool(f("ignore_lease")),
  };
}

function deleteRangeRequest(f: Field): DeleteRangeRequest {
  return { key: bytes(f("key")), rangeEnd: bytes(f("range_end")), prevKv: bool(f("prev_kv")) };
}

function txnRequest(f: Field): TxnRequest {
  return {
    compare: repeated(f("compare"), compare),
    success: repeated(f("success"), requestOp),
    failure: repeated(f("failure"), requestOp),
  };
}

function compactionRequest(f: Field): CompactionRequest {
  return { revision: int64(f("revision")), physical: bool(f("physical")) };
}

function compare(f: Field): Compare {
  const result = enumValue(f("result"), COMPARE_RESULTS, "etcdserverpb.Compare_CompareResult", "UNKNOWN");
  const target = enumValue(f("target"), COMPARE_TARGETS, "etcdserverpb.Compare_CompareTarget", "UNKNOWN");
  const key = bytes(f("key"));
  oneofName(f, "target_union", "etcdserverpb.isCompare_TargetUnion");
  const rangeEnd = bytes(f("range_end"));
  // The target_union members come after the plain fields. jsonpb sets every one
  // present (keeping a random one); setting all keeps the one matching `target`.
  return {
    key,
    rangeEnd,
    target,
    result,
    version: int64(f("version")),
    createRevision: int64(f("create_revision")),
    modRevision: int64(f("mod_revision")),
    value: bytes(f("value")),
    lease: int64(f("lease")),
  };
}

function requestOp(f: Field): RequestOp {
  oneofName(f, "request", "etcdserverpb.isRequestOp_Request");
  // Each member present is decoded (so its errors show); when several are set,
  // jsonpb keeps a random one, and we keep the first. A member set to null
  // leaves the op without a request, as etcd does.
  const ops: RequestOp[] = [];
  const member = <T>(name: string, decode: (f: Field) => T, wrap: (req: T) => RequestOp) => {
    const node = f(name);
    if (node !== undefined) ops.push(node === "null" ? { empty: true } : wrap(decode(fields(node))));
  };
  member("request_range", rangeRequest, (range) => ({ range }));
  member("request_put", putRequest, (put) => ({ put }));
  member("request_delete_range", deleteRangeRequest, (deleteRange) => ({ deleteRange }));
  member("request_txn", txnRequest, (txn) => ({ txn }));
  return ops[0] ?? { empty: true };
}

/**
 * The oneof itself has a JSON name too (no camel form): jsonpb hands its value
 * to encoding/json as the Go interface type, which takes only null.
 */
function oneofName(f: Field, name: string, goType: string): void {
  const node = f(name, false);
  if (node !== undefined && node !== "null") throw typeError(node, goType);
}

/** The request body: json.Decoder reads the first JSON value and ignores the rest. */
function readBody(text: string): Field {
  // An empty body is io.EOF, which the gateway takes as an empty message.
  if (/^[ \t\r\n]*$/.test(text)) return fields(undefined);
  try {
    JSON.parse(text);
  } catch {
    const message = goJSONSyntaxError(text);
    // Text after a complete first value is never read, so it is no error here;
    // a value cut short is io.ErrUnexpectedEOF.
    if (!message.endsWith("after top-level value")) {
      throw invalid(message === "unexpected end of JSON input" ? "unexpected EOF" : message);
    }
  }
  return fields(readTree(text));
}

/**
 * A message's fields: jsonpb accepts the proto name and the lowerCamel JSON
 * name, preferring the latter when both are present; other names are ignored.
 * A message that is null is empty; one that is not an object cannot be
 * decoded into jsonpb's map of fields.
 */
function fields(node: Json | undefined): Field {
  if (node === undefined || node === "null") return () => undefined;
  if (!(node instanceof Map)) throw typeError(node, "map[string]json.RawMessage");
  return (name, camelToo = true) => (camelToo ? node.get(lowerCamel(name)) : undefined) ?? node.get(name);
}

const lowerCamel = (name: string) => name.replace(/_(.)/g, (_, c: string) => c.toUpperCase());

/** A repeated message field; a null element (which etcd cannot handle) becomes an empty message. */
function repeated<T>(node: Json | undefined, decode: (f: Field) => T): T[] {
  if (node === undefined || node === "null") return [];
  if (!Array.isArray(node)) throw typeError(node, "[]json.RawMessage");
  return node.map((element) => decode(fields(element)));
}

function bool(node: Json | undefined): boolean {
  if (node === undefined || node === "null") return false;
  if (node === "true" || node === "false") return node === "true";
  throw typeError(node, "bool");
}

function int64(node: Json | undefined): number {
  if (node === undefined) return 0;
  // jsonpb takes a quoted number by cutting off the quotes (escapes and all)
  // and handing what is left to json.Unmarshal.
  if (typeof node === "string" && node.startsWith('"')) node = unmarshalText(node.slice(1, -1));
  return integer(node, "int64", -(2n ** 63n), 2n ** 63n - 1n);
}

/** A uint64 id (a member's), taken as int64 is, kept exact past 2^53: in hex, as members are named here. */
function uint64Hex(node: Json | undefined): string {
  if (node === undefined) return "0";
  if (typeof node === "string" && node.startsWith('"')) node = unmarshalText(node.slice(1, -1));
  if (node === "null") return "0";
  if (kind(node) !== "number") throw typeError(node, "uint64");
  const n = /^\d+$/.test(node as string) ? BigInt(node as string) : null;
  if (n === null || n >= 2n ** 64n) throw invalid(`json: cannot unmarshal number ${node} into Go value of type uint64`);
  return n.toString(16);
}

/** json.Unmarshal's view of a text: exactly one JSON value, or its syntax error. */
function unmarshalText(text: string): Json {
  try {
    JSON.parse(text);
  } catch {
    // json.Unmarshal feeds one space at the end before it reports the end of
    // input, so "-" is "invalid character ' ' in numeric literal".
    throw invalid(goJSONSyntaxError(text + " "));
  }
  return readTree(text);
}

/** encoding/json into a Go integer type: an integer literal in range (strconv.ParseInt), or null. */
function integer(node: Json, goType: string, min: bigint, max: bigint): number {
  if (node === "null") return 0;
  if (kind(node) !== "number") throw typeError(node, goType);
  const n = /^-?\d+$/.test(node as string) ? BigInt(node as string) : null;
  if (n === null || n < min || n > max) throw invalid(`json: cannot unmarshal number ${node} into Go value of type ${goType}`);
  return Number(n);
}

/**
 * An enum: by name, matched against the raw text between the quotes, or by
 * number. etcd accepts a number with no name: it becomes `unnamed` (see
 * types.ts for what etcd then does; for a sort target etcd panics, and we
 * sort by key instead).
 */
function enumValue<T extends string>(node: Json | undefined, names: readonly T[], goType: string, unnamed: T): T {
  if (node === undefined) return names[0];
  if (typeof node === "string" && node.startsWith('"')) {
    const name = node.slice(1, -1);
    if ((names as readonly string[]).includes(name)) return name as T;
    // Go's %q; JSON.stringify quotes alike for anything that can occur here.
    throw invalid(`unknown value ${JSON.stringify(name)} for enum ${goType}`);
  }
  return names[integer(node, goType, -(2n ** 31n), 2n ** 31n - 1n)] ?? unnamed;
}

const SORT_ORDERS: readonly SortOrder[] = ["NONE", "ASCEND", "DESCEND"];
const SORT_TARGETS: readonly SortTarget[] = ["KEY", "VERSION", "CREATE", "MOD", "VALUE"];
const COMPARE_RESULTS: readonly CompareResult[] = ["EQUAL", "GREATER", "LESS", "NOT_EQUAL"];
const COMPARE_TARGETS: readonly CompareTarget[] = ["VERSION", "CREATE", "MOD", "VALUE", "LEASE"];

/** encoding/json into []byte: a base64 string, or (rarely used) an array of byte numbers. */
function bytes(node: Json | undefined): Bytes {
  if (node === undefined || node === "null") return "";
  if (Array.isArray(node)) return node.map((b) => String.fromCharCode(integer(b, "uint8", 0n, 255n))).join("");
  if (kind(node) !== "string") throw typeError(node, "[]uint8");
  return base64Decode(JSON.parse(node as string) as string);
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/**
 * Go's base64.StdEncoding.Decode, error offsets included: padding is required,
 * \r and \n are skipped anywhere, and nothing may follow the padding. Offsets
 * count characters, which equal Go's byte offsets because decoding stops at
 * the first character that is not ASCII.
 */
function base64Decode(s: string): Bytes {
  const corrupt = (at: number) => invalid(`illegal base64 data at input byte ${at}`);
  const skipNewlines = () => {
    while (s[i] === "\n" || s[i] === "\r") i++;
  };
  let out = "";
  let i = 0;
  while (i < s.length) {
    const quantum: number[] = [];
    while (quantum.length < 4) {
      if (i === s.length) {
        if (quantum.length === 0) return out;
        throw corrupt(i - quantum.length);
      }
      const c = s[i++];
      const sextet = BASE64.indexOf(c);
      if (sextet >= 0) quantum.push(sextet);
      else if (c === "\n" || c === "\r") continue;
      else if (c !== "=" || quantum.length < 2) throw corrupt(i - 1);
      else {
        // Padding ends the input: "==" after two characters, "=" after three.
        if (quantum.length === 2) {
          skipNewlines();
          if (i === s.length) throw corrupt(s.length);
          if (s[i] !== "=") throw corrupt(i - 1);
          i++;
        }
        skipNewlines();
        if (i < s.length) throw corrupt(i);
        break;
      }
    }
    const bits = quantum.reduce((acc, sextet, k) => acc | (sextet << (18 - 6 * k)), 0);
    out += String.fromCharCode(bits >> 16, (bits >> 8) & 255, bits & 255).slice(0, quantum.length - 1);
  }
  return out;
}

/** Go's name for the kind of JSON value in an UnmarshalTypeError (null never gets there). */
function kind(node: Json): string {
  if (node instanceof Map) return "object";
  if (Array.isArray(node)) return "array";
  if (node.startsWith('"')) return "string";
  return node === "true" || node === "false" ? "bool" : "number";
}

const typeError = (node: Json, goType: string) =>
  invalid(`json: cannot unmarshal ${kind(node)} into Go value of type ${goType}`);

// One token of well-formed JSON: punctuation, a string, or a number or literal.
const TOKEN = /[ \t\r\n]*([{}[\]:,]|"(?:[^"\\]|\\.)*"|true|false|null|[-+.0-9eE]+)/y;

/** The first value of text that is known to start with well-formed JSON. */
function readTree(text: string): Json {
  let pos = 0;
  const next = (): string => {
    TOKEN.lastIndex = pos;
    const token = TOKEN.exec(text)![1];
    pos = TOKEN.lastIndex;
    return token;
  };
  const value = (token: string): Json => {
    if (token === "{") {
      const obj = new Map<string, Json>();
      for (let t = next(); t !== "}"; t = next()) {
        const name = JSON.parse(t === "," ? next() : t) as string;
        next(); // ":"
        obj.set(name, value(next())); // a repeated name: the last wins, as in Go's map
      }
      return obj;
    }
    if (token === "[") {
      const arr: Json[] = [];
      for (let t = next(); t !== "]"; t = next()) arr.push(value(t === "," ? next() : t));
      return arr;
    }
    return token;
  };
  return value(next());
}

// ---------------------------------------------------------------- encoding

/** The header of a top-level response; cluster_id and member_id as decimal strings (see idToDecimal). */
export interface ResponseHeader {
  clusterId: string;
  memberId: string;
  revision: number;
  raftTerm: number;
}

/** Our lowercase-hex member or cluster id as the decimal uint64 the v3 API writes. */
export const idToDecimal = (hexId: string): string => BigInt(`0x${hexId}`).toString();

export const encodeRangeResponse = (h: ResponseHeader, r: RangeResponse): string => goJSON(range(header(h), r));
export const encodePutResponse = (h: ResponseHeader, r: PutResponse): string => goJSON(put(header(h), r));
export const encodeDeleteRangeResponse = (h: ResponseHeader, r: DeleteRangeResponse): string =>
  goJSON(deleteRange(header(h), r));
export const encodeTxnResponse = (h: ResponseHeader, r: TxnResponse): string => goJSON(txn(header(h), r));
export const encodeCompactionResponse = (h: ResponseHeader, _r: CompactionResponse): string =>
  goJSON({ header: header(h) });

type JsonObject = { [name: string]: unknown };

/** EmitDefaults off: fields holding a zero value (false, "", "0", [], unset) are left out; messages stay. */
function omitZero(obj: JsonObject): JsonObject {
  const zero = (v: unknown) => v === undefined || v === false || v === "" || v === "0" || (Array.isArray(v) && v.length === 0);
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => !zero(v)));
}

const int64Text = (n: number) => String(n);
const base64 = (b: Bytes) => btoa(b);

const header = (h: ResponseHeader) =>
  omitZero({
    cluster_id: h.clusterId,
    member_id: h.memberId,
    revision: int64Text(h.revision),
    raft_term: int64Text(h.raftTerm),
  });

/** Inside a txn etcd fills in only the revision, and a nested txn's not even that: `{}`. */
const innerHeader = (revision: number) => omitZero({ revision: int64Text(revision) });

const keyValue = (kv: KeyValue) =>
  omitZero({
    key: base64(kv.key),
    create_revision: int64Text(kv.createRevision),
    mod_revision: int64Text(kv.modRevision),
    version: int64Text(kv.version),
    value: base64(kv.value),
    lease: int64Text(kv.lease),
  });

const range = (h: JsonObject, r: RangeResponse) =>
  omitZero({ header: h, kvs: r.kvs.map(keyValue), more: r.more, count: int64Text(r.count) });

const put = (h: JsonObject, r: PutResponse) =>
  omitZero({ header: h, prev_kv: r.prevKv && keyValue(r.prevKv) });

const deleteRange = (h: JsonObject, r: DeleteRangeResponse) =>
  omitZero({ header: h, deleted: int64Text(r.deleted), prev_kvs: r.prevKvs.map(keyValue) });

const txn = (h: JsonObject, r: TxnResponse): JsonObject =>
  omitZero({ header: h, succeeded: r.succeeded, responses: r.responses.map(responseOp) });

function responseOp(op: ResponseOp): JsonObject {
  if ("range" in op) return { response_range: range(innerHeader(op.range.revision), op.range) };
  if ("put" in op) return { response_put: put(innerHeader(op.put.revision), op.put) };
  if ("deleteRange" in op) return { response_delete_range: deleteRange(innerHeader(op.deleteRange.revision), op.deleteRange) };
  if ("txn" in op) return { response_txn: txn(innerHeader(op.txn.revision), op.txn) };
  return {};
}

// ---------------------------------------------------------------- errors

/** grpc-gateway 1.x's error body. */
export const encodeError = (err: V3ErrorBody): string =>
  goJSON({ error: err.message, message: err.message, code: err.code });

/** grpc-gateway's HTTPStatusFromCode, as Debian's etcd 3.4 build has it (FailedPrecondition is 412). */
export function httpStatusFromCode(code: number): number {
  return HTTP_STATUS[code] ?? 500;
}

const HTTP_STATUS: Record<number, number> = {
  0: 200, // OK
  1: 408, // Canceled
  2: 500, // Unknown
  3: 400, // InvalidArgument
  4: 504, // DeadlineExceeded
  5: 404, // NotFound
  6: 409, // AlreadyExists
  7: 403, // PermissionDenied
  8: 429, // ResourceExhausted
  9: 412, // FailedPrecondition (upstream grpc-gateway 1.9+: 400)
  10: 409, // Aborted
  11: 400, // OutOfRange
  12: 501, // Unimplemented
  13: 500, // Internal
  14: 503, // Unavailable
  15: 500, // DataLoss
  16: 401, // Unauthenticated
};

/** The building blocks, for the other services' messages (gateway-lease.ts). */
export { bool, bytes, enumValue, fields, header as responseHeader, int64, keyValue as encodeKeyValue, omitZero, readBody as readMessage, uint64Hex, type Field, type Json };
