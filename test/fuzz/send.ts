// Sends one fuzz request over node:http (so the path, method, headers and
// body go on the wire exactly as generated) and reads the answer within a
// time bound: a unary answer whole, a stream's first bytes only.
import * as http from "node:http";
import type { FuzzRequest } from "./request.ts";

export interface Answer {
  /** 0 when no answer came (see `failure`). */
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The body was cut short on purpose (a stream, or a cap on what is kept). */
  cut: boolean;
  /** No answer, or no complete one: "timeout" (nothing within the bound) or the socket error. */
  failure?: string;
  ms: number;
}

/** The most of a body kept for the checks. */
const KEEP_BYTES = 256 * 1024;

export function send(host: string, port: number, req: FuzzRequest, boundMs: number, streamReadMs: number): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (a: Omit<Answer, "ms">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...a, ms: Date.now() - started });
      client.destroy();
    };
    const payload = req.body === undefined ? undefined : typeof req.body === "string" ? Buffer.from(req.body, "utf8") : Buffer.from(req.body);
    const headers: Record<string, string | number> = { ...req.headers, Connection: "close" };
    if (headers["Transfer-Encoding"] === undefined && payload !== undefined) headers["Content-Length"] = payload.length;
    let client: http.ClientRequest;
    try {
      client = http.request({ host, port, method: req.method, path: req.path, headers, agent: false, insecureHTTPParser: false });
    } catch (err) {
      // Node refused to send it (a header or path it will not put on the wire): nothing was asked of the server.
      resolve({ status: -1, headers: {}, body: "", cut: false, failure: `not sent: ${(err as Error).message}`, ms: 0 });
      return;
    }
    const timer = setTimeout(() => done({ status: 0, headers: {}, body: "", cut: false, failure: "timeout" }), boundMs);
    client.on("error", (err) => done({ status: 0, headers: {}, body: "", cut: false, failure: err.message }));
    // A request that asked for a WebSocket may be switched to one: the answer is its status line.
    client.on("upgrade", (res, socket) => {
      socket.destroy();
      done({ status: res.statusCode ?? 0, headers: res.headers, body: "", cut: true });
    });
    client.on("response", (res) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      const finish = (cut: boolean) => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8"), cut });
      if (req.shape !== "unary") {
        clearTimeout(timer);
        setTimeout(() => finish(true), streamReadMs);
      }
      res.on("data", (c: Buffer) => {
        if (kept < KEEP_BYTES) chunks.push(c);
        kept += c.length;
      });
      res.on("end", () => finish(kept > KEEP_BYTES));
      res.on("error", (err) => done({ status: res.statusCode ?? 0, headers: res.headers, body: "", cut: true, failure: `body: ${err.message}` }));
    });
    client.end(payload);
  });
}
