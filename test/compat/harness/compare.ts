// compare(): run one request sequence against etcd (the oracle) and against
// our server, step by step, and report every difference in status, relevant
// headers and body after normalising what legitimately differs between two
// clusters (absolute indexes, times, cluster ids, the server's own URL).
import * as fs from "node:fs";
import { inject, it } from "vitest";
import { DEFAULT_CLUSTER, oursClusters, type OursCluster } from "./clusters";
import { send, startWatch, type RawRequest, type RawResponse, type Watch } from "./http";
import { field, mapStrings, parseJson, serialize, sym, walkEntries, type JNode } from "./json";

// ---------------------------------------------------------------- requests

export interface Req {
  method: string;
  /** Path+query. Placeholders: {p} = the sequence's key prefix, {idx:N} =
   * base index + N, {pad:N} = the same as a 20-digit in-order key name. */
  path: string;
  /** Form body (sent as application/x-www-form-urlencoded). A string is sent
   * verbatim (placeholders substituted), so malformed escapes can be tested. */
  form?: string | Record<string, string>;
  /** Raw body with an explicit content type (undefined = no Content-Type). */
  body?: string;
  contentType?: string;
  /** Authorization: "user:password" is sent as HTTP basic auth; text with a space ("Bearer x") is sent as it is. */
  auth?: string;
}

/** Turns a body into the view of one target. */
export type Shape = (node: JNode, t: TargetCtx) => void;

interface StepCommon {
  note?: string;
}
export type Step = StepCommon &
  (
    | { kind: "req"; req: Req; ttl?: "exact" | "fuzzy"; shape?: Shape }
    | { kind: "watch"; handle: string; req: Req }
    | { kind: "await"; handle: string; timeoutMs: number; shape?: Shape }
    | { kind: "pending"; handle: string; ms: number }
    | { kind: "lines"; handle: string; n: number; timeoutMs: number }
    | { kind: "sleep"; ms: number }
    | { kind: "bulk"; count: number; concurrency: number; make: (i: number) => Req }
    | { kind: "statsMark" }
    | { kind: "statsDelta" }
  );

type ReqOpts = { note?: string; ttl?: "exact" | "fuzzy"; shape?: Shape; body?: string; contentType?: string; auth?: string };

function mk(method: string, path: string, form: Req["form"] | undefined, o: ReqOpts = {}): Step {
  const req: Req = { method, path };
  if (form !== undefined) req.form = form;
  if (o.body !== undefined) req.body = o.body;
  if (o.contentType !== undefined) req.contentType = o.contentType;
  if (o.auth !== undefined) req.auth = o.auth;
  return { kind: "req", req, note: o.note, ttl: o.ttl, shape: o.shape };
}
export const GET = (path: string, o?: ReqOpts) => mk("GET", path, undefined, o);
export const HEAD = (path: string, o?: ReqOpts) => mk("HEAD", path, undefined, o);
export const DELETE = (path: string, o?: ReqOpts) => mk("DELETE", path, undefined, o);
export const PUT = (path: string, form?: Req["form"], o?: ReqOpts) => mk("PUT", path, form, o);
export const POST = (path: string, form?: Req["form"], o?: ReqOpts) => mk("POST", path, form, o);
export const REQ = (method: string, path: string, o?: ReqOpts & { form?: Req["form"] }) => mk(method, path, o?.form, o);
export const watch = (handle: string, path: string, note?: string, auth?: string): Step => ({ kind: "watch", handle, req: { method: "GET", path, auth }, note });
export const awaitWatch = (handle: string, timeoutMs = 10_000, note?: string, shape?: Shape): Step => ({ kind: "await", handle, timeoutMs, note, shape });
export const pending = (handle: string, ms = 700, note?: string): Step => ({ kind: "pending", handle, ms, note });
export const streamLines = (handle: string, n: number, timeoutMs = 10_000): Step => ({ kind: "lines", handle, n, timeoutMs });
export const sleep = (ms: number, note?: string): Step => ({ kind: "sleep", ms, note });
export const bulk = (count: number, concurrency: number, make: (i: number) => Req, note?: string): Step => ({ kind: "bulk", count, concurrency, make, note });
export const statsMark = (): Step => ({ kind: "statsMark" });
export const statsDelta = (note?: string): Step => ({ kind: "statsDelta", note });

