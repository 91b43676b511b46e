// The v3 JSON gateway (POST /v3/kv/...) compared side by side: etcd 3.4 (the
// oracle) and our server. Like compare.ts does for /v2, each step is sent to
// both targets and the two answers are rendered (status, the relevant headers,
// the body) after normalising what legitimately differs between two clusters,
// then compared as strings. Key order in JSON bodies is kept: etcd's order is
// part of the contract.
//
// Normalised in every JSON answer:
//   cluster_id, member_id, raft_term     -> "<cluster_id>", ... (when strings)
//   revision, create_revision,
//   mod_revision, compact_revision       -> "base+N": an offset from the
//                                           revision the target was at when
//                                           the sequence started (read with a
//                                           range on a key nobody writes).
//                                           An unquoted base+N means the
//                                           target sent a number.
//   key, value, range_end (base64)       -> k("/a") = the sequence's prefix +
//                                           "/a", b("x") = other bytes. Only
//                                           when the string is exactly the
//                                           padded standard base64 of those
//                                           bytes; anything else is kept raw.
//
// Requests are written with the same markers (see k, b, rev below), resolved
// per target at send time: keys get the sequence's prefix (unique per run, the
// same on both sides), revisions become base+N of that target.
import * as fs from "node:fs";
import { inject, it } from "vitest";
import { DEFAULT_CLUSTER, NAMED_CLUSTER, type OursCluster } from "./clusters";
import { targets } from "./compare";
import { send, type RawRequest, type RawResponse } from "./http";
import { parseJson, serialize, sym, walkEntries, type JNode } from "./json";

// ----------------------------------------------------------------- markers

type MarkerKind = "key" | "bytes" | "keyEnd" | "rev" | "revNum";

/** A value in a request body that depends on the target or the sequence. */
class Marker {
  constructor(
    readonly kind: MarkerKind,
    readonly arg: string | number,
  ) {}
}

/** base64 of the sequence's prefix + `suffix` (a key of this sequence). */
export const k = (suffix: string) => new Marker("key", suffix);
/** base64 of the UTF-8 bytes of `s` (a value, or a key outside the prefix such as "\0"). */
export const b = (s: string) => new Marker("bytes", s);
/** base64 of the end of the prefix range of prefix + `suffix` (etcd's WithPrefix range_end). */
export const kEnd = (suffix: string) => new Marker("keyEnd", suffix);
/** Revision base+n as an int64 JSON string ("123"), the way etcd sends int64. */
export const rev = (n: number) => new Marker("rev", n);
/** Revision base+n as a JSON number (the gateway accepts both). */
export const revNum = (n: number) => new Marker("revNum", n);

const utf8 = (s: string): Uint8Array => Buffer.from(s, "utf8");

