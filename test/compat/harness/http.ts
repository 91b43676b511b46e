// Raw HTTP for the compatibility suite.
//
// We use node:http rather than fetch because several cases need exact control
// over the bytes on the wire: paths containing `//` or `/./` (fetch/URL would
// clean them), HEAD, a body without any Content-Type, 2 MiB bodies, and
// watches whose headers arrive long before their body.
import * as http from "node:http";

export interface RawRequest {
  method: string;
  /** Path plus query, sent verbatim. */
  path: string;
  /** Raw body; sent with an explicit Content-Length. */
  body?: string;
  /** Content-Type header; omitted entirely when undefined. */
  contentType?: string;
  headers?: Record<string, string>;
}

export interface RawResponse {
  status: number;
  /** Lower-cased header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Body decoded as UTF-8 (what we display and compare). */
  body: string;
  /** Body as latin1 (one char per byte), for byte-exact comparison. */
  bytes: string;
  chunked: boolean;
}

interface Target {
  host: string;
  port: number;
}

function parseTarget(baseUrl: string): Target {
  const u = new URL(baseUrl);
  return { host: u.hostname, port: Number(u.port) };
}

function headersOf(res: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    const name = res.rawHeaders[i].toLowerCase();
    const value = res.rawHeaders[i + 1];
    out[name] = name in out ? `${out[name]}, ${value}` : value;
  }
  return out;
}

function concat(chunks: Uint8Array[]): { body: string; bytes: string } {
  const buf = Buffer.concat(chunks);
  return { body: buf.toString("utf8") as string, bytes: buf.toString("latin1") as string };
}

function startRequest(baseUrl: string, req: RawRequest): http.ClientRequest {
  const t = parseTarget(baseUrl);
  const headers: Record<string, string | number> = { ...(req.headers ?? {}) };
  if (req.contentType !== undefined) headers["Content-Type"] = req.contentType;
  let payload: Uint8Array | undefined;
  if (req.body !== undefined) {
    payload = Buffer.from(req.body, "utf8") as Uint8Array;
    headers["Content-Length"] = payload.length;
  }
  const r = http.request({
    host: t.host,
    port: t.port,
    method: req.method,
    path: req.path,
    headers,
    agent: false,
  });
  r.end(payload);
  return r;
}

/** Sends one request and resolves with the complete response. */
export function send(baseUrl: string, req: RawRequest, timeoutMs = 30_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const r = startRequest(baseUrl, req);
    const timer = setTimeout(() => {
      r.destroy(new Error(`timeout after ${timeoutMs} ms: ${req.method} ${req.path} on ${baseUrl}`));
    }, timeoutMs);
    r.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    r.on("response", (res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (c) => chunks.push(c));
      res.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      res.on("end", () => {
        clearTimeout(timer);
        const headers = headersOf(res);
        resolve({
          status: res.statusCode ?? 0,
          headers,
          ...concat(chunks),
          chunked: (headers["transfer-encoding"] ?? "").includes("chunked"),
        });
      });
    });
  });
}

/**
 * A long-lived request (a watch or a stream). `response` resolves when the
 * body ends; `lines` collects newline-terminated lines as they arrive, for
 * stream=true.
 */
export interface Watch {
  readonly response: Promise<RawResponse>;
  /** Resolves with the status and headers as soon as they arrive. */
  readonly head: Promise<{ status: number; headers: Record<string, string> }>;
  readonly lines: string[];
  finished(): boolean;
  /** Resolves once at least n complete lines have arrived (or rejects on timeout). */
  waitLines(n: number, timeoutMs: number): Promise<string[]>;
  abort(): void;
}

export function startWatch(baseUrl: string, req: RawRequest): Watch {
  const r = startRequest(baseUrl, req);
  const lines: string[] = [];
  let partial = "";
  let done = false;
  let aborted = false;
  const lineWaiters: Array<() => void> = [];
  let headResolve: (h: { status: number; headers: Record<string, string> }) => void = () => {};
  let headReject: (e: Error) => void = () => {};
  const head = new Promise<{ status: number; headers: Record<string, string> }>((res, rej) => {
    headResolve = res;
    headReject = rej;
  });
  const response = new Promise<RawResponse>((resolve, reject) => {
    r.on("error", (e) => {
      done = true;
      headReject(e);
      if (aborted) return;
      reject(e);
    });
    r.on("response", (res) => {
      const headers = headersOf(res);
      headResolve({ status: res.statusCode ?? 0, headers });
      const chunks: Uint8Array[] = [];
      res.on("data", (c) => {
        chunks.push(c);
        partial += Buffer.from(c).toString("utf8");
        let nl: number;
        while ((nl = partial.indexOf("\n")) >= 0) {
          lines.push(partial.slice(0, nl + 1));
          partial = partial.slice(nl + 1);
        }
        for (const w of lineWaiters.splice(0)) w();
      });
      const finish = () => {
        if (done) return;
        done = true;
        resolve({
          status: res.statusCode ?? 0,
          headers,
          ...concat(chunks),
          chunked: (headers["transfer-encoding"] ?? "").includes("chunked"),
        });
        for (const w of lineWaiters.splice(0)) w();
      };
      res.on("end", finish);
      res.on("close", finish);
      res.on("error", () => finish());
    });
  });
  // An aborted watch must not surface as an unhandled rejection.
  response.catch(() => {});
  head.catch(() => {});
  return {
    response,
    head,
    lines,
    finished: () => done,
    waitLines(n, timeoutMs) {
      return new Promise((resolve, reject) => {
        const deadline = Date.now() + timeoutMs;
        const check = () => {
          if (lines.length >= n) return resolve(lines.slice(0, n));
          if (done) return reject(new Error(`stream ended after ${lines.length} of ${n} lines`));
          if (Date.now() >= deadline) return reject(new Error(`only ${lines.length} of ${n} lines after ${timeoutMs} ms`));
          lineWaiters.push(check);
          setTimeout(check, Math.max(1, Math.min(200, deadline - Date.now())));
        };
        check();
      });
    },
    abort() {
      aborted = true;
      r.destroy();
    },
  };
}