// ----------------------------------------------------------------- targets

export interface TargetCtx {
  label: "etcd" | "ours";
  /** What serves this side: a real etcd, or our Worker. */
  kind: "etcd" | "worker";
  /** Origin (http://host:port), without the cluster's base path. */
  url: string;
  /** Base path of the cluster on this server: "" for etcd and our default cluster. */
  root: string;
  /** Our cluster's name (member ids derive from it); "" for etcd. */
  cluster: string;
  base: number;
  prefix: string;
  watches: Map<string, Watch>;
  stats?: Record<string, number>;
}

export function targets(): { etcd: string; ours: string; oursKind: string; etcdGrpc: string; oursGrpc: string } {
  return {
    etcd: inject("compatEtcdUrl"),
    ours: inject("compatOursUrl"),
    oursKind: inject("compatOursKind"),
    etcdGrpc: inject("compatEtcdGrpc"),
    oursGrpc: inject("compatOursGrpc"),
  };
}

function subst(s: string, t: TargetCtx): string {
  return s
    .replaceAll("{p}", t.prefix)
    .replace(/\{(idx|pad):(-?\d+)\}/g, (_m, kind: string, n: string) => {
      const v = String(t.base + Number(n));
      return kind === "pad" ? v.padStart(20, "0") : v;
    });
}

function encodeForm(form: Record<string, string>): string {
  return Object.entries(form)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&");
}

export function toRaw(req: Req, t: TargetCtx): RawRequest {
  const raw: RawRequest = { method: req.method, path: t.root + subst(req.path, t) };
  if (req.form !== undefined) {
    raw.body =
      typeof req.form === "string"
        ? subst(req.form, t)
        : encodeForm(Object.fromEntries(Object.entries(req.form).map(([k, v]) => [k, subst(v, t)])));
    raw.contentType = "application/x-www-form-urlencoded";
  }
  if (req.body !== undefined) raw.body = subst(req.body, t);
  if (req.contentType !== undefined) raw.contentType = req.contentType;
  if (req.auth !== undefined) raw.headers = { Authorization: /\s/.test(req.auth) ? req.auth : `Basic ${Buffer.from(req.auth).toString("base64")}` };
  return raw;
}

function describeReq(req: Req, t: TargetCtx): string {
  const raw = toRaw(req, t);
  let s = `${raw.method} ${raw.path.length > 200 ? `${raw.path.slice(0, 200)}…(${raw.path.length} chars)` : raw.path}`;
  if (raw.contentType !== undefined) s += `\n    Content-Type: ${raw.contentType}`;
  if (raw.headers?.Authorization !== undefined) s += `\n    Authorization: ${raw.headers.Authorization}`;
  if (raw.body !== undefined) s += `\n    body: ${JSON.stringify(raw.body.length > 200 ? `${raw.body.slice(0, 200)}…(${raw.body.length} bytes)` : raw.body)}`;
  return s;
}

// ----------------------------------------------------------- normalisation

function offset(n: number, t: TargetCtx): string {
  // 0 is not an index but "none" (parse-time errors answer index 0).
  if (n === 0) return "0";
  const d = n - t.base;
  return d === 0 ? "base" : d > 0 ? `base+${d}` : `base${d}`;
}

const RFC3339_UTC = /^"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z"$/;
const RFC3339_ANY = /^"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)"$/;

/** Normalises text that may contain in-order key names or the target's URL
 * (its origin plus the cluster's base path: a named cluster's client URL). */
export function normText(s: string, t: TargetCtx): string {
  return s.replaceAll(t.url + t.root, "<self>").replace(/\d{20}/g, (m) => `<${offset(Number(m), t)}>`);
}

/** A path on this target's cluster as the same path on a server without a
 * base path: a named cluster redirects to /clusters/<name>/v2/..., where etcd
 * redirects to /v2/... Only a path starting with the base path is changed. */
function stripRoot(path: string, t: TargetCtx): string {
  return t.root !== "" && path.startsWith(`${t.root}/`) ? path.slice(t.root.length) : path;
}