/** The first key after every key that starts with `key` ("a/" -> "a0"). */
function prefixEnd(key: Uint8Array): Uint8Array {
  const end = Uint8Array.from(key);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Uint8Array.of(0); // all 0xff: to the end of the keyspace
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

// ---------------------------------------------------------------- requests

/** A body written as text (malformed input); {p}, {k:SUFFIX} and {rev:N} are substituted. */
class RawBody {
  constructor(readonly text: string) {}
}

export interface V3Req {
  method: string;
  /** Path on the cluster (without our named cluster's base path). */
  path: string;
  /** A JSON value with markers, or a RawBody; undefined = no body. */
  body?: unknown;
  /** Request Content-Type; undefined = application/json (none at all with noContentType). */
  contentType?: string;
  noContentType?: boolean;
}

/** Rewrites the normalised JSON body of both targets before comparison (masking). */
export type V3Shape = (node: JNode) => void;

export interface V3Step {
  note?: string;
  req: V3Req;
  shape?: V3Shape;
}

type Obj = Record<string, unknown>;

/** POST `body` (JSON with markers) to `path`. */
export const call = (path: string, body: unknown, note?: string): V3Step => ({ req: { method: "POST", path, body }, note });
/** Any method, a verbatim body (placeholders {p}, {k:/a}, {rev:N} substituted), a chosen content type. */
export const raw = (method: string, path: string, body?: string, o: { note?: string; contentType?: string; noContentType?: boolean } = {}): V3Step => ({
  req: { method, path, body: body === undefined ? undefined : new RawBody(body), contentType: o.contentType, noContentType: o.noContentType },
  note: o.note,
});
/** The same step, its bodies rewritten by `shape` on both sides before comparison. */
/** The step with its answers shaped before they are compared; several shapes apply in order. */
export const shaped = (step: V3Step, ...shapes: V3Shape[]): V3Step => ({ ...step, shape: (node) => shapes.forEach((shape) => shape(node)) });

export const put = (key: string, value: string | undefined, extra: Obj = {}, note?: string) =>
  call("/v3/kv/put", { key: k(key), ...(value === undefined ? {} : { value: b(value) }), ...extra }, note);
export const range = (key: string, extra: Obj = {}, note?: string) => call("/v3/kv/range", { key: k(key), ...extra }, note);
/** Range over every key of the sequence that starts with `key` ({p} + key). */
export const rangePrefix = (key: string, extra: Obj = {}, note?: string) => range(key, { range_end: kEnd(key), ...extra }, note);
export const del = (key: string, extra: Obj = {}, note?: string) => call("/v3/kv/deleterange", { key: k(key), ...extra }, note);
export const compact = (revision: unknown, extra: Obj = {}, note?: string) => call("/v3/kv/compaction", { revision, ...extra }, note);

export interface TxnBody {
  compare?: unknown[];
  success?: unknown[];
  failure?: unknown[];
}
export const txn = (t: TxnBody, note?: string) => call("/v3/kv/txn", t, note);

// Txn ops and compares.
export const opPut = (key: string, value: string | undefined, extra: Obj = {}) => ({
  request_put: { key: k(key), ...(value === undefined ? {} : { value: b(value) }), ...extra },
});
export const opRange = (key: string, extra: Obj = {}) => ({ request_range: { key: k(key), ...extra } });
export const opDel = (key: string, extra: Obj = {}) => ({ request_delete_range: { key: k(key), ...extra } });
export const opTxn = (t: TxnBody) => ({ request_txn: t });

export type Target = "VERSION" | "CREATE" | "MOD" | "VALUE" | "LEASE";
export type Result = "EQUAL" | "GREATER" | "LESS" | "NOT_EQUAL";
const OPERAND: Record<Target, string> = { VERSION: "version", CREATE: "create_revision", MOD: "mod_revision", VALUE: "value", LEASE: "lease" };

/**
 * A compare on {p}+key. The operand goes into the field that belongs to the
 * target (a VALUE operand given as a string is base64-encoded); undefined
 * leaves the operand out.
 */
export function cmp(key: string, target: Target, result: Result, operand?: unknown, extra: Obj = {}): Obj {
  const c: Obj = { key: k(key), target, result };
  if (operand !== undefined) c[OPERAND[target]] = target === "VALUE" && typeof operand === "string" ? b(operand) : operand;
  return { ...c, ...extra };
}

// ----------------------------------------------------------------- targets

interface Ctx {
  label: "etcd" | "ours";
  url: string;
  /** Base path of the cluster: "" for etcd and our default cluster. */
  root: string;
  prefix: string;
  base: number;
}

function resolveMarker(m: Marker, t: Ctx): string | number {
  switch (m.kind) {
    case "key":
      return base64(utf8(t.prefix + String(m.arg)));
    case "bytes":
      return base64(utf8(String(m.arg)));
    case "keyEnd":
      return base64(prefixEnd(utf8(t.prefix + String(m.arg))));
    case "rev":
      return String(t.base + Number(m.arg));
    case "revNum":
      return t.base + Number(m.arg);
  }
}

function substRaw(text: string, t: Ctx): string {
  return text
    .replace(/\{k:([^}]*)\}/g, (_m, s: string) => base64(utf8(t.prefix + s)))
    .replace(/\{rev:(-?\d+)\}/g, (_m, n: string) => String(t.base + Number(n)))
    .replaceAll("{p}", t.prefix);
}

function bodyText(body: unknown, t: Ctx): string | undefined {
  if (body === undefined) return undefined;
  if (body instanceof RawBody) return substRaw(body.text, t);
  return JSON.stringify(body, (_key, v: unknown) => (v instanceof Marker ? resolveMarker(v, t) : v));
}

function toRaw(req: V3Req, t: Ctx): RawRequest {
  const r: RawRequest = { method: req.method, path: t.root + req.path };
  const body = bodyText(req.body, t);
  if (body !== undefined) r.body = body;
  if (!req.noContentType) r.contentType = req.contentType ?? (body === undefined ? undefined : "application/json");
  return r;
}

/** The request as written in the sequence, markers shown by name. */
function describe(req: V3Req): string {
  let s = `${req.method} ${req.path}`;
  if (req.contentType !== undefined) s += ` [Content-Type: ${req.contentType}]`;
  if (req.noContentType) s += " [no Content-Type]";
  if (req.body === undefined) return s;
  let text: string;
  if (req.body instanceof RawBody) text = `raw ${JSON.stringify(req.body.text)}`;
  else {
    // Markers become numbered tokens, then their DSL spelling.
    const shown: string[] = [];
    const show = (m: Marker) => {
      const a = JSON.stringify(m.arg);
      return m.kind === "key" ? `k(${a})` : m.kind === "bytes" ? `b(${a})` : m.kind === "keyEnd" ? `kEnd(${a})` : m.kind === "rev" ? `rev(${a})` : `revNum(${a})`;
    };
    text = JSON.stringify(req.body, (_key, v: unknown) => (v instanceof Marker ? `\u0001${shown.push(show(v)) - 1}\u0001` : v)).replace(
      /"\\u0001(\d+)\\u0001"/g,
      (_m, i: string) => shown[Number(i)],
    );
  }
  return `${s} ${text.length > 600 ? `${text.slice(0, 600)}…(${text.length} chars)` : text}`;
}

// ----------------------------------------------------------- normalisation

const PLACEHOLDER_FIELDS = new Set(["cluster_id", "member_id", "raft_term"]);
const REVISION_FIELDS = new Set(["revision", "create_revision", "mod_revision", "compact_revision"]);
const BYTES_FIELDS = new Set(["key", "value", "range_end"]);
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function offset(n: number, t: Ctx): string {
  const d = n - t.base;
  return d === 0 ? "base" : d > 0 ? `base+${d}` : `base${d}`;
}

/** base64 text shown as k("/a") or b("x") when it is exactly the canonical
 * (standard alphabet, padded) encoding of those bytes; null otherwise. */
function readableBytes(s: string, t: Ctx): string | null {
  const buf = Buffer.from(s, "base64");
  if (buf.toString("base64") !== s) return null;
  let text: string;
  try {
    text = utf8Strict.decode(buf);
  } catch {
    return `b(hex:${buf.toString("hex")})`;
  }
  return text.startsWith(t.prefix) ? `k(${JSON.stringify(text.slice(t.prefix.length))})` : `b(${JSON.stringify(text)})`;
}

function normalize(node: JNode, t: Ctx): void {
  walkEntries(node, (e) => {
    const v = e.value;
    if (PLACEHOLDER_FIELDS.has(e.key) && v.t === "str") e.value = sym(`"<${e.key}>"`);
    else if (REVISION_FIELDS.has(e.key)) {
      if (v.t === "str" && /^-?\d+$/.test(v.value)) e.value = sym(`"${offset(Number(v.value), t)}"`);
      else if (v.t === "num" && /^-?\d+$/.test(v.raw)) e.value = sym(offset(Number(v.raw), t));
    } else if (BYTES_FIELDS.has(e.key) && v.t === "str") {
      const r = readableBytes(v.value, t);
      if (r !== null) e.value = sym(r);
    }
  });
}

/** Replaces the value of every field named `name` by `placeholder` (for values that depend on other data in the store). */
/**
 * Sorts the array under every `name`: for a list etcd builds from a Go map,
 * whose order changes from run to run (a lease's keys), only the members
 * are compared, not their order.
 */
export function unordered(name: string): V3Shape {
  return (node) =>
    walkEntries(node, (e) => {
      if (e.key === name && e.value.t === "arr") e.value.items.sort((a, b) => serialize(a).localeCompare(serialize(b)));
    });
}

export function mask(name: string, placeholder = `<${name}>`): V3Shape {
  return (node) =>
    walkEntries(node, (e) => {
      if (e.key === name) e.value = sym(placeholder);
    });
}

// Compared headers. Not Date, not Content-Length/Transfer-Encoding/Trailer
// (framing: workerd cannot send HTTP trailers, so our errors are not chunked
// like etcd's), not the gRPC trailer announcement.
const HEADERS = [
  "content-type",
  "grpc-metadata-content-type",
  "access-control-allow-origin",
  "access-control-allow-methods",
  "access-control-allow-headers",
  "x-content-type-options",
  "allow",
];

function render(res: RawResponse, t: Ctx, shape: V3Shape | undefined): string {
  const lines = [`status ${res.status}`];
  for (const h of HEADERS) if (h in res.headers) lines.push(`${h}: ${res.headers[h]}`);
  // Any other gRPC metadata the gateway forwards is compared too.
  for (const h of Object.keys(res.headers).sort()) if (h.startsWith("grpc-metadata-") && !HEADERS.includes(h)) lines.push(`${h}: ${res.headers[h]}`);
  const p = parseJson(res.body);
  if (!p) {
    lines.push(`body(text): ${JSON.stringify(res.body)}`);
  } else {
    normalize(p.node, t);
    if (shape) shape(p.node);
    lines.push(`body(json, ${p.compact ? "compact" : "NOT compact"}, trailing ${JSON.stringify(p.trailing)}): ${serialize(p.node)}`);
  }
  return lines.join("\n");
}

// ------------------------------------------------------------------ runner

/** The target's current revision: header.revision of a range on a key nobody writes. */
async function currentRevision(t: Ctx): Promise<number> {
  const key = base64(utf8(`${t.prefix}/_base-probe`));
  const r = await send(t.url, { method: "POST", path: `${t.root}/v3/kv/range`, body: JSON.stringify({ key }), contentType: "application/json" });
  const m = /"revision":"(\d+)"/.exec(r.body);
  if (r.status !== 200 || !m) throw new Error(`${t.label}: cannot read the current revision: ${r.status} ${r.body}`);
  return Number(m[1]);
}