interface StepInfo {
  /** The request carried a non-zero prevIndex, so a 101 cause ends with "[prevIndex != modifiedIndex]". */
  hasPrevIndex: boolean;
  /** prevIndex was written relative to the base ({idx:N}), so it is compared as an offset too. */
  relativePrevIndex: boolean;
  /** waitIndex was written relative to the base; otherwise a 401 cause shows it literally. */
  relativeWaitIndex: boolean;
}

function normCause(code: number, cause: string, t: TargetCtx, info: StepInfo): string {
  if (code === 401) {
    return cause.replace(
      /\[(\d+)\/(\d+)\]$/,
      (_m, a: string, b: string) => `[${offset(Number(a), t)}/${info.relativeWaitIndex ? offset(Number(b), t) : b}]`,
    );
  }
  if (code === 101) {
    // "[v != v] [i != i]": the last group is the index comparison when it
    // came from prevIndex; its right side is the node's modifiedIndex.
    if (!info.hasPrevIndex) return cause;
    return cause.replace(/\[(\d+) != (\d+)\]$/, (_m, a: string, b: string) => {
      const left = info.relativePrevIndex ? offset(Number(a), t) : a;
      return `[${left} != ${offset(Number(b), t)}]`;
    });
  }
  return cause;
}

function normalizeJson(node: JNode, t: TargetCtx, info: StepInfo): void {
  // Error bodies: errorCode + cause + index.
  const code = field(node, "errorCode");
  if (code?.t === "num" && node.t === "obj") {
    for (const e of node.entries) {
      if (e.key === "cause" && e.value.t === "str") {
        const c = normCause(Number(code.raw), e.value.value, t, info);
        if (c !== e.value.value) e.value = sym(JSON.stringify(c));
      }
    }
  }
  walkEntries(node, (e) => {
    if ((e.key === "createdIndex" || e.key === "modifiedIndex" || e.key === "index") && e.value.t === "num") {
      e.value = sym(offset(Number(e.value.raw), t));
    } else if (e.key === "expiration" && e.value.t === "str") {
      e.value = sym(RFC3339_UTC.test(e.value.raw) ? '"<RFC3339Z>"' : `"<NOT-RFC3339-UTC:${e.value.value}>"`);
    }
  });
  mapStrings(node, (raw) => normText(raw, t));
}

/** ttl values within ±1 of each other are made equal (time passes between the two answers). */
function reconcileTtl(a: JNode, b: JNode): void {
  if (a.t === "obj" && b.t === "obj") {
    for (const eb of b.entries) {
      const ea = a.entries.find((x) => x.key === eb.key);
      if (!ea) continue;
      if (eb.key === "ttl" && ea.value.t === "num" && eb.value.t === "num" && Math.abs(Number(ea.value.raw) - Number(eb.value.raw)) <= 1) {
        eb.value = ea.value;
      } else reconcileTtl(ea.value, eb.value);
    }
  } else if (a.t === "arr" && b.t === "arr") {
    for (let i = 0; i < Math.min(a.items.length, b.items.length); i++) reconcileTtl(a.items[i], b.items[i]);
  }
}

// Headers compared, in display order. Date is not compared (a clock), nor
// Content-Length except on HEAD (JSON bodies are compared byte for byte).
const EXACT_HEADERS = [
  "content-type",
  "allow",
  "access-control-allow-origin",
  "access-control-allow-methods",
  "access-control-allow-headers",
  "x-content-type-options",
  "www-authenticate",
  "location",
];
const PRESENCE_HEADERS = ["x-etcd-cluster-id", "x-raft-index", "x-raft-term"];

interface View {
  head: string[];
  json?: JNode;
  jsonLayout?: string;
  text?: string;
}