function clip(s: string, max = 6000): string {
  return s.length <= max ? s : `${s.slice(0, max - 600)}…[${s.length} chars in all]…${s.slice(-500)}`;
}

export async function runV3(name: string, steps: V3Step[], cluster: OursCluster): Promise<void> {
  const urls = targets();
  // "~" sorts after every letter and digit, and other tests write under
  // prefixes of one "~" (~watch-, ~front-), so ranges "to the end of the
  // keyspace" (range_end "\0") from inside this "~~" prefix see nothing but
  // keys of this sequence.
  const prefix = `~~compat-v3/${name}-${Math.random().toString(36).slice(2, 8)}`;
  const etcd: Ctx = { label: "etcd", url: urls.etcd, root: "", prefix, base: 0 };
  const ours: Ctx = { label: "ours", url: urls.ours, root: cluster.root, prefix, base: 0 };
  const title = `${name} [${cluster.label}]`;
  const mismatches: Array<{ step: number; note?: string; request: string; etcd: string; ours: string }> = [];
  try {
    [etcd.base, ours.base] = await Promise.all([currentRevision(etcd), currentRevision(ours)]);
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      const [a, c] = await Promise.all(
        [etcd, ours].map((t) =>
          send(t.url, toRaw(step.req, t))
            .then((res) => render(res, t, step.shape))
            .catch((e: unknown) => `ERROR: ${e instanceof Error ? e.message : String(e)}`),
        ),
      );
      if (process.env.COMPAT_DEBUG) {
        console.log(`--- ${title} step ${i + 1}${step.note ? ` (${step.note})` : ""}: ${describe(step.req)}\n${a}${a === c ? "" : `\n  ours:\n${c}`}`);
      }
      if (a !== c) mismatches.push({ step: i + 1, note: step.note, request: describe(step.req), etcd: clip(a), ours: clip(c) });
    }
  } finally {
    // Remove the sequence's keys (not compared).
    const body = (t: Ctx) => JSON.stringify({ key: base64(utf8(t.prefix)), range_end: base64(prefixEnd(utf8(t.prefix))) });
    await Promise.all(
      [etcd, ours].map((t) =>
        send(t.url, { method: "POST", path: `${t.root}/v3/kv/deleterange`, body: body(t), contentType: "application/json" }).catch(() => undefined),
      ),
    );
  }
  if (mismatches.length === 0) return;
  const file = process.env.COMPAT_REPORT;
  if (file) for (const m of mismatches) fs.appendFileSync(file, `${JSON.stringify({ sequence: title, ...m })}\n`);
  const indent = (s: string) => s.split("\n").map((l) => `      ${l}`).join("\n");
  const text = mismatches
    .map((m) => `  step ${m.step}${m.note ? ` (${m.note})` : ""}: ${m.request}\n    etcd:\n${indent(m.etcd)}\n    ours:\n${indent(m.ours)}`)
    .join("\n\n");
  throw new Error(`sequence ${title} (prefix ${prefix}): ${mismatches.length} of ${steps.length} steps differ from etcd\n\n${text}\n`);
}

/**
 * Registers one vitest test that runs `steps` on both targets. By default our
 * side is the default cluster (the root); with { cluster: "named" } it is our
 * named cluster (/clusters/<name>/...), while etcd, which has no such prefix,
 * gets the same requests at its root. With COMPAT_TARGET=etcd "ours" is a
 * second etcd, so it is addressed at its root either way.
 */
export function v3sequence(name: string, steps: V3Step[], o: { cluster?: "named"; timeoutMs?: number } = {}): void {
  const named = o.cluster === "named";
  const cluster = named && inject("compatOursKind") === "worker" ? NAMED_CLUSTER : DEFAULT_CLUSTER;
  const label = named && cluster === DEFAULT_CLUSTER ? { ...cluster, label: "named" as const } : cluster;
  it(`${name} [${label.label}]`, () => runV3(name, steps, label), o.timeoutMs);
}

/**
 * One line of a v3 stream (watch, observe) with what differs between two
 * clusters masked (ids, term) and revisions as offsets from `base`, the
 * revision the target was at when the scenario began.
 */
export function normalizeStreamLine(line: string, base: number): string {
  return line
    .replace(/"(cluster_id|member_id|raft_term)":"\d+"/g, '"$1":"<$1>"')
    .replace(/"(revision|create_revision|mod_revision|compact_revision)":"(\d+)"/g, (_m, f: string, n: string) => `"${f}":"base+${Number(n) - base}"`);
}