function viewOf(res: { status: number; headers: Record<string, string> }, t: TargetCtx, opts: { head?: boolean; framing?: boolean; chunked?: boolean }): string[] {
  const h = res.headers;
  const lines = [`status ${res.status}`];
  for (const name of EXACT_HEADERS) {
    if (name in h) lines.push(`${name}: ${normText(name === "location" ? stripRoot(h[name], t) : h[name], t)}`);
  }
  for (const name of PRESENCE_HEADERS) if (name in h) lines.push(`${name}: <present>`);
  if ("x-etcd-index" in h) {
    const v = h["x-etcd-index"];
    lines.push(`x-etcd-index: ${/^\d+$/.test(v) ? offset(Number(v), t) : v}`);
  }
  if (opts.head) lines.push(`content-length: ${h["content-length"] ?? "<absent>"}`);
  if (opts.framing) lines.push(`framing: ${opts.chunked ? "chunked" : "content-length"}`);
  lines.sort((a, b) => (a.startsWith("status") ? -1 : b.startsWith("status") ? 1 : 0));
  return lines;
}

function bodyView(body: string, t: TargetCtx, info: StepInfo, shape: Shape | undefined): Pick<View, "json" | "jsonLayout" | "text"> {
  const p = parseJson(body);
  // Go's redirect body links the Location: <a href="/v2/...">.
  if (!p) return { text: normText(t.root === "" ? body : body.replaceAll(`href="${t.root}/`, 'href="/'), t) };
  normalizeJson(p.node, t, info);
  if (shape) shape(p.node, t);
  return { json: p.node, jsonLayout: `${p.compact ? "compact" : "NOT compact (whitespace between tokens)"}, trailing ${JSON.stringify(p.trailing)}` };
}

function render(v: View): string {
  const out = [...v.head];
  if (v.json) out.push(`body(json, ${v.jsonLayout}): ${serialize(v.json)}`);
  else if (v.text !== undefined) out.push(`body(text): ${JSON.stringify(v.text)}`);
  return out.join("\n");
}

function responseView(res: RawResponse, t: TargetCtx, info: StepInfo, o: { head?: boolean; framing?: boolean; shape?: Shape }): View {
  return { head: viewOf(res, t, { head: o.head, framing: o.framing, chunked: res.chunked }), ...bodyView(res.body, t, info, o.shape) };
}

// -------------------------------------------------------------- shape helpers

/** Rewrites the raw text of every string value (e.g. to hide which of many
 * concurrently written keys got a given index). */
export function replaceInStrings(re: RegExp, replacement: string): Shape {
  return (node) => mapStrings(node, (raw) => raw.replace(re, replacement));
}

/** Replaces every scalar by its JSON type, except under the listed keys. */
export function shapeOnly(...exactKeys: string[]): Shape {
  const go = (n: JNode, key: string | undefined): JNode => {
    if (key !== undefined && exactKeys.includes(key)) return n;
    switch (n.t) {
      case "obj":
        for (const e of n.entries) e.value = go(e.value, e.key);
        return n;
      case "arr":
        n.items = n.items.map((i) => go(i, key));
        return n;
      case "str":
        return sym(RFC3339_ANY.test(n.raw) ? "<time>" : "<string>");
      case "num":
        return sym("<number>");
      case "lit":
        return n.raw === "null" ? n : sym("<bool>");
      case "sym":
        return n;
    }
  };
  return (node) => {
    go(node, undefined);
  };
}

// ------------------------------------------------------------------ runner

export interface Mismatch {
  sequence: string;
  step: number;
  note?: string;
  request: string;
  etcd: string;
  ours: string;
}

async function rootIndex(t: TargetCtx): Promise<number> {
  const r = await send(t.url, { method: "GET", path: `${t.root}/v2/keys/` });
  const v = Number(r.headers["x-etcd-index"]);
  if (!Number.isFinite(v)) throw new Error(`${t.label}: GET /v2/keys/ gave no usable X-Etcd-Index (status ${r.status}, headers ${JSON.stringify(r.headers)})`);
  return v;
}

async function storeStats(t: TargetCtx): Promise<Record<string, number>> {
  const r = await send(t.url, { method: "GET", path: `${t.root}/v2/stats/store` });
  try {
    return JSON.parse(r.body) as Record<string, number>;
  } catch {
    return { unparseable: -1 };
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const t = new Promise<never>((_r, rej) => {
    timer = setTimeout(() => rej(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runStep(step: Step, t: TargetCtx): Promise<View | string> {
  const info: StepInfo = { hasPrevIndex: false, relativePrevIndex: false, relativeWaitIndex: false };
  switch (step.kind) {
    case "req": {
      const r = step.req;
      // Where prevIndex comes from follows etcd: the form body wins over the query.
      const fromBody =
        r.form === undefined ? undefined : typeof r.form === "string" ? /(?:^|&)prevIndex=([^&]*)/.exec(r.form)?.[1] : r.form.prevIndex;
      const fromQuery = /[?&]prevIndex=([^&]*)/.exec(r.path)?.[1];
      const pi = fromBody ?? fromQuery ?? "";
      info.hasPrevIndex = pi !== "" && pi !== "0";
      info.relativePrevIndex = pi.startsWith("{idx:");
      info.relativeWaitIndex = /waitIndex=\{idx:/.test(r.path);
      const raw = toRaw(r, t);
      const res = await send(t.url, raw);
      // (Not with wait=: GET would block as a watch.)
      if (r.method === "HEAD" && "content-length" in res.headers && !/[?&]wait=/.test(raw.path)) {
        // HEAD's Content-Length is compared as "the length of the body GET
        // would send", by asking GET the same (on both sides alike, so store
        // stats stay comparable). The raw number would depend on things that
        // are normalised in bodies: the digits of absolute indexes, and a
        // named cluster's longer client URL. When GET answers differently
        // (HEAD's 405), the raw number is compared.
        const got = await send(t.url, { ...raw, method: "GET" });
        if (got.status === res.status) {
          const cl = Number(res.headers["content-length"]);
          res.headers["content-length"] = cl === got.bytes.length ? "<GET body length>" : `${cl} (GET body: ${got.bytes.length} bytes)`;
        }
      }
      return responseView(res, t, info, { head: r.method === "HEAD", shape: step.shape });
    }
    case "watch": {
      const w = startWatch(t.url, toRaw(step.req, t));
      t.watches.set(step.handle, w);
      // Registration happens before etcd flushes the headers; wait for them
      // so that "watch, then write" is not a race. A server that holds the
      // headers back is caught by the framing/await comparison later.
      try {
        await withTimeout(w.head, 3000, "watch headers");
      } catch {
        // compared later
      }
      return "watch started";
    }
    case "await": {
      const w = t.watches.get(step.handle);
      if (!w) throw new Error(`no watch ${step.handle}`);
      const res = await withTimeout(w.response, step.timeoutMs, `watch ${step.handle}`);
      return responseView(res, t, info, { framing: true, shape: step.shape });
    }
    case "pending": {
      const w = t.watches.get(step.handle);
      if (!w) throw new Error(`no watch ${step.handle}`);
      await pause(step.ms);
      if (!w.finished()) return "still waiting (no event delivered)";
      const res = await w.response;
      return `finished early:\n${render(responseView(res, t, info, { framing: true }))}`;
    }
    case "lines": {
      const w = t.watches.get(step.handle);
      if (!w) throw new Error(`no watch ${step.handle}`);
      const head = await withTimeout(w.head, step.timeoutMs, "stream headers");
      const lines = await w.waitLines(step.n, step.timeoutMs);
      const chunked = (head.headers["transfer-encoding"] ?? "").includes("chunked");
      const v: View = { head: viewOf(head, t, { framing: true, chunked }) };
      const parts = lines.map((l) => {
        const b = bodyView(l, t, info, undefined);
        return b.json ? `line(json, ${b.jsonLayout}): ${serialize(b.json)}` : `line(text): ${JSON.stringify(b.text)}`;
      });
      return [...v.head, ...parts].join("\n");
    }
    case "sleep":
      await pause(step.ms);
      return "slept";
    case "bulk": {
      const counts = new Map<number, number>();
      let next = 0;
      const worker = async () => {
        while (next < step.count) {
          const i = next++;
          const res = await send(t.url, toRaw(step.make(i), t));
          counts.set(res.status, (counts.get(res.status) ?? 0) + 1);
        }
      };
      await Promise.all(Array.from({ length: step.concurrency }, worker));
      return [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([s, c]) => `status ${s} x${c}`).join("\n");
    }
    case "statsMark":
      t.stats = await storeStats(t);
      return "marked";
    case "statsDelta": {
      const now = await storeStats(t);
      const before = t.stats ?? {};
      // watchers too is a delta, not absolute: locally a client that
      // disconnects from a waiting watch is not noticed by the runtime, so
      // on our server watches abandoned by earlier sequences stay
      // registered until an event reaches them. etcd drops them at once.
      const delta = Object.entries(now).map(([k, v]) => `${k}:${v - (before[k] ?? 0)}`);
      return `store stats delta {${delta.join(",")}}`;
    }
  }
}

function stepRequest(step: Step, t: TargetCtx): string {
  switch (step.kind) {
    case "req":
      return describeReq(step.req, t);
    case "watch":
      return `start watch ${step.handle}: ${describeReq(step.req, t)}`;
    case "await":
      return `await watch ${step.handle} (timeout ${step.timeoutMs} ms)`;
    case "pending":
      return `check watch ${step.handle} is still pending after ${step.ms} ms`;
    case "lines":
      return `read ${step.n} lines from stream ${step.handle}`;
    case "sleep":
      return `sleep ${step.ms} ms`;
    case "bulk":
      return `${step.count} requests, ${step.concurrency} at a time, e.g. ${describeReq(step.make(0), t)}`;
    case "statsMark":
      return "GET /v2/stats/store (mark)";
    case "statsDelta":
      return "GET /v2/stats/store (delta since mark)";
  }
}

/**
 * Runs `steps` against both targets (each step concurrently on both, so sleeps
 * and TTLs line up) and throws one error listing every mismatching step.
 */
function contexts(name: string, cluster: OursCluster): { etcd: TargetCtx; ours: TargetCtx } {
  const urls = targets();
  const prefix = `/compat-${name}-${Math.random().toString(36).slice(2, 8)}`;
  const etcd: TargetCtx = { label: "etcd", kind: "etcd", url: urls.etcd, root: "", cluster: "", base: 0, prefix, watches: new Map() };
  const ours: TargetCtx = {
    label: "ours",
    kind: urls.oursKind === "worker" ? "worker" : "etcd",
    url: urls.ours,
    root: cluster.root,
    cluster: urls.oursKind === "worker" ? cluster.name : "",
    base: 0,
    prefix,
    watches: new Map(),
  };
  return { etcd, ours };
}

/** Runs the steps on both targets (each step concurrently on both) and
 * hands each step's two rendered views to `onStep`. */
async function runBoth(
  title: string,
  steps: Step[],
  etcd: TargetCtx,
  ours: TargetCtx,
  onStep: (i: number, ra: string, rb: string) => void,
): Promise<void> {
  try {
    [etcd.base, ours.base] = await Promise.all([rootIndex(etcd), rootIndex(ours)]);
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      const [a, b] = await Promise.all(
        [etcd, ours].map((t) => runStep(step, t).catch((e: unknown) => `ERROR: ${e instanceof Error ? e.message : String(e)}`)),
      );
      let ra: string;
      let rb: string;
      if (typeof a !== "string" && typeof b !== "string") {
        if (a.json && b.json && !(step.kind === "req" && step.ttl === "exact")) reconcileTtl(a.json, b.json);
        ra = render(a);
        rb = render(b);
      } else {
        ra = typeof a === "string" ? a : render(a);
        rb = typeof b === "string" ? b : render(b);
      }
      if (process.env.COMPAT_DEBUG) {
        console.log(`--- ${title} step ${i + 1}${step.note ? ` (${step.note})` : ""}: ${stepRequest(step, etcd)}\n${clip(ra)}${ra === rb ? "" : `\n  ours:\n${clip(rb)}`}`);
      }
      onStep(i, ra, rb);
    }
  } finally {
    for (const t of [etcd, ours]) for (const w of t.watches.values()) w.abort();
    // Remove what the sequence wrote (not compared). A key with a TTL left
    // behind would expire minutes later, in the middle of another sequence,
    // and shift that sequence's index offsets on one side only.
    await Promise.all(
      [etcd, ours].map((t) => send(t.url, { method: "DELETE", path: `${t.root}/v2/keys${t.prefix}?recursive=true` }).catch(() => undefined)),
    );
  }
}

function report(title: string, steps: Step[], mismatches: Mismatch[]): void {
  if (mismatches.length === 0) return;
  const file = process.env.COMPAT_REPORT;
  if (file) for (const m of mismatches) fs.appendFileSync(file, `${JSON.stringify(m)}\n`);
  const indent = (s: string) => s.split("\n").map((l) => `      ${l}`).join("\n");
  const text = mismatches
    .map((m) => `  step ${m.step}${m.note ? ` (${m.note})` : ""}: ${m.request}\n    etcd:\n${indent(m.etcd)}\n    ours:\n${indent(m.ours)}`)
    .join("\n\n");
  throw new Error(`sequence ${title}: ${mismatches.length} of ${steps.length} steps differ from etcd\n\n${text}\n`);
}

/**
 * Runs `steps` against both targets (each step concurrently on both, so sleeps
 * and TTLs line up) and throws one error listing every mismatching step.
 */
export async function runSequence(name: string, steps: Step[], cluster: OursCluster = DEFAULT_CLUSTER): Promise<void> {
  const { etcd, ours } = contexts(name, cluster);
  const title = `${name} [${cluster.label}]`;
  const mismatches: Mismatch[] = [];
  await runBoth(title, steps, etcd, ours, (i, ra, rb) => {
    // Compared in full; shown clipped (one step sends a 2 MiB value).
    if (ra !== rb) mismatches.push({ sequence: title, step: i + 1, note: steps[i].note, request: stepRequest(steps[i], etcd), etcd: clip(ra), ours: clip(rb) });
  });
  report(title, steps, mismatches);
}

/**
 * For a KNOWN, DELIBERATE difference only: runs `steps` on both targets like
 * runSequence, but instead of comparing the two, checks each side's rendered
 * view of every step against its own exact expectation ("{p}" = the
 * sequence's key prefix). `expect.ours` applies to our Worker; a second etcd
 * (COMPAT_TARGET=etcd) must answer `expect.etcd`. Every use says why.
 */
export async function runSided(name: string, steps: Step[], expect: { etcd: string[]; ours: string[] }, cluster: OursCluster = DEFAULT_CLUSTER): Promise<void> {
  const { etcd, ours } = contexts(name, cluster);
  const title = `${name} [${cluster.label}]`;
  const wantOurs = ours.kind === "worker" ? expect.ours : expect.etcd;
  if (expect.etcd.length !== steps.length || wantOurs.length !== steps.length) throw new Error(`${title}: one expectation per step`);
  const mismatches: Mismatch[] = [];
  await runBoth(title, steps, etcd, ours, (i, ra, rb) => {
    const ea = expect.etcd[i].replaceAll("{p}", etcd.prefix);
    const eb = wantOurs[i].replaceAll("{p}", ours.prefix);
    if (ra !== ea || rb !== eb) {
      const show = (got: string, want: string) => (got === want ? "as expected" : `expected:\n${clip(want)}\ngot:\n${clip(got)}`);
      mismatches.push({ sequence: title, step: i + 1, note: steps[i].note, request: stepRequest(steps[i], etcd), etcd: show(ra, ea), ours: show(rb, eb) });
    }
  });
  report(title, steps, mismatches);
}

/** A long view shortened for display, with its length and a hash so that two
 * different long views still look different. */
function clip(s: string, max = 4000): string {
  if (s.length <= max) return s;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return `${s.slice(0, max - 500)}…[${s.length} chars in all, fnv1a ${h.toString(16)}]…${s.slice(-400)}`;
}

/** Registers one vitest test per cluster of ours (see clusters.ts) that runs one sequence. */
export function sequence(name: string, steps: Step[], timeoutMs?: number): void {
  for (const cluster of oursClusters()) it(`${name} [${cluster.label}]`, () => runSequence(name, steps, cluster), timeoutMs);
}

/** Registers one vitest test per cluster of ours that runs runSided(). */
export function sidedSequence(name: string, steps: Step[], expect: { etcd: string[]; ours: string[] }, timeoutMs?: number): void {
  for (const cluster of oursClusters()) it(`${name} [${cluster.label}]`, () => runSided(name, steps, expect, cluster), timeoutMs);
}
